/**
 * The Director's create classification is a table (`CREATE_RULES`): each row is keyed by HTTP status and
 * by what the body says, and the first matching row decides. Each row is exercised here, and the last
 * test checks that no row went untested.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { AppError } from '../../../src/errors.js';
import type { ApiType } from '../../../src/providers/director/api.js';
import type { CreateSpec } from '../../../src/providers/director/choice.js';
import {
  type Answer,
  CREATE_RULES,
  classifyCreate,
  createRuleFor,
} from '../../../src/providers/director/classify.js';

const AGENT: CreateSpec = { api: 'agent', model: 'auto', label: 'auto', message: 'm', quality: 'quality' };
const TOOL: CreateSpec = { api: 'tool', model: 'veo3', label: 'Veo3', tool_type: 'veo3', input: {} };

const hit = new Set<string>();

function answer(status: number, body: unknown, text?: string, retryAfter?: string): Answer {
  const raw = text ?? (body === undefined ? '' : JSON.stringify(body));
  return { status, text: raw, body, ...(retryAfter === undefined ? {} : { retryAfter }) };
}

const NOW = Date.parse('2025-03-01T10:00:00Z');

/** The outcome, or `{ thrown }` when the answer can't prove whether a task exists. */
function decide(a: Answer, spec: CreateSpec = AGENT) {
  hit.add(createRuleFor(a, spec).name);
  try {
    return classifyCreate(a, spec, 'gateway', NOW);
  } catch (err) {
    assert.ok(err instanceof AppError, 'only AppErrors are thrown');
    return { kind: 'thrown' as const, error: err };
  }
}

function expectNoTask(a: Answer, kind: 'retry' | 'rejected' | 'fatal', code: string, spec = AGENT) {
  const out = decide(a, spec);
  if (out.kind !== kind) assert.fail(`${JSON.stringify(a)}: ${out.kind}, expected ${kind}`);
  if (!('error' in out)) throw new Error('unreachable');
  assert.equal(out.error.code, code);
  assert.equal(out.error.noTaskCreated, true, 'a classified refusal proves no task');
  assert.equal(out.error.details?.http_status, a.status);
  return out;
}

function expectUnknown(a: Answer, spec = AGENT) {
  const out = decide(a, spec);
  if (out.kind !== 'thrown') assert.fail(`${JSON.stringify(a)}: ${out.kind}, expected a throw`);
  assert.notEqual(out.error.noTaskCreated, true, 'a task may exist: never resend');
  assert.ok(/check the task status/i.test(out.error.hint ?? ''), out.error.hint);
  return out.error;
}

function expectCreated(a: Answer, spec: CreateSpec, id: string, api: ApiType, corrected: boolean) {
  assert.deepEqual(decide(a, spec), { kind: 'created', id, api, corrected });
}

