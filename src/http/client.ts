/**
 * The one HTTP client (undici). Timeouts on every request, bounded response bodies, and retries with
 * backoff + Retry-After for *safe* requests only (GET/HEAD, or a caller that marks a PUT idempotent).
 * Paid creates are never retried here: the caller decides, with the answer in hand.
 *
 * Why not undici's RetryAgent: waits must run on the injected Clock (tests never sleep), and callers
 * need to know whether a failed request could have reached the server (for `unknown` vs. rejected).
 *
 * undici is loaded on the first request, not at import: a server that only lists its tools (an MCP
 * client's first call) starts without it (issue 13, cold start).
 */
import type { Agent, Dispatcher } from 'undici';
import type { Clock } from '../clock.js';
import { AppError } from '../errors.js';

/** An async iterable body is written chunk by chunk, each after the previous one drained (file-body.ts). */
export type HttpBody =
  | string
  | Uint8Array
  | globalThis.FormData
  | NodeJS.ReadableStream
  | Blob
  | AsyncIterable<Uint8Array>;

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'HEAD';
  url: string;
  headers?: Record<string, string>;
  /** JSON body (sets content-type). */
  json?: unknown;
  /** Raw body. For a retried upload pass `bodyFactory` instead (a stream can be read once). */
  body?: HttpBody;
  bodyFactory?: () => HttpBody | Promise<HttpBody>;
  /** Retries for transport errors, 429 and 5xx. Defaults to true for GET/HEAD, false otherwise. */
  retry?: boolean;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** A name for messages ("Jogg", "NemoVideo"...). */
  service: string;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Reads the whole body as text, up to `maxBytes` (default 4 MiB); larger -> AppError. */
  text(maxBytes?: number): Promise<string>;
  /** Parses JSON; a body that is not JSON gives a clear provider error (e.g. an HTML error page). */
  json(maxBytes?: number): Promise<unknown>;
  /** The raw body stream (SSE, downloads). */
  body: Dispatcher.ResponseData['body'];
}

export interface HttpClient {
  request(req: HttpRequest): Promise<HttpResponse>;
  close(): Promise<void>;
}

export interface HttpClientOptions {
  clock: Clock;
  timeoutMs: number;
  /** Attempts for safe requests (first try included). */
  attempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  dispatcher?: Dispatcher;
  /**
   * Sockets per origin (default 16). More requests queue in the client instead of opening more
   * sockets: a recovery pass or a thousand polls never flood a provider (or the machine's ports).
   */
  connectionsPerOrigin?: number;
}

/** Transport error codes that prove nothing reached the server. */
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);
const RETRY_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);
const DEFAULT_MAX_BODY = 4 * 1024 * 1024;
const DEFAULT_CONNECTIONS = 16;

type Undici = typeof import('undici');
let undiciLoading: Promise<Undici> | undefined;
function loadUndici(): Promise<Undici> {
  undiciLoading ??= import('undici');
  return undiciLoading;
}

export function createHttpClient(opts: HttpClientOptions): HttpClient {
  let agent: Promise<Dispatcher> | undefined;
  const dispatcherFor = (): Promise<Dispatcher> => {
    agent ??= opts.dispatcher
      ? Promise.resolve(opts.dispatcher)
      : loadUndici().then(
          ({ Agent }) =>
            new Agent({
              connect: { timeout: Math.min(opts.timeoutMs, 10_000) },
              keepAliveTimeout: 4_000,
              maxRedirections: 0,
              connections: opts.connectionsPerOrigin ?? DEFAULT_CONNECTIONS,
            } as Agent.Options),
        );
    return agent;
  };
  const attempts = opts.attempts ?? 3;
  const baseDelay = opts.baseDelayMs ?? 500;
  const maxDelay = opts.maxDelayMs ?? 10_000;

  async function once(req: HttpRequest): Promise<HttpResponse> {
    const timeoutMs = req.timeoutMs ?? opts.timeoutMs;
    const headers: Record<string, string> = { 'user-agent': 'lipsync-mcp', ...req.headers };
    let body: HttpBody | undefined = req.bodyFactory ? await req.bodyFactory() : req.body;
    if (req.json !== undefined) {
      body = JSON.stringify(req.json);
      headers['content-type'] = 'application/json';
    }
    let res: Dispatcher.ResponseData;
    try {
      const [undici, dispatcher] = await Promise.all([loadUndici(), dispatcherFor()]);
      if (body instanceof globalThis.FormData) body = toUndiciForm(undici, body);
      res = await undici.request(req.url, {
        method: req.method,
        headers,
        body: body as Dispatcher.DispatchOptions['body'],
        dispatcher,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        signal: req.signal,
      });
    } catch (err) {
      throw transportError(req, err);
    }
    return wrap(req, res);
  }

  return {
    async request(req) {
      const retry = req.retry ?? (req.method === 'GET' || req.method === 'HEAD');
      const max = retry ? attempts : 1;
      for (let attempt = 1; ; attempt++) {
        try {
          const res = await once(req);
          if (attempt < max && RETRY_STATUS.has(res.status)) {
            const wait =
              retryAfterMs(res.headers['retry-after'], opts.clock.now()) ??
              backoff(attempt, baseDelay, maxDelay);
            await res.body.dump().catch(() => undefined);
            await opts.clock.sleep(Math.min(wait, maxDelay), req.signal);
            continue;
          }
          return res;
        } catch (err) {
          const retryable = err instanceof AppError && err.retryable;
          if (attempt >= max || !retryable || req.signal?.aborted) throw err;
          await opts.clock.sleep(backoff(attempt, baseDelay, maxDelay), req.signal);
        }
      }
    },
    async close() {
      if (!opts.dispatcher && agent) await (await agent).close();
    },
  };
}

