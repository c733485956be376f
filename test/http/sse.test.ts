import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { AppError } from '../../src/errors.js';
import { readSseJson, type SseEvent } from '../../src/http/sse.js';

async function firstError(gen: AsyncGenerator<SseEvent>): Promise<{ events: SseEvent[]; error?: unknown }> {
  const events: SseEvent[] = [];
  try {
    for await (const e of gen) events.push(e);
    return { events };
  } catch (error) {
    return { events, error };
  }
}

// The real-clock path (no injected timer). The limits are a few ms so the stop comes at once; the test
// waits for the stop itself and asserts no duration.
test('on the real clock the ceiling is an AbortSignal.timeout, and stops a stream that never ends', async (t) => {
  const real = AbortSignal.timeout.bind(AbortSignal);
  const asked: number[] = [];
  t.mock.method(AbortSignal, 'timeout', (ms: number) => {
    asked.push(ms);
    return real(ms);
  });
  const body = new PassThrough();
  body.write('data: {"n":1}\n\n');
  const { events, error } = await firstError(
    readSseJson(body, { service: 'Test', maxDurationMs: 5, idleTimeoutMs: 600_000 }),
  );
  assert.deepEqual(asked, [5]);
  assert.deepEqual(events, [{ n: 1 }]);
  assert.ok(error instanceof AppError);
  assert.equal(error.details?.stream, 'ceiling');
  assert.ok(body.destroyed, 'the body is released');
});

test('on the real clock a silent stream stops as idle; an external abort reads as cancelled', async () => {
  const silent = new PassThrough();
  const idle = await firstError(
    readSseJson(silent, { service: 'Test', idleTimeoutMs: 5, maxDurationMs: 600_000 }),
  );
  assert.ok(idle.error instanceof AppError);
  assert.equal(idle.error.details?.stream, 'idle');

  const ctl = new AbortController();
  ctl.abort();
  const cancelled = await firstError(readSseJson(new PassThrough(), { service: 'Test', signal: ctl.signal }));
  assert.ok(cancelled.error instanceof AppError);
  assert.equal(cancelled.error.details?.stream, 'aborted');
});