describe('director create classification table', () => {
  after(() => {
    const names = CREATE_RULES.map((r) => r.name);
    assert.equal(new Set(names).size, names.length, 'row names are unique');
    assert.deepEqual(
      names.filter((n) => !hit.has(n)),
      [],
      'every row of the table is exercised',
    );
  });

  it('daily limit named in the body, at any status, unless an id came back', () => {
    const e = expectNoTask(answer(200, { error: 'video_limit_reached' }), 'fatal', 'daily_limit');
    assert.match(e.error.hint ?? '', /Starter 5/);
    expectNoTask(answer(500, { message: 'Daily video limit hit' }), 'fatal', 'daily_limit');
    expectCreated(
      answer(200, { data: { chat_id: 'c1' }, note: 'daily limit near' }),
      AGENT,
      'c1',
      'agent',
      false,
    );
  });

  it('HTTP 429 naming the daily limit is the daily limit', () => {
    expectNoTask(answer(429, { error: 'video_limit_reached' }), 'fatal', 'daily_limit');
    expectNoTask(answer(429, undefined, 'video_limit_reached'), 'fatal', 'daily_limit');
  });

  it('any other HTTP 429 is rate_limited, with the wait from Retry-After (seconds or an HTTP date)', () => {
    const body = { error: 'too_many_requests', message: 'too many requests, retry after 20 s' };
    const secs = expectNoTask(answer(429, body, undefined, '20'), 'fatal', 'rate_limited');
    assert.equal(secs.error.retryAfterMs, 20_000);
    assert.equal(secs.error.retryable, true);
    assert.match(secs.error.message, /20 s/);
    assert.doesNotMatch(`${secs.error.message} ${secs.error.hint}`, /midnight|daily/i);
    const date = new Date(NOW + 45_000).toUTCString();
    const dated = expectNoTask(answer(429, body, undefined, date), 'fatal', 'rate_limited');
    assert.equal(dated.error.retryAfterMs, 45_000);
    assert.match(dated.error.message, /45 s/);
    // No Retry-After: a wait is still given (the gateway's own advice for a busy backend).
    const bare = expectNoTask(answer(429, undefined, 'Too Many Requests'), 'fatal', 'rate_limited');
    assert.ok((bare.error.retryAfterMs ?? 0) > 0);
    // "rate_limit_reached" is not the daily limit either.
    expectNoTask(answer(429, { error: 'rate_limit_reached' }, undefined, '5'), 'fatal', 'rate_limited');
    expectNoTask(answer(429, { data: { chat_id: 'c1' } }), 'fatal', 'rate_limited');
  });

  it('no credits named in the body', () => {
    const out = expectNoTask(
      answer(200, { success: false, errorMsg: 'Insufficient credits' }),
      'fatal',
      'insufficient_credits',
    );
    assert.match(out.error.message, /no credits left.*Insufficient credits/);
    expectNoTask(answer(400, { message: 'not enough balance' }), 'fatal', 'insufficient_credits');
  });

  it('HTTP 402 is no credits', () => {
    expectNoTask(answer(402, undefined, ''), 'fatal', 'insufficient_credits');
  });

  it('2xx with an id: created, with the api type the id names', () => {
    expectCreated(answer(200, { data: { chat_id: 'c1' } }), AGENT, 'c1', 'agent', false);
    expectCreated(answer(200, { data: { task_id: 42 } }), TOOL, '42', 'tool', false);
    expectCreated(answer(201, { task_id: ' t1 ' }), TOOL, 't1', 'tool', false);
    expectCreated(
      answer(200, { _corrected_api: 'tool', data: { task_id: 't2' } }),
      AGENT,
      't2',
      'tool',
      true,
    );
    expectCreated(
      answer(200, { data: { _corrected_api: 'tool', task_id: 't3' } }),
      AGENT,
      't3',
      'tool',
      true,
    );
    expectCreated(answer(200, { data: { task_id: 't4' } }), AGENT, 't4', 'tool', true);
    expectCreated(
      answer(200, { success: true, errorMsg: '', error_code: 0, data: { chat_id: 'c2' } }),
      AGENT,
      'c2',
      'agent',
      false,
    );
  });

  it('2xx that is not JSON: unknown (the task may exist)', () => {
    expectUnknown(answer(200, undefined, '<html>ok</html>'));
    expectUnknown(answer(200, undefined, ''));
  });

  it('2xx refusal (success:false or an error field): rejected, another model may work', () => {
    const out = expectNoTask(
      answer(200, { success: false, errorMsg: 'prompt rejected' }),
      'rejected',
      'provider_failed',
    );
    assert.match(out.error.message, /refused to start the video: prompt rejected/);
    expectNoTask(answer(200, { error: 'bad prompt' }), 'rejected', 'provider_failed');
    expectNoTask(answer(200, { error: { message: 'bad prompt' } }), 'rejected', 'provider_failed');
  });

  it('2xx without an id or a reason: a failed submission, safe to send again', () => {
    expectNoTask(answer(200, { data: {} }), 'retry', 'provider_failed');
    expectNoTask(answer(200, { data: { chat_id: '' } }), 'retry', 'provider_failed');
    expectNoTask(answer(200, []), 'retry', 'provider_failed');
  });

  it('HTTP 401 / 403: the token, fatal', () => {
    expectNoTask(answer(401, { error: 'unauthorized' }), 'fatal', 'auth');
    const out = expectNoTask(answer(403, undefined, 'Forbidden'), 'fatal', 'auth');
    assert.match(out.error.hint ?? '', /GATEWAY_TOKEN/);
  });

  it('HTTP 404: the endpoint, fatal', () => {
    const out = expectNoTask(answer(404, undefined, 'Not Found'), 'fatal', 'not_found');
    assert.match(out.error.hint ?? '', /DIRECTOR_GATEWAY_URL/);
  });

  it('HTTP 502 / 504: a proxy gave up, the backend may have the task', () => {
    assert.equal(expectUnknown(answer(502, undefined, 'Bad Gateway')).code, 'unavailable');
    assert.equal(expectUnknown(answer(504, { data: { chat_id: 'c1' } })).code, 'unavailable');
  });

  it('5xx carrying an id: unknown, never resent (a task may exist)', () => {
    expectUnknown(answer(503, { data: { task_id: 't9' } }), TOOL);
    expectUnknown(answer(500, { data: { chat_id: 'c9' } }));
  });

  it('HTTP 503: at capacity, retried (whatever the body, when it carries no id)', () => {
    const out = expectNoTask(answer(503, { error: 'service_unavailable' }), 'retry', 'unavailable');
    assert.match(out.error.message, /at capacity/);
    assert.equal(out.error.retryable, true);
    expectNoTask(answer(503, undefined, '<html>busy</html>'), 'retry', 'unavailable');
  });

  it('other 5xx that is not a JSON object: unknown', () => {
    expectUnknown(answer(500, undefined, '<html>error</html>'));
    expectUnknown(answer(500, ['x']));
  });

  it('other 5xx with a JSON body and no id: a server error, retried', () => {
    const out = expectNoTask(answer(500, { success: false, error: 'oops' }), 'retry', 'provider_failed');
    assert.match(out.error.message, /server error.*HTTP 500: oops/);
    assert.equal(out.error.retryable, true);
  });

  it('HTTP 400 / 422: the request itself, rejected as invalid input', () => {
    expectNoTask(answer(400, { errorMsg: 'bad aspect ratio' }), 'rejected', 'invalid_input');
    expectNoTask(answer(422, undefined, ''), 'rejected', 'invalid_input');
  });

  it('anything else: refused, rejected', () => {
    const out = expectNoTask(answer(418, undefined, ''), 'rejected', 'provider_failed');
    assert.match(out.error.message, /HTTP 418/);
    expectNoTask(answer(302, undefined, ''), 'rejected', 'provider_failed');
  });
});
