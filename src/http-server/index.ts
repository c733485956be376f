/**
 * MCP Streamable HTTP transport (the SDK's StreamableHTTPServerTransport on node:http): one McpServer
 * per session over the shared App, SSE responses so progress notifications reach the client, and the
 * guards in guard.ts in front of everything. Job state lives in the ledger, so a client that comes
 * back with a new session can follow tasks created in an old one.
 */
import { randomUUID } from 'node:crypto';
import { createServer as createNodeServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { App } from '../app.js';
import { createServer } from '../server.js';
import { VERSION } from '../version.js';
import { allowedHostHeaders, BodyTooLarge, originAllowed, readCappedBody, tokenMatches } from './guard.js';

export interface HttpServerOptions {
  host: string;
  port: number;
  /** Required by the CLI off loopback; when set, every /mcp request needs `Authorization: Bearer`. */
  token?: string;
  allowedOrigins: string[];
  maxBodyBytes: number;
  /** Extra Host header names to accept (e.g. a DNS name in front of a wildcard bind). */
  allowedHosts?: string[];
}

export interface HttpServerHandle {
  url: string;
  /** Live sessions by id. */
  sessions: Map<string, Session>;
  /** Stops accepting, lets in-flight calls finish for up to `drainMs`, then closes every session. */
  close(drainMs?: number): Promise<void>;
}

interface Session {
  transport: StreamableHTTPServerTransport;
  server: McpServer;
}

const MCP_PATH = '/mcp';

export async function startHttpServer(app: App, opts: HttpServerOptions): Promise<HttpServerHandle> {
  const sessions = new Map<string, Session>();
  let inFlight = 0;
  let idle: (() => void) | undefined;
  let closing = false;
  let hosts = new Set<string>();

  const fail = (
    res: ServerResponse,
    status: number,
    message: string,
    headers: Record<string, string> = {},
  ) => {
    if (res.headersSent) return;
    const body = JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message }, id: null });
    res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(body);
  };

  const endSession = async (id: string) => {
    const s = sessions.get(id);
    if (!s) return;
    sessions.delete(id);
    await s.server.close().catch(() => undefined);
  };

  const newSession = (): StreamableHTTPServerTransport => {
    const server = createServer(app);
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      // SSE, not JSON-only: progress notifications travel on the call's own stream.
      enableJsonResponse: false,
      onsessioninitialized: (id) => {
        sessions.set(id, { transport, server });
        app.log.info({ session: id, sessions: sessions.size }, 'http session started');
      },
      onsessionclosed: (id) => {
        app.log.info({ session: id }, 'http session ended by client');
        void endSession(id);
      },
    });
    transport.onclose = () => {
      if (transport.sessionId) void endSession(transport.sessionId);
    };
    void server.connect(transport);
    return transport;
  };

  const handleMcp = async (req: IncomingMessage, res: ServerResponse) => {
    const sid = req.headers['mcp-session-id'];
    const sessionId = Array.isArray(sid) ? sid[0] : sid;
    if (req.method === 'POST') {
      let body: unknown;
      try {
        const raw = await readCappedBody(req, opts.maxBodyBytes);
        body = JSON.parse(raw.toString('utf8'));
      } catch (err) {
        if (err instanceof BodyTooLarge) {
          // Stop reading an oversized body: answer and drop the connection.
          res.setHeader('connection', 'close');
          fail(res, 413, `Request body larger than ${opts.maxBodyBytes} bytes.`);
          res.on('finish', () => req.destroy());
          return;
        }
        fail(res, 400, 'Parse error: the body is not JSON.');
        return;
      }
      if (sessionId) {
        const s = sessions.get(sessionId);
        if (!s) return fail(res, 404, 'Session not found; initialize a new session.');
        return s.transport.handleRequest(req, res, body);
      }
      if (!isInitializeRequest(body)) return fail(res, 400, 'No session: send initialize first.');
      if (closing) return fail(res, 503, 'The server is shutting down.');
      return newSession().handleRequest(req, res, body);
    }
    if (req.method === 'GET' || req.method === 'DELETE') {
      if (!sessionId) return fail(res, 400, 'Missing Mcp-Session-Id header.');
      const s = sessions.get(sessionId);
      if (!s) return fail(res, 404, 'Session not found; initialize a new session.');
      return s.transport.handleRequest(req, res);
    }
    fail(res, 405, 'Method not allowed.', { allow: 'GET, POST, DELETE' });
  };

  const http = createNodeServer((req, res) => {
    // Rebinding and cross-site checks come first: they protect even the health endpoint.
    const host = (req.headers.host ?? '').toLowerCase();
    if (!hosts.has(host)) {
      app.log.warn({ host: host.slice(0, 200) }, 'http request refused: Host not allowed');
      return fail(res, 421, 'Host header not allowed.');
    }
    if (!originAllowed(req.headers.origin, opts.allowedOrigins)) {
      app.log.warn({ origin: String(req.headers.origin).slice(0, 200) }, 'http request refused: Origin');
      return fail(res, 403, 'Origin not allowed; add it to LIPSYNC_ALLOWED_ORIGINS.');
    }
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/health' && req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: !closing, version: VERSION, sessions: sessions.size }));
      return;
    }
    if (opts.token !== undefined && !tokenMatches(req.headers.authorization, opts.token)) {
      app.log.warn({ path: path.slice(0, 200) }, 'http request refused: missing or wrong bearer token');
      return fail(res, 401, 'Unauthorized: send Authorization: Bearer <LIPSYNC_HTTP_TOKEN>.', {
        'www-authenticate': 'Bearer realm="lipsync-mcp"',
      });
    }
    if (path !== MCP_PATH) return fail(res, 404, `Not found; the MCP endpoint is ${MCP_PATH}.`);
    // Only POSTs are calls; a GET is the long-lived notification stream and would never drain.
    const counted = req.method === 'POST';
    if (counted) inFlight++;
    res.on('close', () => {
      if (!counted) return;
      inFlight--;
      if (inFlight === 0) idle?.();
    });
    handleMcp(req, res).catch((err) => {
      app.log.error({ err: app.redactor.redact(String(err)) }, 'http request failed');
      fail(res, 500, 'Internal error.');
    });
  });
  // Slow-loris bound on receiving a request; responses (SSE) may last as long as a call.
  http.requestTimeout = 30_000;
  http.headersTimeout = 15_000;

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(opts.port, opts.host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  const port = (http.address() as AddressInfo).port;
  hosts = allowedHostHeaders(opts.host, port, opts.allowedHosts);
  const urlHost = opts.host.includes(':') && !opts.host.startsWith('[') ? `[${opts.host}]` : opts.host;
  const url = `http://${urlHost}:${port}${MCP_PATH}`;
  app.log.info({ url, auth: opts.token !== undefined }, 'lipsync-mcp ready on Streamable HTTP');

  return {
    url,
    sessions,
    async close(drainMs = 10_000) {
      if (closing) return;
      closing = true;
      const stopped = new Promise<void>((r) => http.close(() => r()));
      http.closeIdleConnections();
      if (inFlight > 0) {
        app.log.info({ inFlight }, 'waiting for in-flight calls');
        await new Promise<void>((r) => {
          idle = r;
          setTimeout(r, drainMs).unref();
        });
      }
      for (const id of [...sessions.keys()]) {
        const s = sessions.get(id);
        await s?.transport.close().catch(() => undefined);
        await endSession(id);
      }
      http.closeAllConnections();
      await stopped;
    },
  };
}
