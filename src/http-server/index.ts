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
import { createServer as createNodeServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { App } from '../app.js';
import { systemClock } from '../clock.js';
import { VERSION } from '../version.js';
import { createOAuthGate, type OAuthGate } from './auth.js';
import {
  authGuard,
  hostGuard,
  MCP_PATH,
  methodGuard,
  originGuard,
  pathGuard,
  pathOf,
  type Refusal,
  runGuards,
  send,
} from './chain.js';
import { servePublic } from './files.js';
import { allowedHostHeaders, isLoopback, tokenMatches } from './guard.js';
import { mcpHandler, modernLeg } from './legs.js';
import {
  applyLimits,
  type ConnectionCount,
  checkingIntervalMs,
  DEFAULT_LIMITS,
  RETRY_AFTER_S,
} from './limits.js';
import type { HttpServerOptions } from './options.js';
import { SessionRegistry } from './sessions.js';

export type { HttpServerOptions } from './options.js';

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
