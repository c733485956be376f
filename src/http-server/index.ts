/**
 * MCP Streamable HTTP on node:http, both protocol eras on one endpoint, the guards of chain.ts in front
 * of everything. The SDK's own classification (`isLegacyRequest`) routes each POST:
 * - 2026-07-28 (per-request envelope): `createMcpHandler`, stateless, one McpServer per request from the
 *   same factory; `subscriptions/listen` streams hear task changes from the ledger's change feed.
 * - 2025-11-25, `sessions: 'stateless'` (the default on PostgreSQL, where several instances may stand
 *   behind one load balancer; issue 26): every POST is served by its own McpServer on a fresh stateless
 *   transport (the SDK's legacy fallback of createMcpHandler), so any instance answers any request. No
 *   session id is handed out; DELETE, and GET but to resume a cut answer stream, answer 405. Progress
 *   and the call's job events travel on the call's own SSE response, which starts with a priming event:
 *   a client whose stream is cut (its instance died) comes back with `Last-Event-ID` to any instance,
 *   which runs the call again (resume.ts). A paid job answers `confirmation_required` (no elicitation:
 *   the answer would come back on a later POST, to any instance) and the client confirms with
 *   `confirm: true`.
 * - 2025-11-25, `sessions: 'memory'` (the default on SQLite: one instance): the sessionful transport —
 *   one McpServer per session, SSE responses so progress notifications reach the client, elicitation on
 *   the call's stream, `resources/subscribe` on the session's GET stream, and a session registry that
 *   ends abandoned sessions. Behind a load balancer it needs affinity on `Mcp-Session-Id`.
 * Job state lives in the ledger, so a client that comes back with a new session (or none), or to
 * another instance, can follow tasks created in an old one.
 */
