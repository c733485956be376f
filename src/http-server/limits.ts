/**
 * Bounds of the HTTP server (issue 26 item 3): idle connections, slow senders and a flood of clients
 * never lock new clients out, and a full server says so.
 * - Timeouts: a client has `headersTimeoutMs` to send its headers and `requestTimeoutMs` for the whole
 *   request (a slow-loris connection is closed by Node, checked every second rather than every 30 s);
 *   an idle keep-alive connection closes after `keepAliveTimeoutMs`. Answers (SSE) may last longer.
 * - At most `maxConnections` open connections. A request on one past it is answered `503` with
 *   `Retry-After` and its connection closed (never silence), and the idle keep-alive connections are
 *   closed so that its retry finds room. Silent and slow senders holding places are cut off by the
 *   headers timeout (Node answers them 408): a full server frees itself within that.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';

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

export const RETRY_AFTER_S = 1;

export interface ConnectionCount {
  readonly open: number;
  /** Requests answered 503 for arriving on a connection past the cap, since start. */
  readonly refused: number;
}

export interface Limiter extends ConnectionCount {
  /**
   * Whether this request came on a connection past the cap: it is then answered 503 with Retry-After
   * (after its body is read, so that the client reads the answer instead of a reset) and the
   * connection closed. Counts the refusal.
   */
  refuse(req: IncomingMessage): boolean;
}

/** Applies the timeouts and the connection cap to `http` (before it listens). */
export function applyLimits(http: Server, l: HttpLimits): Limiter {
  http.headersTimeout = l.headersTimeoutMs;
  http.requestTimeout = Math.max(l.requestTimeoutMs, l.headersTimeoutMs);
  http.keepAliveTimeout = l.keepAliveTimeoutMs;
  let open = 0;
  let refused = 0;
  const over = new WeakSet<Socket>();
  http.on('connection', (socket: Socket) => {
    open++;
    socket.once('close', () => {
      open--;
    });
    if (open > l.maxConnections) {
      over.add(socket);
      // Its retry finds room: idle keep-alive connections give theirs up.
      http.closeIdleConnections();
    }
  });
  http.on('clientError', answerClientError);
  return {
    get open() {
      return open;
    },
    get refused() {
      return refused;
    },
    refuse(req) {
      if (!over.has(req.socket)) return false;
      refused++;
      return true;
    },
  };
}

/** What Node answers a request it could not read, with a sentence instead of Node's empty body. */
const CLIENT_ERRORS: Record<string, [number, string, string]> = {
  HPE_HEADER_OVERFLOW: [
    431,
    'Request Header Fields Too Large',
    'The request headers are larger than this server accepts (16 KB in all). Put long values (a long task id or name) in the JSON body, or shorten them.',
  ],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'Request Timeout', 'The request took too long to arrive; send it again.'],
};
const BAD_REQUEST: [number, string, string] = [400, 'Bad Request', 'The request is not valid HTTP.'];

/**
 * Node's own clientError handling (an answer while none was started, then the socket destroyed), with a
 * JSON-RPC error body that says what was wrong (listening to the event replaces Node's handler).
 */
function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  const started = (socket as Duplex & { _httpMessage?: { _headerSent?: boolean } })._httpMessage?._headerSent;
  if (socket.writable && !started) {
    const [status, reason, message] = CLIENT_ERRORS[err.code ?? ''] ?? BAD_REQUEST;
    const body = JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message }, id: null });
    socket.write(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}
