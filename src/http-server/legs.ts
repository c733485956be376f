/**
 * The two ways a request that passed the guards is served (index.ts routes to them): the SDK's
 * stateless handler for 2026-07-28 requests (and, on a stateless server, for 2025 ones too, with
 * resumable answer streams), and for 2025 clients on a `memory` server their sessions.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { NodeStreamableHTTPServerTransport, toNodeHandler, toWebRequest } from '@modelcontextprotocol/node';
import { createMcpHandler, isInitializeRequest, isLegacyRequest } from '@modelcontextprotocol/server';
import type { App } from '../app.js';
import { systemClock } from '../clock.js';
import { ListenWatch, listenedUris, listenRefusal } from '../mcp/listen.js';
import { createServer } from '../server.js';
import { type AuthedRequest, listenAsSeen, type OAuthGate, principalOf } from './auth.js';
import { type Refusal, readJsonBody, send } from './chain.js';
import type { HttpServerOptions } from './options.js';
import { resumableStreams } from './resume.js';
import type { SessionRegistry } from './sessions.js';
import { PendingResponses } from './taken.js';

export interface ModernLeg {
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
export function modernLeg(app: App, opts: HttpServerOptions): ModernLeg {
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

/** The JSON-RPC id of a single request, when it is one (an error answers it by its id). */
function idOf(body: unknown): string | number | null {
  const id = (body as { id?: unknown } | null)?.id;
  return typeof id === 'string' || typeof id === 'number' ? id : null;
}

/** Whether an `MCP-Protocol-Version` header names a 2026-07-28-or-later (stateless) revision. */
function isModernVersion(v: string | string[] | undefined): boolean {
  const version = Array.isArray(v) ? v[0] : v;
  return typeof version === 'string' && version >= '2026-07-28';
}

function lastEventId(req: IncomingMessage): string | undefined {
  const v = req.headers['last-event-id'];
  return (Array.isArray(v) ? v[0] : v) || undefined;
}

/**
 * Routes a request that passed the guards: a 2026-07-28 POST to the modern leg; a 2025 one to its
 * session, or starts a session on initialize.
 */
export function mcpHandler(
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

  /** A POST's body, read under the cap and past the pay-scope check; undefined once refused (answered). */
  const readCall = async (
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<{ body: unknown } | undefined> => {
    const read = await readJsonBody(req, opts.maxBodyBytes);
    if ('refusal' in read) {
      send(res, read.refusal);
      // Stop reading an oversized body: answer, then drop the connection.
      if (read.refusal.closeConnection) res.on('finish', () => req.destroy());
      return undefined;
    }
    return (await refusedScope(req, res, read.body)) ? undefined : read;
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
    const read = await readCall(req, res);
    if (!read) return;
    if (closing()) return send(res, { status: 503, message: 'The server is shutting down.' });
    // Both eras, and any Mcp-Session-Id a client still sends: the request alone says what to do.
    return modern.serve(req, res, read.body);
  };
  if (opts.legacySessions === 'stateless') return stateless;

  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const sid = req.headers['mcp-session-id'];
    const sessionId = Array.isArray(sid) ? sid[0] : sid;
    // A 2026-07-28 client has no session: an old session id it still carries is ignored (that
    // revision's backward-compatibility rule), and it has no stream to open with GET.
    const modernClient = isModernVersion(req.headers['mcp-protocol-version']);
    if (req.method !== 'POST') {
      if (!sessionId && modernClient)
        return send(res, {
          status: 405,
          message: 'Method not allowed: a 2026-07-28 client has no stream to open; every request is a POST.',
          headers: { allow: 'POST' },
        });
      if (!sessionId) return send(res, { status: 400, message: 'Missing Mcp-Session-Id header.' });
      return toSession(sessionId, req, res);
    }
    const read = await readCall(req, res);
    if (!read) return;
    if (sessionId && !modernClient) return toSession(sessionId, req, res, read.body);
    if (!(await isLegacyRequest(await toWebRequest(req, read.body), read.body))) {
      if (closing()) return send(res, { status: 503, message: 'The server is shutting down.' });
      return modern.serve(req, res, read.body);
    }
    if (Array.isArray(read.body))
      return send(res, {
        status: 400,
        code: -32600,
        message:
          'Invalid request: batches are not accepted (2025-11-25 removed JSON-RPC batching). Send each message on its own POST, initialize first.',
      });
    if (!isInitializeRequest(read.body))
      return send(res, {
        status: 400,
        message: 'No session: send initialize first.',
        id: idOf(read.body),
      });
    return initialize(req, res, read.body);
  };
}
