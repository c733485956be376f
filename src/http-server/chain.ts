/**
 * The checks in front of every HTTP request, as a chain: each guard looks at the request and either
 * passes it on (undefined) or refuses it with a status and a message a person can act on. The server
 * runs them in order; the first refusal answers.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BodyTooLarge, originAllowed, readCappedBody, tokenMatches } from './guard.js';

export interface Refusal {
  status: number;
  message: string;
  headers?: Record<string, string>;
  /** What the server log says about it (never the token, values cut short). */
  log?: { msg: string; fields: Record<string, unknown> };
  /** Drop the connection after answering (the client is still sending a body we will not read). */
  closeConnection?: boolean;
  /** The JSON-RPC error code (default -32000, a transport-level refusal). */
  code?: number;
  /** The id of the request it answers, when one was readable (default null). */
  id?: string | number | null;
}

/** How deep a request's JSON may nest (arrays and objects); a real MCP request needs a handful. */
export const MAX_JSON_DEPTH = 64;

/** The deepest nesting of `text` (JSON), counted without recursion; strings are skipped. */
export function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92)
        i++; // a backslash escapes the next character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 91 || c === 123) max = Math.max(max, ++depth);
    else if (c === 93 || c === 125) depth--;
  }
  return max;
}

/** Answers a refusal as a JSON-RPC error (once: nothing is written after headers went out). */
export function send(res: ServerResponse, r: Refusal): void {
  if (res.headersSent) return;
  const body = JSON.stringify({
    jsonrpc: '2.0',
    error: { code: r.code ?? -32000, message: r.message },
    id: r.id ?? null,
  });
  if (r.closeConnection) res.setHeader('connection', 'close');
  res.writeHead(r.status, { 'content-type': 'application/json', ...r.headers }).end(body);
}

export type Guard = (req: IncomingMessage) => Refusal | undefined;

export const MCP_PATH = '/mcp';

export function pathOf(req: IncomingMessage): string {
  return new URL(req.url ?? '/', 'http://x').pathname;
}

export function runGuards(req: IncomingMessage, guards: Guard[]): Refusal | undefined {
  for (const guard of guards) {
    const refusal = guard(req);
    if (refusal) return refusal;
  }
  return undefined;
}

/** DNS rebinding: the Host header must name this server (see allowedHostHeaders). */
export const hostGuard =
  (hosts: () => Set<string>): Guard =>
  (req) => {
    const host = (req.headers.host ?? '').toLowerCase();
    if (hosts().has(host)) return undefined;
    return {
      status: 421,
      message: 'Host header not allowed.',
      log: { msg: 'http request refused: Host not allowed', fields: { host: host.slice(0, 200) } },
    };
  };

/** Cross-site browsers: a listed Origin, or a loopback one when bound to loopback. */
export const originGuard =
  (allowed: string[], acceptLoopback: boolean): Guard =>
  (req) => {
    if (originAllowed(req.headers.origin, allowed, acceptLoopback)) return undefined;
    return {
      status: 403,
      message: 'Origin not allowed; add it to LIPSYNC_ALLOWED_ORIGINS.',
      log: {
        msg: 'http request refused: Origin',
        fields: { origin: String(req.headers.origin).slice(0, 200) },
      },
    };
  };

/** Bearer token, when one is configured. */
export const authGuard =
  (token: string | undefined): Guard =>
  (req) => {
    if (token === undefined || tokenMatches(req.headers.authorization, token)) return undefined;
    return {
      status: 401,
      message: 'Unauthorized: send Authorization: Bearer <LIPSYNC_HTTP_TOKEN>.',
      headers: { 'www-authenticate': 'Bearer realm="lipsync-mcp"' },
      log: {
        msg: 'http request refused: missing or wrong bearer token',
        fields: { path: pathOf(req).slice(0, 200) },
      },
    };
  };

/** Only the MCP endpoint exists behind the token. */
export const pathGuard: Guard = (req) =>
  pathOf(req) === MCP_PATH
    ? undefined
    : { status: 404, message: `Not found; the MCP endpoint is ${MCP_PATH}.` };

/** GET (notification stream), POST (calls) and DELETE (end session) are the transport's methods. */
export const methodGuard: Guard = (req) =>
  req.method === 'GET' || req.method === 'POST' || req.method === 'DELETE'
    ? undefined
    : { status: 405, message: 'Method not allowed.', headers: { allow: 'GET, POST, DELETE' } };

/** Reads a POST body under the size cap and parses it as JSON, or says why not. */
export async function readJsonBody(
  req: IncomingMessage,
  maxBytes: number,
): Promise<{ body: unknown } | { refusal: Refusal }> {
  try {
    const text = (await readCappedBody(req, maxBytes)).toString('utf8');
    const body = JSON.parse(text);
    const depth = jsonDepth(text);
    if (depth > MAX_JSON_DEPTH)
      return {
        refusal: {
          status: 400,
          code: -32600,
          message: `Invalid request: the JSON nests ${depth} levels deep; at most ${MAX_JSON_DEPTH} are accepted. Send the arguments flatter.`,
        },
      };
    return { body };
  } catch (err) {
    if (err instanceof BodyTooLarge)
      return {
        refusal: {
          status: 413,
          message: `Request body larger than ${maxBytes} bytes.`,
          closeConnection: true,
        },
      };
    // Not JSON, or the client gave up sending: either way there is no call to answer.
    return { refusal: { status: 400, code: -32700, message: 'Parse error: the body is not JSON.' } };
  }
}
