/**
 * The wire layer for The Director: the gateway (`?action=create|query`) or the direct API
 * (`/create_agent_task`...). It sends exactly one request per call; what a create answer proves is
 * decided by the table in classify.ts, and the retry/fallback policy lives in the provider, which has
 * the whole picture. A create whose connection never opened proves no task (`retry`); a timeout or
 * reset after sending is thrown, and the JobService marks the task `unknown`.
 */
import { AppError } from '../../errors.js';
import { type HttpClient, type HttpResponse, retryAfterMs } from '../../http/client.js';
import { checkTaskId } from '../ids.js';
import type { CreateSpec } from './choice.js';
import { type Answer, classifyCreate, unreadable } from './classify.js';
import { SERVICE, scrub, tokenHint, urlHint } from './text.js';
import type { ApiType, CreateOutcome, DirectorAuth, Via } from './types.js';
import { bodyMessage, readEnvelope } from './wire.js';

export type { ApiType, CreateOutcome, DirectorAuth, Via } from './types.js';

export interface DirectorApiOptions {
  http: HttpClient;
  gatewayUrl: string;
  directUrl: string;
  /** For a Retry-After given as an HTTP date. */
  now(): number;
}

const MAX_BODY = 256 * 1024;

export class DirectorApi {
  constructor(private readonly opts: DirectorApiOptions) {}

  /** The paid create. See the module comment for what each outcome proves. */
  async create(auth: DirectorAuth, spec: CreateSpec, signal: AbortSignal): Promise<CreateOutcome> {
    const { url, json } = this.createRequest(auth.via, spec);
    let answer: Answer;
    try {
      answer = await this.post(auth, url, json, signal);
    } catch (err) {
      const e = rewrapTransport(err, auth.via);
      if (e.requestSent !== false) throw e;
      // The connection never opened: nothing reached the backend, so no task can exist.
      const error = e.withNoTaskCreated({ hint: e.hint ?? urlHint(auth.via), retryable: true, cause: e });
      return { kind: 'retry', error, reason: 'could not connect' };
    }
    return classifyCreate(answer, spec, auth.via, this.opts.now());
  }

  /** One status look, always with the api type the task was created with. Returns the parsed body. */
  async query(auth: DirectorAuth, api: ApiType, id: string, signal: AbortSignal): Promise<unknown> {
    const { gatewayUrl, directUrl } = this.opts;
    checkTaskId(id, `${SERVICE} ${api === 'agent' ? 'chat' : 'task'} id`);
    const idField = api === 'agent' ? { chat_id: id } : { task_id: id };
    const url =
      auth.via === 'gateway'
        ? `${gatewayUrl}?action=query`
        : `${directUrl}/${api === 'agent' ? 'query_agent_task_status' : 'query_tool_task_status'}`;
    const json = auth.via === 'gateway' ? { api, ...idField } : idField;
    let answer: Answer;
    try {
      answer = await this.post(auth, url, json, signal);
    } catch (err) {
      throw rewrapTransport(err, auth.via);
    }
    if (answer.status >= 200 && answer.status < 300) {
      if (answer.body === undefined) throw unreadable(answer.status, 'status');
      return answer.body;
    }
    if (answer.status === 404) {
      throw new AppError('not_found', `${SERVICE} has no ${api} task ${id}.`, {
        hint: 'The task may belong to another token or account, or it has expired. Start a new generation if you need it.',
        details: { http_status: 404, api },
      });
    }
    throw httpError(answer, auth.via, 'status', this.opts.now());
  }

  /** Account facts from the direct API (free). The gateway has no such endpoint. */
  async account(auth: DirectorAuth, signal: AbortSignal): Promise<unknown> {
    let answer: Answer;
    try {
      answer = await this.post(auth, `${this.opts.directUrl}/query_account_status`, {}, signal);
    } catch (err) {
      throw rewrapTransport(err, auth.via);
    }
    if (answer.status < 200 || answer.status >= 300)
      throw httpError(answer, auth.via, 'account', this.opts.now());
    const env = readEnvelope(answer.body);
    if (!env) throw unreadable(answer.status, 'account');
    if (env.success === false) {
      throw new AppError(
        'provider_failed',
        `${SERVICE} could not read the account: ${bodyMessage(answer.body) ?? 'no reason given'}.`,
      );
    }
    // The account's own fields are undocumented [I]: hand them on raw (the caller scrubs them).
    return (answer.body as { data?: unknown }).data ?? answer.body;
  }

