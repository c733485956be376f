/**
 * Bounds of the HTTP server (issue 26 item 3): idle connections, slow senders and a flood of clients
 * never lock new clients out, and a full server says so.
 * - Timeouts: a client has `headersTimeoutMs` to send its headers and `requestTimeoutMs` for the whole
 *   request (a slow-loris connection is closed by Node, checked every second rather than every 30 s);
 *   an idle keep-alive connection closes after `keepAliveTimeoutMs`. Answers (SSE) may last longer.
 * - At most `maxConnections` open connections. One past it is answered `503` with `Retry-After` on the
 *   raw socket and closed, before any parser or request state exists (never silence, and no memory held
 *   for it), and the idle keep-alive connections are closed so that its retry finds room. Slow senders
 *   holding places are cut off by the headers timeout: a full server frees itself within that.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

export interface HttpLimits {
  maxConnections: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
}

export const DEFAULT_LIMITS: HttpLimits = {
  maxConnections: 2000,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
};

/** How often Node looks for connections past their headers/request timeout (its default is 30 s). */
export function checkingIntervalMs(l: HttpLimits): number {
  return Math.max(250, Math.min(1000, Math.floor(l.headersTimeoutMs / 2)));
}

const RETRY_AFTER_S = 1;

/** The whole answer to a connection refused for being one too many. */
function fullAnswer(): string {
  const body = JSON.stringify({
    jsonrpc: '2.0',
    error: { code: -32000, message: `Too many open connections; try again in ${RETRY_AFTER_S} s.` },
    id: null,
  });
  return [
    'HTTP/1.1 503 Service Unavailable',
    'content-type: application/json',
    `retry-after: ${RETRY_AFTER_S}`,
    'connection: close',
    `content-length: ${Buffer.byteLength(body)}`,
    '',
    body,
  ].join('\r\n');
}

export interface ConnectionCount {
  readonly open: number;
  /** Connections answered 503 for being past the cap, since start. */
  readonly refused: number;
}

/** Applies the timeouts and the connection cap to `http` (before it listens). */
export function applyLimits(
  http: Server,
  l: HttpLimits,
  onFull?: (open: number, refused: number) => void,
): ConnectionCount {
  http.headersTimeout = l.headersTimeoutMs;
  http.requestTimeout = Math.max(l.requestTimeoutMs, l.headersTimeoutMs);
  http.keepAliveTimeout = l.keepAliveTimeoutMs;
  const state = { open: 0, refused: 0 };
  const answer = fullAnswer();
  http.on('connection', (socket: Socket) => {
    if (state.open >= l.maxConnections) {
      http.closeIdleConnections();
      state.refused++;
      onFull?.(state.open, state.refused);
      // Node has already counted this socket as a connection of the server: answer, then close it.
      socket.on('error', () => undefined);
      socket.end(answer);
      socket.setTimeout(1000, () => socket.destroy());
      return;
    }
    state.open++;
    socket.once('close', () => {
      state.open--;
    });
  });
  return state;
}