import { randomUUID } from 'node:crypto';
import { createServer as createNodeServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { NodeStreamableHTTPServerTransport, toNodeHandler, toWebRequest } from '@modelcontextprotocol/node';
import { createMcpHandler, isInitializeRequest, isLegacyRequest } from '@modelcontextprotocol/server';
import type { App } from '../app.js';
import { type Clock, systemClock } from '../clock.js';
import type { OAuthSettings } from '../config.js';
import { ListenWatch, listenedUris, listenRefusal } from '../mcp/listen.js';
import { createServer } from '../server.js';
import { VERSION } from '../version.js';
import { type AuthedRequest, createOAuthGate, listenAsSeen, type OAuthGate, principalOf } from './auth.js';
import {
  authGuard,
  hostGuard,
  MCP_PATH,
  methodGuard,
  originGuard,
  pathGuard,
  pathOf,
  type Refusal,
  readJsonBody,
  runGuards,
} from './chain.js';
import { servePublic } from './files.js';
import { allowedHostHeaders, isLoopback, tokenMatches } from './guard.js';
import {
  applyLimits,
  type ConnectionCount,
  checkingIntervalMs,
  DEFAULT_LIMITS,
  type HttpLimits,
  RETRY_AFTER_S,
} from './limits.js';
import { resumableStreams } from './resume.js';
import { SessionRegistry } from './sessions.js';
import { PendingResponses } from './taken.js';

export interface HttpServerOptions {
  host: string;
  port: number;
  /** Required by the CLI off loopback; when set, every /mcp request needs `Authorization: Bearer`. */
  token?: string;
  allowedOrigins: string[];
  maxBodyBytes: number;
  /** Extra Host header names to accept (e.g. a DNS name in front of a wildcard bind). */
  allowedHosts?: string[];
  /** A session with no request for this long ends (default 5 minutes). */
  sessionIdleMs?: number;
  /** At most this many sessions at once; more initializations get 503 + Retry-After (default 200). */
  maxSessions?: number;
  /**
   * How 2025-era clients are served (default `memory`): `stateless`, every POST on its own (any instance
   * answers any request), or `memory`, sessions held by this process (see the file's comment).
   */
  legacySessions?: 'stateless' | 'memory';
  /** Honour the client's MCP roots, only inside the allowed folders (default: ignore them). */
  trustRoots?: boolean;
  /** Connection cap and timeouts (default DEFAULT_LIMITS; the CLI passes LIPSYNC_HTTP_*). */
  limits?: HttpLimits;
  /** Drives session expiry (tests inject one). */
  clock?: Clock;
  /** OAuth 2.1 resource-server mode (auth.ts): per-user tokens from this issuer instead of `token`. */
  oauth?: OAuthSettings;
}

export interface HttpServerHandle {
  url: string;
  /** Live sessions. */
  sessions: { readonly size: number };
  /** Open connections, and those refused for being past the cap. */
  connections: ConnectionCount;
  /** Stops accepting, lets in-flight calls finish for up to `drainMs`, then closes every session. */
  close(drainMs?: number): Promise<void>;
}

export const DEFAULT_SESSION_IDLE_MS = 5 * 60_000;
export const DEFAULT_MAX_SESSIONS = 200;

function send(res: ServerResponse, r: Refusal): void {
  if (res.headersSent) return;
  const body = JSON.stringify({
    jsonrpc: '2.0',
    error: { code: r.code ?? -32000, message: r.message },
    id: null,
  });
  if (r.closeConnection) res.setHeader('connection', 'close');
  res.writeHead(r.status, { 'content-type': 'application/json', ...r.headers }).end(body);
}

export async function startHttpServer(app: App, opts: HttpServerOptions): Promise<HttpServerHandle> {
  const registry = new SessionRegistry({
    idleMs: opts.sessionIdleMs ?? DEFAULT_SESSION_IDLE_MS,
    max: opts.maxSessions ?? DEFAULT_MAX_SESSIONS,
    clock: opts.clock ?? systemClock,
    onEnd: (session, why, left) => app.log.info({ session, why, sessions: left }, 'http session ended'),
  });
  const state = { closing: false, inFlight: 0, idle: undefined as (() => void) | undefined };
  let hosts = new Set<string>();
  const before = [hostGuard(() => hosts), originGuard(opts.allowedOrigins, isLoopback(opts.host))];
  const after = [authGuard(opts.token), pathGuard, methodGuard];
  const modern = modernLeg(app, opts);
  let gate: OAuthGate | undefined;
  const handleMcp = mcpHandler(
    app,
    opts,
    registry,
    modern,
    () => state.closing,
    () => gate,
  );

  const limits = opts.limits ?? DEFAULT_LIMITS;
  const http = createNodeServer({ connectionsCheckingInterval: checkingIntervalMs(limits) }, (req, res) => {
    const refuse = (r: Refusal) => {
      if (r.log) app.log.warn(r.log.fields, r.log.msg);
      send(res, r);
    };
    if (connections.refuse(req)) return full(req, res);
    // The public folder's signed links (LIPSYNC_PUBLIC_BASE_URL): fetched by a cloud service that has no
    // token and names this host by its public name; the signature and expiry are the check (files.ts).
    if (app.publisher && servePublic(app.publisher, req, res)) return;
    // Rebinding and cross-site checks come first: they protect even the health endpoint.
    const early = runGuards(req, before);
    if (early) return refuse(early);
    if (pathOf(req) === '/health' && req.method === 'GET')
      return health(
        req,
        res,
        opts,
        { sessions: registry.size, connections: connections.open },
        state.closing,
      );
    if (gate?.serveMetadata(req, res)) return;
    const late = runGuards(req, after);
    if (late) return refuse(late);
    void (gate ? gate.authenticate(req) : Promise.resolve(undefined)).then((denied) =>
      denied ? refuse(denied) : serveCall(req, res),
    );
  });
  const serveCall = (req: IncomingMessage, res: ServerResponse) => {
    // Only POSTs are calls (and a GET resuming a call's stream); a GET notification stream would never drain.
    if (req.method === 'POST' || (req.method === 'GET' && req.headers['last-event-id'])) {
      state.inFlight++;
      res.on('close', () => {
        state.inFlight--;
        if (state.inFlight === 0) state.idle?.();
      });
    }
    handleMcp(req, res).catch((err) => {
      app.log.error({ err: app.redactor.redact(String(err)) }, 'http request failed');
      send(res, { status: 500, message: 'Internal error.' });
    });
  };
  // Slow-loris bound on receiving a request (responses, SSE, may last as long as a call), idle
  // keep-alive connections, and the connection cap with its 503 (limits.ts).
  const connections = applyLimits(http, limits);
  /** A request on a connection past the cap: its body read (bounded by the request timeout), then 503. */
  const full = (req: IncomingMessage, res: ServerResponse) => {
    // Once, then every 1000th: a flood must not flood the log too.
    if (connections.refused % 1000 === 1)
      app.log.warn(
        { open: connections.open, refused: connections.refused },
        'http request refused: too many open connections (503, Retry-After)',
      );
    const answer = () =>
      send(res, {
        status: 503,
        message: `Too many open connections; try again in ${RETRY_AFTER_S} s.`,
        headers: { 'retry-after': String(RETRY_AFTER_S) },
        closeConnection: true,
      });
    req.on('error', () => undefined);
    if (req.complete) return answer();
    req.once('end', answer);
    req.resume();
  };

  const port = await listen(http, opts);
  hosts = allowedHostHeaders(opts.host, port, opts.allowedHosts);
  const urlHost = opts.host.includes(':') && !opts.host.startsWith('[') ? `[${opts.host}]` : opts.host;
  const url = `http://${urlHost}:${port}${MCP_PATH}`;
  if (opts.oauth)
    gate = createOAuthGate({ settings: opts.oauth, serverUrl: url, clock: opts.clock ?? systemClock });
  app.log.info({ url, auth: opts.token !== undefined }, 'lipsync-mcp ready on Streamable HTTP');

  return {
    url,
    sessions: registry,
    connections,
    async close(drainMs = 10_000) {
      if (state.closing) return;
      state.closing = true;
      // Listen streams never end by themselves: end them first, so that only calls are waited for.
      modern.endListens();
      const stopped = new Promise<void>((r) => http.close(() => r()));
      http.closeIdleConnections();
      if (state.inFlight > 0) {
        app.log.info({ inFlight: state.inFlight }, 'waiting for in-flight calls');
        await new Promise<void>((r) => {
          state.idle = r;
          setTimeout(r, drainMs).unref();
        });
      }
      await registry.closeAll();
      await modern.close();
      http.closeAllConnections();
      await stopped;
    },
  };
}

function listen(http: ReturnType<typeof createNodeServer>, opts: HttpServerOptions): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    http.once('error', reject);
    http.listen(opts.port, opts.host, () => {
      http.off('error', reject);
      resolve((http.address() as AddressInfo).port);
    });
  });
}

