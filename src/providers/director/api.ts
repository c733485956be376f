/**
 * The wire layer for The Director: the gateway (`?action=create|query`) or the direct API
 * (`/create_agent_task`...). It sends exactly one request per call and classifies the answer; the
 * retry/fallback policy lives in the provider, which has the whole picture.
 *
 * The question behind every create classification is "could a task exist now?":
 * - `created`: we have its id.
 * - `retry`: the answer proves no task and says the failure is transient (503, a JSON 500 without an id,
 *   a 2xx without an id or reason, a connection that never opened) — safe to send again.
 * - `rejected`: the backend refused on purpose (success:false, 4xx); another model may still work.
 * - `fatal`: no task, and sending again or to another model can't help (401/403/404/429).
 * - anything else is thrown: the request may have been received (timeout, reset, 502/504 from a proxy
 *   whose upstream may have accepted it, an unreadable 2xx). The JobService marks those `unknown`.
 */
import { AppError } from '../../errors.js';
import type { HttpClient, HttpResponse } from '../../http/client.js';
import type { CreateSpec } from './choice.js';
import {
  bodyMessage,
  DAILY_LIMIT_HINT,
  DAILY_LIMIT_MESSAGE,
  isObj,
  SERVICE,
  saysDailyLimit,
  scrub,
} from './text.js';

export type Via = 'gateway' | 'direct';
export type ApiType = 'agent' | 'tool';

export interface DirectorAuth {
  via: Via;
  token: string;
  source: string;
}

export type CreateOutcome =
  | { kind: 'created'; id: string; api: ApiType; corrected: boolean }
  | { kind: 'retry' | 'rejected' | 'fatal'; error: AppError; reason: string };

export interface DirectorApiOptions {
  http: HttpClient;
  gatewayUrl: string;
  directUrl: string;
}

interface Answer {
  status: number;
  text: string;
  body: unknown;
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
    return classifyCreate(answer, spec, auth.via);
  }

  /** One status look, always with the api type the task was created with. Returns the parsed body. */
  async query(auth: DirectorAuth, api: ApiType, id: string, signal: AbortSignal): Promise<unknown> {
    const { gatewayUrl, directUrl } = this.opts;
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
    throw httpError(answer, auth.via, 'status');
  }

  /** Account facts from the direct API (free). The gateway has no such endpoint. */
  async account(auth: DirectorAuth, signal: AbortSignal): Promise<unknown> {
    let answer: Answer;
    try {
      answer = await this.post(auth, `${this.opts.directUrl}/query_account_status`, {}, signal);
    } catch (err) {
      throw rewrapTransport(err, auth.via);
    }
    if (answer.status < 200 || answer.status >= 300) throw httpError(answer, auth.via, 'account');
    if (!isObj(answer.body)) throw unreadable(answer.status, 'account');
    if (answer.body.success === false) {
      throw new AppError(
        'provider_failed',
        `${SERVICE} could not read the account: ${bodyMessage(answer.body) ?? 'no reason given'}.`,
      );
    }
    return answer.body.data ?? answer.body;
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
    return { status: res.status, text, body };
  }
}

/** An error that proves no task exists (the JobService releases its claim; nothing was charged). */
function noTask(
  code: AppError['code'],
  message: string,
  hint: string,
  details: Record<string, unknown>,
  retryable = false,
): AppError {
  return new AppError(code, message, { hint, retryable, details, noTaskCreated: true });
}

function tokenHint(via: Via): string {
  return via === 'gateway'
    ? 'Check GATEWAY_TOKEN (environment or ~/.openclaw/.env). If it is correct, contact support: video generation may have been disabled for your agent.'
    : 'Check SJINN_API_KEY; the key may have been revoked or mistyped.';
}

function urlHint(via: Via): string {
  return via === 'gateway'
    ? 'Check DIRECTOR_GATEWAY_URL (or unset it to use the default).'
    : 'Check SJINN_BASE_URL (or unset it).';
}

/** Finds the task id and the api type the task really has (the gateway may correct agent -> tool). */
function readId(
  body: unknown,
  spec: CreateSpec,
): { id: string; api: ApiType; corrected: boolean } | undefined {
  if (!isObj(body)) return undefined;
  const data = isObj(body.data) ? body.data : {};
  const correctedTo = data._corrected_api ?? body._corrected_api;
  const str = (v: unknown) =>
    typeof v === 'string' && v.trim() ? v.trim() : typeof v === 'number' ? String(v) : undefined;
  const chatId = str(data.chat_id) ?? str(body.chat_id);
  const taskId = str(data.task_id) ?? str(body.task_id);
  if (correctedTo === 'tool' && taskId) return { id: taskId, api: 'tool', corrected: spec.api !== 'tool' };
  if (correctedTo === 'agent' && chatId) return { id: chatId, api: 'agent', corrected: spec.api !== 'agent' };
  if (spec.api === 'agent') {
    if (chatId) return { id: chatId, api: 'agent', corrected: false };
    // [I] An agent create answered with only a task_id is a tool task even without the flag: the id
    // field names the type, and querying it as an agent chat would find nothing.
    if (taskId) return { id: taskId, api: 'tool', corrected: true };
    return undefined;
  }
  return taskId ? { id: taskId, api: 'tool', corrected: false } : undefined;
}

