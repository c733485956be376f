import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { cliFailure } from '../../../src/cli/output.js';
import { RUN } from '../../../src/cli/run.js';
import { UsageError } from '../../../src/cli/shared.js';
import { AppError, DETAIL_KEYS, ERROR_CODES, type ErrorCode, toUserError } from '../../../src/errors.js';
import { Redactor } from '../../../src/redact.js';
import { errorResult } from '../../../tools/define.js';

const SRC = fileURLToPath(new URL('../../../../src/', import.meta.url));
const SNAPSHOT = fileURLToPath(new URL('../../../../test/snapshots/errors.json', import.meta.url));
const PUBLIC = new Set<string>(DETAIL_KEYS);

test('the boundary passes only the public snake_case detail keys; control flags stay internal', () => {
  const err = new AppError('provider_failed', 'Jogg refused the job.', {
    hint: 'Fix it.',
    details: { provider_code: 40001, http_status: 400, sent: true, exitCode: 1, nemoCode: 2, refused: true },
    noTaskCreated: true,
    requestSent: true,
  });
  const ue = toUserError(err);
  assert.deepEqual(ue.details, { provider_code: 40001, http_status: 400 });
  assert.equal(toUserError(new AppError('timeout', 'slow', { details: { sent: true } })).details, undefined);
  const tool = JSON.parse(toolText(err)) as { error: Record<string, unknown> };
  assert.deepEqual(Object.keys(tool.error).sort(), ['code', 'details', 'hint', 'message']);
  assert.doesNotMatch(JSON.stringify(tool), /"(noTaskCreated|requestSent|sent|exitCode|nemoCode|refused)"/);
});

/** Detail keys written as literals in src/ that are not public yet, by file (owned by other areas). */
const KNOWN_PRIVATE: Record<string, string[]> = {};

test('every detail key written in src/ is public (the known exceptions are dropped at the boundary)', () => {
  const found: Record<string, string[]> = {};
  for (const file of sourceFiles(SRC)) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/\bdetails(?::|\s*=)\s*\{([^{}]*)\}/g)) {
      const keys = [...m[1]!.matchAll(/(?:^|,)\s*([A-Za-z_]\w*)\s*(?=[:,]|$)/g)].map((k) => k[1]!);
      const bad = keys.filter((k) => !PUBLIC.has(k) && !/^(details|d|e)$/.test(k));
      if (bad.length)
        found[file.slice(SRC.length)] = [...new Set([...(found[file.slice(SRC.length)] ?? []), ...bad])];
    }
  }
  assert.ok(Object.keys(found).length <= Object.keys(KNOWN_PRIVATE).length);
  assert.deepEqual(
    found,
    KNOWN_PRIVATE,
    'details keys must be snake_case and listed in DETAIL_KEY_DOCS (src/errors.ts); shrink KNOWN_PRIVATE when one is fixed',
  );
});

