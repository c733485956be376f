/**
 * What a create answer proves, as a table. The question behind every row is "could a task exist now?":
 * - `created`: we have its id.
 * - `retry`: the answer proves no task and says the failure is transient (503, a JSON 500 without an id,
 *   a 2xx without an id or reason) — safe to send again.
 * - `rejected`: the backend refused on purpose (success:false, 4xx); another model may still work.
 * - `fatal`: no task, and sending again or to another model can't help now (401/403/404/429/402).
 * - `unknown` (thrown): the request may have been accepted (502/504 from a proxy whose upstream may have
 *   the task, an unreadable answer, an id in an error answer). The JobService marks those `unknown`.
 *
 * Each row is keyed by HTTP status and by what the body says ({@link BodyCode}); the first match wins.
 */
import { AppError } from '../../errors.js';
import { retryAfterMs } from '../../http/client.js';
import type { CreateSpec } from './choice.js';
import { DAILY_LIMIT_HINT, DAILY_LIMIT_MESSAGE, SERVICE, tokenHint, urlHint } from './text.js';
import type { ApiType, CreateOutcome, Via } from './types.js';
import { bodyMessage, readEnvelope, saysDailyLimit, saysRefused } from './wire.js';

/** One HTTP answer: its status, raw text (bounded), and the parsed JSON (undefined when not JSON). */
export interface Answer {
  status: number;
  text: string;
  body: unknown;
  /** The Retry-After header as sent (seconds or an HTTP date), if any. */
  retryAfter?: string;
}

/** What the body says, in order of precedence (an id beats any wording). */
export type BodyCode = 'id' | 'daily_limit' | 'no_credits' | 'not_json' | 'not_object' | 'refused' | 'no_id';

type StatusKey = number | '2xx' | '5xx' | 'any';

interface Facts {
  status: number;
  code: BodyCode;
  found: { id: string; api: ApiType; corrected: boolean } | undefined;
  /** The backend's own words (scrubbed), if any. */
  reason: string | undefined;
  via: Via;
  /** How long the answer asks us to wait (Retry-After), when it says. */
  waitMs: number | undefined;
}

type Decision = CreateOutcome | { kind: 'unknown'; error: AppError };

export interface CreateRule {
  name: string;
  status: StatusKey[];
  code: BodyCode[] | 'any';
  decide(f: Facts): Decision;
}

const NO_CREDITS = /insufficient|not enough (?:credits?|balance)/i;