  private createRequest(via: Via, spec: CreateSpec): { url: string; json: Record<string, unknown> } {
    const fields: Record<string, unknown> =
      spec.api === 'agent'
        ? {
            message: spec.message,
            quality: spec.quality,
            ...(spec.template_id ? { template_id: spec.template_id } : {}),
          }
        : { tool_type: spec.tool_type, input: spec.input };
    if (via === 'gateway')
      return { url: `${this.opts.gatewayUrl}?action=create`, json: { api: spec.api, ...fields } };
    const path = spec.api === 'agent' ? 'create_agent_task' : 'create_tool_task';
    return { url: `${this.opts.directUrl}/${path}`, json: fields };
  }

  private async post(auth: DirectorAuth, url: string, json: unknown, signal: AbortSignal): Promise<Answer> {
    // retry:false — the HttpClient must never resend a paid create; the provider decides with the answer.
    const res: HttpResponse = await this.opts.http.request({
      method: 'POST',
      url,
      headers: { authorization: `Bearer ${auth.token}`, accept: 'application/json' },
      json,
      retry: false,
      signal,
      service: SERVICE,
    });
    const text = await res.text(MAX_BODY);
    let body: unknown;
    try {
      body = text.trim() ? (JSON.parse(text) as unknown) : undefined;
    } catch {
      body = undefined;
    }
    const ra = res.headers['retry-after'];
    const retryAfter = Array.isArray(ra) ? ra[0] : ra;
    return { status: res.status, text, body, ...(retryAfter ? { retryAfter } : {}) };
  }
}

/** Errors for status/account calls (never paid, so the JobService may simply look again later). */
function httpError(answer: Answer, via: Via, what: 'status' | 'account', now: number): AppError {
  const { status, body } = answer;
  const reason = bodyMessage(body);
  const details = { http_status: status };
  if (status === 401 || status === 403)
    return new AppError('auth', `${SERVICE} rejected the access token (HTTP ${status}).`, {
      hint: tokenHint(via),
      details,
    });
  if (status === 404)
    return new AppError('not_found', `${SERVICE} ${what} endpoint was not found (HTTP 404).`, {
      hint: urlHint(via),
      details,
    });
  if (status === 429) {
    const wait = retryAfterMs(answer.retryAfter, now) ?? 30_000;
    return new AppError('rate_limited', `${SERVICE} asked to slow down (HTTP 429).`, {
      hint: `Wait ${Math.max(1, Math.ceil(wait / 1000))} s before checking again.`,
      retryable: true,
      retryAfterMs: wait,
      details,
    });
  }
  if (status >= 500) {
    return new AppError(
      'unavailable',
      `${SERVICE} could not answer the ${what} request (HTTP ${status}${reason ? `: ${reason}` : ''}).`,
      {
        hint: 'This is usually temporary; the job itself is not affected. Check again in a minute.',
        retryable: true,
        details,
      },
    );
  }
  return new AppError(
    'provider_failed',
    `${SERVICE} refused the ${what} request (HTTP ${status}${reason ? `: ${reason}` : ''}).`,
    { details },
  );
}

/** Transport errors from the HttpClient name the host; the host may carry the vendor's name. */
export function rewrapTransport(err: unknown, via: Via): AppError {
  if (!(err instanceof AppError)) throw err;
  const d = err.details ?? {};
  if (d.transport === undefined) return err;
  if (d.transport === 'aborted') return err;
  const sent = err.requestSent !== false;
  const code = scrub(String(d.transport), 40);
  const message =
    err.code === 'timeout'
      ? `${SERVICE} did not answer in time.`
      : sent
        ? `The connection to ${SERVICE} broke before it answered (${code}).`
        : `Could not reach ${SERVICE} (${code}).`;
  const hint = sent
    ? 'The request may have reached it, so a video may be on its way; check the task status before trying again.'
    : `Check your network connection. ${urlHint(via)}`;
  return new AppError(err.code, message, {
    hint,
    retryable: err.retryable,
    details: { ...d },
    requestSent: err.requestSent,
    cause: err,
  });
}