/** A representative error of every code, with the details that code typically carries. */
const SAMPLES: Record<ErrorCode, AppError | Error> = {
  missing_credentials: new AppError('missing_credentials', 'JOGG_API_KEY is not set.', {
    hint: 'Get a key at https://www.jogg.ai/api-pricing/ and set JOGG_API_KEY.',
    details: { missing_key: 'JOGG_API_KEY' },
    noTaskCreated: true,
  }),
  auth: new AppError('auth', 'Jogg refused the API key.', {
    hint: 'Check JOGG_API_KEY.',
    details: { provider_code: 10104, http_status: 200 },
  }),
  insufficient_credits: new AppError('insufficient_credits', 'Not enough Jogg credits.', {
    hint: 'Top up.',
    details: { provider_code: 10105, http_status: 200 },
  }),
  plan_required: new AppError('plan_required', 'This needs a paid plan.', {
    hint: 'Upgrade.',
    details: { http_status: 402 },
  }),
  rate_limited: new AppError('rate_limited', 'Too many requests.', {
    hint: 'Wait 30 s.',
    retryable: true,
    retryAfterMs: 30_000,
    details: { http_status: 429 },
  }),
  daily_limit: new AppError('daily_limit', 'Daily limit reached.', {
    hint: 'Tomorrow.',
    details: { http_status: 429, api: 'veo3' },
  }),
  invalid_input: new UsageError(RUN, 'Unknown option --bogus for `run`.', '--bogus'),
  not_found: new AppError('not_found', 'No task abc.', { hint: 'list_tasks.', details: { task_id: 'abc' } }),
  provider_failed: new AppError('provider_failed', 'The render failed.', {
    hint: 'Try again with force_recreate.',
    details: { task_id: 't1', charged: false, models_tried: ['veo3', 'sora2'] },
  }),
  unavailable: new AppError('unavailable', 'Could not reach Jogg (ECONNREFUSED).', {
    hint: 'Check the network.',
    retryable: true,
    details: { transport: 'ECONNREFUSED' },
    requestSent: false,
  }),
  timeout: new AppError('timeout', 'The stream stopped.', {
    hint: 'Check status.',
    details: { stream: 'aborted' },
  }),
  cancelled: new AppError('cancelled', 'Cancelled at the client request: the local job was stopped.', {
    hint: 'Send the same request again to run it again (free).',
    details: { task_id: 't1' },
  }),
  conflict: new AppError('conflict', 'The session is busy.', {
    hint: 'Wait.',
    details: { session_id: 's1' },
  }),
  unsupported: new AppError('unsupported', 'Jogg does not take an image.', {
    hint: 'Use director.',
    details: { role: 'image', file: 'face.png' },
  }),
  spend_cap: new AppError('spend_cap', 'This job would pass the daily cap.', {
    hint: 'Raise LIPSYNC_CAP_PAID_CREATES_PER_DAY.',
    details: { setting: 'LIPSYNC_CAP_PAID_CREATES_PER_DAY' },
    noTaskCreated: true,
  }),
  confirmation_required: new AppError('confirmation_required', 'This paid job needs confirmation.', {
    hint: 'Ask the user, then call again with confirm: true.',
    noTaskCreated: true,
  }),
  declined: new AppError('declined', 'The user declined; nothing was created.', {
    hint: 'Do not call again unless asked.',
    noTaskCreated: true,
  }),
  internal: new TypeError('x is undefined'),
};

function toolText(err: unknown): string {
  const log = pino({ level: 'silent' });
  const r = errorResult(err, { redactor: new Redactor(), log }, 'create_lip_sync');
  return (r.content[0] as { text: string }).text;
}

test('the error shape of every code matches test/snapshots/errors.json', () => {
  assert.deepEqual(Object.keys(SAMPLES).sort(), Object.keys(ERROR_CODES).sort(), 'a sample for every code');
  const actual = {
    codes: Object.keys(ERROR_CODES),
    detail_keys: [...DETAIL_KEYS],
    errors: Object.fromEntries(
      Object.entries(SAMPLES).map(([code, err]) => {
        const f = cliFailure(err, undefined);
        return [
          code,
          { tool: JSON.parse(toolText(err)), cli: { stderr_json: f.json, exit_code: f.exitCode } },
        ];
      }),
    ),
  };
  for (const [code, e] of Object.entries(actual.errors)) assert.equal(e.tool.error.code, code);
  const text = `${JSON.stringify(actual, null, 2)}\n`;
  if (process.env.UPDATE_SNAPSHOTS === '1') {
    writeFileSync(SNAPSHOT, text);
    return;
  }
  let expected: string;
  try {
    expected = readFileSync(SNAPSHOT, 'utf8');
  } catch {
    assert.fail(`No snapshot at ${SNAPSHOT}. Set UPDATE_SNAPSHOTS=1 to write it deliberately.`);
  }
  assert.deepEqual(
    actual,
    JSON.parse(expected),
    'The public error contract changed. If intended, rerun with UPDATE_SNAPSHOTS=1, run `npm run docs`, and commit both.',
  );
});

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}