/** Up or not for anyone; version, session and connection counts only for a caller with the token. */
function health(
  req: IncomingMessage,
  res: ServerResponse,
  opts: HttpServerOptions,
  counts: { sessions: number; connections: number },
  closing: boolean,
): void {
  const trusted = opts.token !== undefined && tokenMatches(req.headers.authorization, opts.token);
  const status = closing ? 'shutting_down' : 'ok';
  const body = trusted ? { status, version: VERSION, ...counts } : { status };
  res.writeHead(closing ? 503 : 200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

interface ModernLeg {
  /** Serves one 2026-07-28 POST whose body has been read. */
  serve(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void>;
  /** Stateless: resumable answer streams (resume.ts); undefined otherwise. */
  streams?: {
    requestOf(lastEventId: string, req: IncomingMessage): Promise<unknown>;
    resume(req: IncomingMessage, res: ServerResponse, lastEventId: string): Promise<void>;
  };
  endListens(): void;
  close(): Promise<void>;
}

/**
 * The 2026-07-28 leg: the SDK's stateless handler over the same factory (`legacy: 'reject'`: 2025
 * traffic never reaches it, unless 2025 clients are served statelessly too: `legacy: 'stateless'`). A `subscriptions/listen` stream's resource URIs are watched in the change
 * feed while it is open; each change is published on the handler's bus, which delivers it to the
 * streams that asked for that URI.
 */
function modernLeg(app: App, opts: HttpServerOptions): ModernLeg {
  const onerror = (err: Error) => app.log.debug({ err: app.redactor.redact(String(err)) }, 'mcp request');
  const stateless = opts.legacySessions === 'stateless';
  const handler = createMcpHandler(
    ({ era, authInfo }) => {
      // With OAuth every request past the gate carries its user; never fall back to the operator.
      if (opts.oauth && !authInfo) throw new Error('OAuth request without a verified token');
      return createServer(app, {
        era,
        roots: opts.trustRoots ? 'within_allowed' : 'ignore',
        principal: principalOf(authInfo),
        // Only the stateless fallback asks the factory for a legacy instance.
        ...(era === 'legacy' ? { stateless: true } : {}),
      });
    },
    { legacy: stateless ? 'stateless' : 'reject', maxRequestBodySize: opts.maxBodyBytes, onerror },
  );
  // Stateless (several instances): an answer stream cut by a dying instance is resumed on another.
  const resumable = stateless
    ? resumableStreams({ app, fetch: (request, o) => handler.fetch(request, o), principalOf })
    : undefined;
  const node = toNodeHandler(
    resumable ? { fetch: (request, o) => resumable.post(request, o?.parsedBody, o?.authInfo) } : handler,
    { onerror },
  );
  const listens = new ListenWatch(app, (uris) => {
    for (const uri of uris) handler.notify.resourceUpdated(uri);
  });
  const streams = new Set<ServerResponse>();
  let next = 0;
  return {
    async serve(req, res, body) {
      const m = body as { method?: unknown; params?: unknown };
      const refused = listenRefusal(body);
      if (refused) {
        res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify(refused));
        return;
      }
      if (m && m.method === 'subscriptions/listen') {
        // A user listens only to their own tasks (auth.ts).
        body = await listenAsSeen(app, (req as AuthedRequest).auth, body);
        m.params = (body as { params?: unknown }).params;
        const key = `listen-${++next}`;
        listens.open(key, listenedUris(m.params));
        streams.add(res);
        res.on('close', () => {
          streams.delete(res);
          listens.close(key);
        });
      }
      await node(req, res, body);
    },
    endListens() {
      for (const res of streams) res.destroy();
    },
    ...(resumable && {
      streams: {
        requestOf: (id, req) => resumable.requestOf(id, (req as AuthedRequest).auth),
        resume: (req, res, id) =>
          toNodeHandler({ fetch: (request, o) => resumable.resume(request, id, o?.authInfo) }, { onerror })(
            req,
            res,
          ),
      },
    }),
    async close() {
      listens.closeAll();
      await handler.close().catch(() => undefined);
    },
  };
}

function lastEventId(req: IncomingMessage): string | undefined {
  const v = req.headers['last-event-id'];
  return (Array.isArray(v) ? v[0] : v) || undefined;
}

/**
 * Routes a request that passed the guards: a 2026-07-28 POST to the modern leg; a 2025 one to its
 * session, or starts a session on initialize.
 */
function mcpHandler(
  app: App,
  opts: HttpServerOptions,
  registry: SessionRegistry,
  modern: ModernLeg,
  closing: () => boolean,
  gate: () => OAuthGate | undefined,
) {
  // Which principal opened each 2025 session: a request for it with another principal's token is
  // answered as for an unknown session (bounded by the registry: dropped when the session ends).
  const owners = new Map<string, string>();
  const notFound: Refusal = { status: 404, message: 'Session not found; initialize a new session.' };
  const pending = new PendingResponses({
    timeoutMs: app.config.media.sendTimeoutMs,
    clock: opts.clock ?? systemClock,
    onTimeout: (session, requestId) =>
      app.log.warn({ session, requestId }, 'http answer not taken in time: connection closed'),
  });

  const newSession = (principal: string, releasePlace: () => void): NodeStreamableHTTPServerTransport => {
    const server = createServer(app, {
      principal,
      roots: opts.trustRoots ? 'within_allowed' : 'ignore',
      mediaTaken: (requestId) => pending.taken(transport.sessionId, requestId),
    });
    const transport: NodeStreamableHTTPServerTransport = new NodeStreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      // SSE, not JSON-only: progress notifications travel on the call's own stream.
      enableJsonResponse: false,
      onsessioninitialized: (id) => {
        owners.set(id, principal);
        releasePlace();
        registry.add(id, { transport, server });
        app.log.info({ session: id, sessions: registry.size }, 'http session started');
      },
      onsessionclosed: (id) => void registry.end(id, 'closed'),
    });
    transport.onclose = () => {
      if (transport.sessionId) owners.delete(transport.sessionId);
      if (transport.sessionId) void registry.end(transport.sessionId, 'closed');
    };
    void server.connect(transport);
    return transport;
  };

  const toSession = async (id: string, req: IncomingMessage, res: ServerResponse, body?: unknown) => {
    const owner = owners.get(id);
    if (owner !== undefined && owner !== principalOf((req as AuthedRequest).auth)) return send(res, notFound);
    const s = registry.acquire(id);
    if (!s) return send(res, notFound);
    res.on('close', () => registry.release(id));
    if (body !== undefined) pending.register(id, body, res);
    return s.transport.handleRequest(req, res, body);
  };

  const initialize = async (req: IncomingMessage, res: ServerResponse, body: unknown) => {
    if (closing()) return send(res, { status: 503, message: 'The server is shutting down.' });
    // With OAuth a session belongs to a verified user; never to the operator by default.
    if (opts.oauth && !(req as AuthedRequest).auth)
      return send(res, { status: 401, message: 'Unauthorized.' });
    const place = registry.reserve();
    if (!place) {
      const wait = registry.retryAfterSeconds();
      app.log.warn({ sessions: registry.size }, 'http session refused: too many open sessions');
      return send(res, {
        status: 503,
        message: `Too many open sessions; try again in ${wait} s, or end unused sessions with DELETE.`,
        headers: { 'retry-after': String(wait) },
      });
    }
    res.on('close', place);
    return newSession(principalOf((req as AuthedRequest).auth), place).handleRequest(req, res, body);
  };

  /** With OAuth: a paid tool call without the pay scope is answered 403 (on every path, sessions or none). */
  const refusedScope = async (req: IncomingMessage, res: ServerResponse, body: unknown): Promise<boolean> => {
    const unpaid = await gate()?.payRefusal(req, body);
    if (!unpaid) return false;
    app.log.warn(unpaid.log?.fields ?? {}, 'http call refused: scope');
    send(res, unpaid);
    return true;
  };

  const stateless = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const resumeId = lastEventId(req);
    if (req.method === 'GET' && resumeId && modern.streams) {
      // A stream cut before its answer, resumed: the request it answers passes the same checks again.
      const body = await modern.streams.requestOf(resumeId, req);
      if (body !== undefined && (await refusedScope(req, res, body))) return;
      if (closing()) return send(res, { status: 503, message: 'The server is shutting down.' });
      return modern.streams.resume(req, res, resumeId);
    }
    if (req.method !== 'POST')
      return send(res, {
        status: 405,
        message:
          'Method not allowed: this server keeps no sessions (every POST stands alone), so there is no stream to open or session to end (a GET only resumes a cut answer stream, with Last-Event-ID).',
        headers: { allow: 'POST' },
      });
    const read = await readJsonBody(req, opts.maxBodyBytes);
    if ('refusal' in read) {
      send(res, read.refusal);
      if (read.refusal.closeConnection) res.on('finish', () => req.destroy());
      return;
    }
    if (await refusedScope(req, res, read.body)) return;
    if (closing()) return send(res, { status: 503, message: 'The server is shutting down.' });
    // Both eras, and any Mcp-Session-Id a client still sends: the request alone says what to do.
    return modern.serve(req, res, read.body);
  };
  if (opts.legacySessions === 'stateless') return stateless;

  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const sid = req.headers['mcp-session-id'];
    const sessionId = Array.isArray(sid) ? sid[0] : sid;
    if (req.method !== 'POST') {
      if (!sessionId) return send(res, { status: 400, message: 'Missing Mcp-Session-Id header.' });
      return toSession(sessionId, req, res);
    }
    const read = await readJsonBody(req, opts.maxBodyBytes);
    if ('refusal' in read) {
      send(res, read.refusal);
      // Stop reading an oversized body: answer, then drop the connection.
      if (read.refusal.closeConnection) res.on('finish', () => req.destroy());
      return;
    }
    if (await refusedScope(req, res, read.body)) return;
    if (sessionId) return toSession(sessionId, req, res, read.body);
    if (!(await isLegacyRequest(await toWebRequest(req, read.body), read.body))) {
      if (closing()) return send(res, { status: 503, message: 'The server is shutting down.' });
      return modern.serve(req, res, read.body);
    }
    if (!isInitializeRequest(read.body))
      return send(res, { status: 400, message: 'No session: send initialize first.' });
    return initialize(req, res, read.body);
  };
}
