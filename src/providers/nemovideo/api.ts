/**
 * One place that talks HTTP to NemoVideo: base URL, attribution headers, bearer token, the
 * `{code, msg, data}` envelope, and the few documented recoveries — re-authenticate once on 1001, wait
 * 30 s and retry once on 429. Nothing else is retried here (HttpClient retries are off too), so a call
 * costs at most two requests and callers can count them.
 */
import type { Clock } from '../../clock.js';
import type { Config } from '../../config.js';
import { AppError } from '../../errors.js';
import type { FormData, HttpClient, HttpResponse } from '../../http/client.js';
import type { Logger } from '../../logger.js';
import type { Redactor } from '../../redact.js';
import type { AnonymousToken, NemoAuth } from './auth.js';
import {
  clientIdError,
  envelopeError,
  httpError,
  NEMO_CODE,
  planRequiredError,
  RATE_LIMIT_WAIT_MS,
  rateLimitedError,
  SERVICE,
} from './errors.js';
import { anonymousTokenSchema, envelopeSchema, userIdSchema } from './schemas.js';

export interface ApiDeps {
  config: Config['nemo'];
  http: HttpClient;
  clock: Clock;
  log: Logger;
  auth: NemoAuth;
  redactor: Redactor;
  version: string;
}

export interface CallOptions {
  method: 'GET' | 'POST';
  path: string;
  json?: unknown;
  /** Multipart body, rebuilt for each attempt (a file stream can be read once). */
  form?: () => Promise<FormData>;
  /** What we are doing, for messages: "creating a session", "uploading clip.mp4"... */
  action: string;
  filename?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
}

export interface CallResult {
  /** `body.data` when the answer is an envelope, else the whole body. */
  data: unknown;
  body: unknown;
}

interface Attempt {
  reauthed: boolean;
  waited: boolean;
}