/** Finds the task id and the api type the task really has (the gateway may correct agent -> tool). */
export function readId(
  body: unknown,
  spec: CreateSpec,
): { id: string; api: ApiType; corrected: boolean } | undefined {
  const env = readEnvelope(body);
  if (!env) return undefined;
  const correctedTo = env.data?._corrected_api ?? env._corrected_api;
  const chatId = env.data?.chat_id ?? env.chat_id;
  const taskId = env.data?.task_id ?? env.task_id;
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

function factsOf(answer: Answer, spec: CreateSpec, via: Via, now: number): Facts {
  const { status, body, text } = answer;
  const env = readEnvelope(body);
  const found = readId(body, spec);
  const reason = bodyMessage(body);
  let code: BodyCode;
  if (found) code = 'id';
  else if (saysDailyLimit(body, text)) code = 'daily_limit';
  else if (NO_CREDITS.test(reason ?? '')) code = 'no_credits';
  else if (body === undefined) code = 'not_json';
  else if (!env) code = 'not_object';
  else if (saysRefused(env)) code = 'refused';
  else code = 'no_id';
  return { status, code, found, reason, via, waitMs: retryAfterMs(answer.retryAfter, now) };
}

/** An error that proves no task exists (the JobService releases its claim; nothing was charged). */
function noTask(f: Facts, code: AppError['code'], message: string, hint: string, retryable = false) {
  return new AppError(code, message, {
    hint,
    retryable,
    details: { http_status: f.status },
    noTaskCreated: true,
  });
}

const dailyLimit = (f: Facts): Decision => ({
  kind: 'fatal',
  reason: 'daily limit reached',
  error: noTask(f, 'daily_limit', DAILY_LIMIT_MESSAGE, DAILY_LIMIT_HINT),
});

/** The gateway's wait when a 429 gives none (providers.md: NemoVideo's advice for its 429 is 30 s). */
const DEFAULT_RATE_WAIT_MS = 30_000;

/**
 * A 429 that does not name the daily limit: too many requests right now. No task was made; the wait is
 * the answer's Retry-After. Not retried here (a create call must answer within the agent's budget) and
 * not a reason to try another model (the same account is rate limited on every model).
 */
const rateLimited = (f: Facts): Decision => {
  const waitMs = f.waitMs ?? DEFAULT_RATE_WAIT_MS;
  const secs = Math.max(1, Math.ceil(waitMs / 1000));
  const error = new AppError(
    'rate_limited',
    `${SERVICE} is receiving too many requests (HTTP 429${f.reason ? `: ${f.reason}` : ''}); try again in ${secs} s.`,
    {
      hint: `No video was started and nothing was charged. Wait ${secs} s, then make the same call again.`,
      retryable: true,
      retryAfterMs: waitMs,
      details: { http_status: f.status },
      noTaskCreated: true,
    },
  );
  return { kind: 'fatal', reason: 'rate limited', error };
};

// [I] The direct API bills the user's own credits; running out is the same for every model.
const noCredits = (f: Facts): Decision => ({
  kind: 'fatal',
  reason: 'no credits left',
  error: noTask(
    f,
    'insufficient_credits',
    `${SERVICE} has no credits left for this video${f.reason ? ` (${f.reason})` : ''}.`,
    'Top up the account behind your key (or use GATEWAY_TOKEN), then try again. Nothing was charged.',
  ),
});

const unreadableCreate = (f: Facts): Decision => ({ kind: 'unknown', error: unreadable(f.status, 'create') });

/** The table. Order matters: the first row whose status and body code match decides. */
export const CREATE_RULES: readonly CreateRule[] = [
  { name: 'daily limit in the body', status: ['any'], code: ['daily_limit'], decide: dailyLimit },
  { name: 'HTTP 429 without the daily limit', status: [429], code: 'any', decide: rateLimited },
  { name: 'no credits in the body', status: ['any'], code: ['no_credits'], decide: noCredits },
  { name: 'HTTP 402', status: [402], code: 'any', decide: noCredits },
  {
    name: '2xx with an id',
    status: ['2xx'],
    code: ['id'],
    decide: (f) => ({ kind: 'created', ...(f.found as NonNullable<Facts['found']>) }),
  },
  { name: '2xx not JSON', status: ['2xx'], code: ['not_json'], decide: unreadableCreate },
  {
    name: '2xx refusal',
    status: ['2xx'],
    code: ['refused'],
    decide: (f) => {
      const reason = f.reason ?? 'the request was refused';
      const message = `${SERVICE} refused to start the video: ${reason}.`;
      const hint = 'Nothing was charged. Rephrase the prompt or try another model.';
      return { kind: 'rejected', reason, error: noTask(f, 'provider_failed', message, hint) };
    },
  },
  {
    name: '2xx without an id',
    status: ['2xx'],
    code: 'any',
    decide: (f) => ({
      kind: 'retry',
      reason: 'no task id in the answer',
      error: noTask(
        f,
        'provider_failed',
        `${SERVICE} answered without a task id, so no video was started.`,
        'Nothing is being generated; try again in a minute.',
      ),
    }),
  },
  {
    name: 'HTTP 401/403',
    status: [401, 403],
    code: 'any',
    decide: (f) => ({
      kind: 'fatal',
      reason: 'token rejected',
      error: noTask(f, 'auth', `${SERVICE} rejected the access token (HTTP ${f.status}).`, tokenHint(f.via)),
    }),
  },
  {
    name: 'HTTP 404',
    status: [404],
    code: 'any',
    decide: (f) => ({
      kind: 'fatal',
      reason: 'endpoint not found',
      error: noTask(f, 'not_found', `${SERVICE} endpoint was not found (HTTP 404).`, urlHint(f.via)),
    }),
  },
  {
    // A proxy timing out may have passed the request upstream: the task can exist.
    name: 'HTTP 502/504',
    status: [502, 504],
    code: 'any',
    decide: (f) => ({
      kind: 'unknown',
      error: new AppError(
        'unavailable',
        `${SERVICE}'s gateway gave up waiting for the backend (HTTP ${f.status}); the video may or may not have been started.`,
        {
          hint: 'Check the task status before trying again, so you are not charged twice.',
          details: { http_status: f.status },
          requestSent: true,
        },
      ),
    }),
  },
  // An error status that still names a task contradicts itself; the task may exist, so never resend.
  { name: '5xx with an id', status: ['5xx'], code: ['id'], decide: unreadableCreate },
  {
    name: 'HTTP 503',
    status: [503],
    code: 'any',
    decide: (f) => ({
      kind: 'retry',
      reason: 'backend at capacity',
      error: noTask(
        f,
        'unavailable',
        `${SERVICE}'s backend is at capacity (HTTP 503)${f.reason ? `: ${f.reason}` : ''}.`,
        'No video was started and nothing was charged. Try again in a few minutes, or use quality "cheap".',
        true,
      ),
    }),
  },
  {
    name: '5xx not a JSON object',
    status: ['5xx'],
    code: ['not_json', 'not_object'],
    decide: unreadableCreate,
  },
  {
    name: '5xx JSON without an id',
    status: ['5xx'],
    code: 'any',
    decide: (f) => ({
      kind: 'retry',
      reason: 'server error',
      error: noTask(
        f,
        'provider_failed',
        `${SERVICE} hit a server error and did not start the video (HTTP ${f.status}: ${f.reason ?? 'server error'}).`,
        'Nothing was charged; try again in a few minutes.',
        true,
      ),
    }),
  },
  {
    name: 'HTTP 400/422',
    status: [400, 422],
    code: 'any',
    decide: (f) => refusedRequest(f, 'invalid_input'),
  },
  {
    name: 'any other status',
    status: ['any'],
    code: 'any',
    decide: (f) => refusedRequest(f, 'provider_failed'),
  },
];

/** Other 4xx: the request itself was refused (bad parameters, unsupported input). */
function refusedRequest(f: Facts, code: AppError['code']): Decision {
  const reason = f.reason ?? `HTTP ${f.status}`;
  const message = `${SERVICE} refused the request (HTTP ${f.status}): ${reason}.`;
  const hint = 'Check the prompt, inputs and options; nothing was charged.';
  return { kind: 'rejected', reason, error: noTask(f, code, message, hint) };
}

function statusMatches(key: StatusKey, status: number): boolean {
  if (key === 'any') return true;
  if (key === '2xx') return status >= 200 && status < 300;
  if (key === '5xx') return status >= 500 && status < 600;
  return key === status;
}

function ruleOf(f: Facts): CreateRule {
  const rule = CREATE_RULES.find(
    (r) => r.status.some((k) => statusMatches(k, f.status)) && (r.code === 'any' || r.code.includes(f.code)),
  );
  // The last row matches everything; this only guards against an edit that removes it.
  if (!rule) throw new AppError('internal', `No rule for a ${SERVICE} create answer (HTTP ${f.status}).`);
  return rule;
}

/** The row that decides this answer (for tests and logs). */
export function createRuleFor(answer: Answer, spec: CreateSpec, via: Via = 'gateway'): CreateRule {
  return ruleOf(factsOf(answer, spec, via, 0));
}

/** Classifies one create answer; throws when the answer can't prove whether a task exists. */
export function classifyCreate(answer: Answer, spec: CreateSpec, via: Via, now: number): CreateOutcome {
  const facts = factsOf(answer, spec, via, now);
  const decision = ruleOf(facts).decide(facts);
  if (decision.kind === 'unknown') throw decision.error;
  return decision;
}

/** An answer that is not the API's: for a create, the task may or may not exist. */
export function unreadable(status: number, what: 'create' | 'status' | 'account'): AppError {
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