function classifyCreate(answer: Answer, spec: CreateSpec, via: Via): CreateOutcome {
  const { status, body, text } = answer;
  const reasonText = bodyMessage(body);
  const details = { http_status: status };
  if (status === 429 || (saysDailyLimit(body, text) && !readId(body, spec))) {
    const error = noTask('daily_limit', DAILY_LIMIT_MESSAGE, DAILY_LIMIT_HINT, details);
    return { kind: 'fatal', error, reason: 'daily limit reached' };
  }
  // [I] The direct API bills the user's own credits; running out is the same for every model.
  if (
    status === 402 ||
    (/insufficient|not enough (?:credits?|balance)/i.test(reasonText ?? '') && !readId(body, spec))
  ) {
    const error = noTask(
      'insufficient_credits',
      `${SERVICE} has no credits left for this video${reasonText ? ` (${reasonText})` : ''}.`,
      'Top up the account behind your key (or use GATEWAY_TOKEN), then try again. Nothing was charged.',
      details,
    );
    return { kind: 'fatal', error, reason: 'no credits left' };
  }
  if (status >= 200 && status < 300) {
    if (body === undefined) throw unreadable(status, 'create');
    const found = readId(body, spec);
    if (found) return { kind: 'created', ...found };
    const refused =
      isObj(body) && (body.success === false || typeof body.error === 'string' || isObj(body.error));
    if (refused) {
      const reason = reasonText ?? 'the request was refused';
      const error = noTask(
        'provider_failed',
        `${SERVICE} refused to start the video: ${reason}.`,
        'Nothing was charged. Rephrase the prompt or try another model.',
        details,
      );
      return { kind: 'rejected', error, reason };
    }
    const error = noTask(
      'provider_failed',
      `${SERVICE} answered without a task id, so no video was started.`,
      'Nothing is being generated; try again in a minute.',
      details,
    );
    return { kind: 'retry', error, reason: 'no task id in the answer' };
  }
  if (status === 401 || status === 403) {
    const error = noTask(
      'auth',
      `${SERVICE} rejected the access token (HTTP ${status}).`,
      tokenHint(via),
      details,
    );
    return { kind: 'fatal', error, reason: 'token rejected' };
  }
  if (status === 404) {
    const error = noTask('not_found', `${SERVICE} endpoint was not found (HTTP 404).`, urlHint(via), details);
    return { kind: 'fatal', error, reason: 'endpoint not found' };
  }
  if (status === 503) {
    const error = noTask(
      'unavailable',
      `${SERVICE}'s backend is at capacity (HTTP 503)${reasonText ? `: ${reasonText}` : ''}.`,
      'No video was started and nothing was charged. Try again in a few minutes, or use quality "cheap".',
      details,
      true,
    );
    return { kind: 'retry', error, reason: 'backend at capacity' };
  }
  if (status === 502 || status === 504) {
    // A proxy timing out may have passed the request upstream: the task can exist.
    throw new AppError(
      'unavailable',
      `${SERVICE}'s gateway gave up waiting for the backend (HTTP ${status}); the video may or may not have been started.`,
      {
        hint: 'Check the task status before trying again, so you are not charged twice.',
        details: { ...details, sent: true },
      },
    );
  }
  if (status >= 500) {
    if (!isObj(body) || readId(body, spec)) throw unreadable(status, 'create');
    const reason = reasonText ?? 'server error';
    const error = noTask(
      'provider_failed',
      `${SERVICE} hit a server error and did not start the video (HTTP ${status}: ${reason}).`,
      'Nothing was charged; try again in a few minutes.',
      details,
      true,
    );
    return { kind: 'retry', error, reason: 'server error' };
  }
  // Other 4xx: the request itself was refused (bad parameters, unsupported input).
  const reason = reasonText ?? `HTTP ${status}`;
  const error = noTask(
    status === 400 || status === 422 ? 'invalid_input' : 'provider_failed',
    `${SERVICE} refused the request (HTTP ${status}): ${reason}.`,
    'Check the prompt, inputs and options; nothing was charged.',
    details,
  );
  return { kind: 'rejected', error, reason };
}

function unreadable(status: number, what: 'create' | 'status' | 'account'): AppError {
  const tail = what === 'create' ? '; the video may or may not have been started.' : '.';
  return new AppError(
    'provider_failed',
    `${SERVICE} answered the ${what} request with something that is not its API response (HTTP ${status})${tail}`,
    {
      hint:
        what === 'create'
          ? 'Check the task status before trying again, so you are not charged twice.'
          : 'Try again in a minute.',
      retryable: what !== 'create',
      requestSent: true,
      details: { http_status: status },
    },
  );
}

/** Errors for status/account calls (never paid, so the JobService may simply look again later). */
function httpError(answer: Answer, via: Via, what: 'status' | 'account'): AppError {
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
    return new AppError('rate_limited', `${SERVICE} asked to slow down (HTTP 429).`, {
      hint: 'Wait a little before checking again.',
      retryable: true,
      retryAfterMs: 30_000,
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