export type Obj = Record<string, unknown>;

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export class NemoApi {
  constructor(private readonly deps: ApiDeps) {
    deps.auth.requestAnonymous = (clientId, signal) => this.anonymousToken(clientId, signal);
  }

  /** Sent on every call: the vendor blocks export (402) without them. */
  attribution(): Record<string, string> {
    return {
      'X-Skill-Source': 'lipsync-mcp',
      'X-Skill-Version': this.deps.version,
      'X-Skill-Platform': this.deps.config.platform,
    };
  }

  /** A JSON call; throws AppError on any refusal. */
  async call(opts: CallOptions): Promise<CallResult> {
    const out = await this.send(opts, false, { reauthed: false, waited: false });
    if ('stream' in out) throw new Error('unreachable: stream answer to a JSON call');
    return out;
  }

  /**
   * A call answered by an event stream (`/run_sse`). Returns the open response once its headers
   * arrive, or `{data}` when the service answered 2xx JSON instead of a stream.
   */
  async stream(opts: CallOptions): Promise<{ stream: HttpResponse } | CallResult> {
    return this.send(opts, true, { reauthed: false, waited: false });
  }

  private async send(
    opts: CallOptions,
    sse: boolean,
    attempt: Attempt,
  ): Promise<{ stream: HttpResponse } | CallResult> {
    const token = await this.deps.auth.token(opts.signal);
    const headers: Record<string, string> = {
      ...this.attribution(),
      authorization: `Bearer ${token}`,
      accept: sse ? 'text/event-stream' : 'application/json',
    };
    const res = await this.deps.http.request({
      method: opts.method,
      url: `${this.deps.config.baseUrl}${opts.path}`,
      headers,
      json: opts.json,
      bodyFactory: opts.form,
      retry: false,
      timeoutMs: opts.timeoutMs,
      signal: opts.signal,
      service: SERVICE,
    });
    if (res.status === 429) {
      await res.body.dump().catch(() => undefined);
      if (attempt.waited) throw rateLimitedError(opts.action);
      await this.waitForRateLimit(opts);
      return this.send(opts, sse, { ...attempt, waited: true });
    }
    if (res.status === 402) {
      await res.body.dump().catch(() => undefined);
      throw planRequiredError(opts.action);
    }
    if (
      sse &&
      res.status >= 200 &&
      res.status < 300 &&
      headerValue(res, 'content-type').includes('text/event-stream')
    ) {
      return { stream: res };
    }
    const { code, msg: rawMsg, data, body } = await readEnvelope(res, opts.action);
    // Provider text ends up in error messages: strip any secret it echoes.
    const msg = rawMsg === undefined ? undefined : this.deps.redactor.redact(rawMsg);
    if (code === NEMO_CODE.tokenInvalid || (code === undefined && res.status === 401)) {
      if (!this.deps.auth.isUser() && !attempt.reauthed) {
        this.deps.log.info({ action: opts.action }, 'NemoVideo token rejected; renewing it once');
        await this.deps.auth.renew(token, opts.signal);
        return this.send(opts, sse, { ...attempt, reauthed: true });
      }
      throw envelopeError(NEMO_CODE.tokenInvalid, msg, this.ctx(opts));
    }
    if (code !== undefined && code !== 0) throw envelopeError(code, msg, this.ctx(opts));
    if (res.status < 200 || res.status >= 300) throw httpError(res.status, opts.action, msg);
    const named = userIdSchema.safeParse(data);
    if (named.success) this.deps.auth.noteUserId(named.data.user_id);
    return { data, body };
  }

  /** `POST /api/auth/anonymous-token` with `X-Client-Id` and no body. */
  async anonymousToken(clientId: string, signal?: AbortSignal, waited = false): Promise<AnonymousToken> {
    const action = 'obtaining an anonymous token';
    const res = await this.deps.http.request({
      method: 'POST',
      url: `${this.deps.config.baseUrl}/api/auth/anonymous-token`,
      headers: { ...this.attribution(), 'X-Client-Id': clientId, accept: 'application/json' },
      retry: false,
      signal,
      service: SERVICE,
    });
    if (res.status === 429) {
      await res.body.dump().catch(() => undefined);
      if (waited) throw rateLimitedError(action);
      await this.waitForRateLimit({ action, signal });
      return this.anonymousToken(clientId, signal, true);
    }
    if (res.status === 400) {
      await res.body.dump().catch(() => undefined);
      throw clientIdError();
    }
    const { code, msg: rawMsg, data } = await readEnvelope(res, action);
    const msg = rawMsg === undefined ? undefined : this.deps.redactor.redact(rawMsg);
    if (code !== undefined && code !== 0) throw envelopeError(code, msg, { userToken: false, action });
    if (res.status < 200 || res.status >= 300) throw httpError(res.status, action, msg);
    const answer = anonymousTokenSchema.safeParse(data);
    if (!answer.success) {
      throw new AppError(
        'provider_failed',
        'NemoVideo answered the anonymous-token request without a token.',
        {
          hint: 'Try again later, or set NEMO_TOKEN to a token from your NemoVideo account.',
        },
      );
    }
    const out: AnonymousToken = { token: answer.data.token, expires_at: answer.data.expires_at };
    if (answer.data.user_id) out.user_id = answer.data.user_id;
    return out;
  }

  private async waitForRateLimit(opts: { action: string; signal?: AbortSignal | undefined }): Promise<void> {
    this.deps.log.warn({ action: opts.action }, 'NemoVideo rate limited the request; retrying once in 30 s');
    await this.deps.clock.sleep(RATE_LIMIT_WAIT_MS, opts.signal);
  }

  private ctx(opts: CallOptions) {
    return {
      userToken: this.deps.auth.isUser(),
      bindId: this.deps.auth.bindId(),
      filename: opts.filename,
      action: opts.action,
    };
  }
}

interface Envelope {
  code: number | undefined;
  msg: string | undefined;
  data: unknown;
  body: unknown;
}

/** Reads `{code, msg|message, data}`; a body without `code` is data as is (render status answers). */
async function readEnvelope(res: HttpResponse, action: string): Promise<Envelope> {
  let body: unknown;
  try {
    body = await res.json();
  } catch (err) {
    // An HTML error page on a failing status says less than the status itself.
    if (res.status >= 400) throw httpError(res.status, action, undefined);
    throw err;
  }
  const env = envelopeSchema.safeParse(body);
  if (!env.success) return { code: undefined, msg: undefined, data: body, body };
  const { code, msg, message } = env.data;
  return {
    code: code ?? undefined,
    msg: msg ?? message ?? undefined,
    data: 'data' in env.data ? env.data.data : body,
    body,
  };
}

function headerValue(res: HttpResponse, name: string): string {
  const v = res.headers[name];
  return (Array.isArray(v) ? v[0] : v) ?? '';
}