/** The runtime's FormData as undici's own (its request() takes only that), entries unchanged. */
function toUndiciForm(undici: Undici, form: globalThis.FormData): HttpBody {
  const out = new undici.FormData();
  for (const [name, value] of form.entries()) {
    if (typeof value === 'string') out.append(name, value);
    else out.append(name, value, value.name);
  }
  return out as unknown as HttpBody;
}

function wrap(req: HttpRequest, res: Dispatcher.ResponseData): HttpResponse {
  const readText = async (maxBytes = DEFAULT_MAX_BODY): Promise<string> => {
    const declared = Number(res.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBytes) {
      res.body.destroy();
      throw tooLarge(req, maxBytes);
    }
    const chunks: Buffer[] = [];
    let total = 0;
    try {
      for await (const chunk of res.body) {
        total += (chunk as Buffer).length;
        if (total > maxBytes) {
          res.body.destroy();
          throw tooLarge(req, maxBytes);
        }
        chunks.push(chunk as Buffer);
      }
    } catch (err) {
      if (err instanceof AppError) throw err;
      throw transportError(req, err, true);
    }
    return Buffer.concat(chunks).toString('utf8');
  };
  return {
    status: res.statusCode,
    headers: res.headers,
    body: res.body,
    text: readText,
    async json(maxBytes) {
      const text = await readText(maxBytes);
      try {
        return JSON.parse(text) as unknown;
      } catch {
        const looksHtml = /^\s*</.test(text);
        throw new AppError(
          'provider_failed',
          `${req.service} answered with ${looksHtml ? 'an HTML page' : 'a body that is not valid JSON'} (HTTP ${res.statusCode}) instead of its API response.`,
          {
            hint: `${req.service} may be down or behind a proxy/captive portal; check the base URL setting and try again later.`,
            retryable: res.statusCode >= 500,
            details: { http_status: res.statusCode },
          },
        );
      }
    },
  };
}

function tooLarge(req: HttpRequest, maxBytes: number): AppError {
  return new AppError(
    'provider_failed',
    `${req.service} sent a response larger than ${Math.round(maxBytes / 1024)} KiB; refusing to read it.`,
    {
      hint: 'This is not a normal API answer; check the base URL setting.',
    },
  );
}

/** Maps a transport failure to an AppError; `requestSent` says whether the server may have seen it. */
export function transportError(req: HttpRequest, err: unknown, afterHeaders = false): AppError {
  const e = err as { code?: string; name?: string; message?: string; cause?: { code?: string } };
  const code = e?.code ?? e?.cause?.code ?? e?.name ?? 'UNKNOWN';
  if (e?.name === 'AbortError' || code === 'ABORT_ERR' || code === 'UND_ERR_ABORTED') {
    return new AppError('timeout', `The request to ${req.service} was cancelled.`, {
      requestSent: true,
      details: { transport: 'aborted' },
      cause: err,
    });
  }
  const sent = afterHeaders || !NOT_SENT_CODES.has(code);
  const host = safeHost(req.url);
  const isTimeout = /TIMEOUT/i.test(code);
  return new AppError(
    isTimeout ? 'timeout' : 'unavailable',
    isTimeout
      ? `${req.service} (${host}) did not answer in time.`
      : `Could not reach ${req.service} (${host}): ${code}.`,
    {
      hint: sent
        ? 'Check your network connection; the request may or may not have been received.'
        : `Check your network connection and the ${req.service} base URL setting.`,
      retryable: true,
      requestSent: sent,
      details: { transport: code },
      cause: err,
    },
  );
}

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'invalid URL';
  }
}

export function retryAfterMs(value: string | string[] | undefined, now: number): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  const secs = Number(v);
  if (Number.isFinite(secs) && secs >= 0) return secs * 1000;
  const date = Date.parse(v);
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined;
}

function backoff(attempt: number, base: number, max: number): number {
  const exp = Math.min(max, base * 2 ** (attempt - 1));
  return Math.round(exp / 2 + Math.random() * (exp / 2));
}

/**
 * The runtime's FormData (the client hands undici its own copy of the entries), so that building a
 * multipart body does not load undici at import. Not read at import either: the runtime's global
 * FormData is a lazy getter that compiles Node's bundled undici (~100 ms of a cold start).
 */
export const FormData = function FormData(): globalThis.FormData {
  return new globalThis.FormData();
} as unknown as typeof globalThis.FormData;
export type FormData = globalThis.FormData;
