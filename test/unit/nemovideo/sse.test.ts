import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { abortError, type Clock } from '../../../src/clock.js';
import { AppError } from '../../../src/errors.js';
import { readSseJson, type SseEvent } from '../../../src/http/sse.js';
import { createLogger } from '../../../src/logger.js';
import { Redactor } from '../../../src/redact.js';
import { LogCapture } from './helpers.js';

/** A timer whose sleeps only end when the test fires them. */
class ManualTimer implements Clock {
  pending: { ms: number; resolve: () => void }[] = [];
  now = () => 0;
  sleep = (ms: number, signal?: AbortSignal) =>
    new Promise<void>((resolve, reject) => {
      const entry = { ms, resolve };
      this.pending.push(entry);
      signal?.addEventListener(
        'abort',
        () => {
          this.pending = this.pending.filter((p) => p !== entry);
          reject(abortError());
        },
        { once: true },
      );
    });
  fire(ms: number) {
    for (const p of this.pending.filter((x) => x.ms === ms)) p.resolve();
  }
}

const IDLE = 1_000;
const CEILING = 60_000;

function setup() {
  const timer = new ManualTimer();
  const body = new PassThrough();
  const logs = new LogCapture();
  const log = createLogger('debug', new Redactor(), logs);
  const gen = readSseJson(body, { service: 'Test', timer, idleTimeoutMs: IDLE, maxDurationMs: CEILING, log });
  return { timer, body, logs, gen };
}

async function collect(gen: AsyncGenerator<SseEvent>): Promise<{ events: SseEvent[]; error?: unknown }> {
  const events: SseEvent[] = [];
  try {
    for await (const e of gen) events.push(e);
    return { events };
  } catch (error) {
    return { events, error };
  }
}

const tick = () => new Promise((r) => setImmediate(r));

describe('readSseJson', () => {
  it('yields JSON events, skips keep-alives and malformed lines, ends when the stream closes', async () => {
    const { body, logs, gen } = setup();
    const done = collect(gen);
    body.write('data: {"type":"heartbeat"}\n\n');
    body.write('data:\n\n: comment\n\n');
    body.write('data: {"type":"text","te');
    body.write('xt":"hello"}\n\ndata: {not json\n\n');
    body.write('event: heartbeat\ndata: {"x":1}\n\n');
    body.write('data: {"type":"tool_call","name":"cut"}\n\n');
    body.end('data: {"type":"text","text":"last, no blank line"}');
    const { events, error } = await done;
    assert.equal(error, undefined);
    assert.deepEqual(events, [
      { type: 'text', text: 'hello' },
      { type: 'tool_call', name: 'cut' },
      { type: 'text', text: 'last, no blank line' },
    ]);
    assert.match(logs.text(), /skipped a malformed stream event/);
    assert.doesNotMatch(logs.text(), /not json/, 'malformed content itself is not logged');
  });

  it('stops with a timeout when the stream goes idle, and releases the body', async () => {
    const { timer, body, gen } = setup();
    const done = collect(gen);
    body.write('data: {"n":1}\n\n');
    await tick();
    timer.fire(IDLE);
    const { events, error } = await done;
    assert.deepEqual(events, [{ n: 1 }]);
    assert.ok(error instanceof AppError);
    assert.equal(error.code, 'timeout');
    assert.equal(error.details?.stream, 'idle');
    assert.ok(body.destroyed);
  });

  it('heartbeats count as activity: each one re-arms the idle timer', async () => {
    const { timer, body, gen } = setup();
    const done = collect(gen);
    await tick();
    assert.equal(timer.pending.filter((p) => p.ms === IDLE).length, 1);
    for (let i = 0; i < 3; i++) {
      body.write('data: {"type":"heartbeat"}\n\n');
      await tick();
    }
    // Only the newest idle sleep remains; the earlier ones were cancelled.
    assert.equal(timer.pending.filter((p) => p.ms === IDLE).length, 1);
    body.end();
    const { events, error } = await done;
    assert.equal(error, undefined);
    assert.deepEqual(events, []);
    assert.equal(timer.pending.length, 0, 'all timers released at the end');
  });

  it('stops at the overall ceiling even while events keep coming', async () => {
    const { timer, body, gen } = setup();
    const done = collect(gen);
    body.write('data: {"n":1}\n\n');
    await tick();
    timer.fire(CEILING);
    const { error } = await done;
    assert.ok(error instanceof AppError);
    assert.equal(error.details?.stream, 'ceiling');
  });

  it('a broken stream throws an unavailable error (never a crash)', async () => {
    const { body, gen } = setup();
    const done = collect(gen);
    body.write('data: {"n":1}\n\n');
    await tick();
    body.destroy(Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }));
    const { events, error } = await done;
    assert.deepEqual(events, [{ n: 1 }]);
    assert.ok(error instanceof AppError);
    assert.equal(error.code, 'unavailable');
    assert.match(error.message, /UND_ERR_SOCKET/);
  });

  it('honours an external abort signal', async () => {
    const timer = new ManualTimer();
    const body = new PassThrough();
    const ctl = new AbortController();
    const done = collect(readSseJson(body, { service: 'Test', timer, signal: ctl.signal }));
    await tick();
    ctl.abort();
    const { error } = await done;
    assert.ok(error instanceof AppError);
    assert.equal(error.details?.stream, 'aborted');
    assert.equal(timer.pending.length, 0);
  });
});
