/**
 * NemoVideo chat tasks end true: a clean stream close is not a result until the video is in the session
 * state, and a message whose answer was lost is found again from that state. The paid message is never
 * sent twice.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type FakeNemo, startFakeNemo } from '../fakes/nemovideo/index.js';
import { type Harness, harness, structured, testEnv } from '../helpers/app.js';
import { makePair } from '../helpers/clips.js';

type View = {
  task_id: string;
  status: string;
  result_url?: string;
  message?: string;
  extra?: { session_id?: string };
  error?: { message: string };
  next_step: string;
};

async function view(h: Harness, taskId: string, waitSeconds = 50): Promise<View> {
  return structured<View>(await h.call('get_task_status', { task_id: taskId, wait_seconds: waitSeconds }));
}

/** Follows a task until `until`, recording every status seen. */
async function follow(h: Harness, taskId: string, seen: string[] = [], until = isFinal): Promise<View> {
  let v = await view(h, taskId);
  seen.push(v.status);
  for (let i = 0; i < 10 && !until(v); i++) {
    v = await view(h, taskId);
    seen.push(v.status);
  }
  return v;
}

function isFinal(v: View): boolean {
  return v.status === 'success' || v.status === 'failed';
}

describe('NemoVideo chat results through MCP', () => {
  let fake: FakeNemo;
  before(async () => {
    fake = await startFakeNemo();
  });
  after(async () => {
    await fake.close();
    assert.deepEqual(fake.state.unexpected, [], 'no unexpected routes');
  });

  function reset() {
    fake.faults.mediaAfterStateReads = undefined;
    fake.faults.loseRunSseAnswer = false;
  }

  test('a stream that closes before the video is in the state: processing, then success with the URL', async () => {
    const env = testEnv({ NEMO_BASE_URL: fake.url });
    const h = await harness(env.env);
    try {
      const { video, audio } = await makePair(env.work, 41);
      const sse0 = fake.state.runSseCalls;
      const streams0 = fake.state.streams.length;
      fake.faults.mediaAfterStateReads = 3;
      const first = structured<View>(
        await h.call('create_lip_sync', { video, audio, provider: 'nemovideo' }),
      );
      const seen: string[] = [];
      const done = await follow(h, first.task_id, seen);
      assert.equal(done.status, 'success');
      assert.match(done.result_url ?? '', /lipsync-1\.mp4$/, 'a success carries its result URL');
      assert.deepEqual(fake.state.streams.slice(streams0), ['closed']);
      assert.equal(fake.state.runSseCalls - sse0, 1, 'the message was sent once');
    } finally {
      reset();
      await h.close();
      env.cleanup();
    }
  });

  test('a video that never appears: processing until the ceiling, then failed with advice; never resent', async () => {
    const env = testEnv({ NEMO_BASE_URL: fake.url });
    const h = await harness(env.env);
    try {
      const { video, audio } = await makePair(env.work, 42);
      const sse0 = fake.state.runSseCalls;
      fake.faults.mediaAfterStateReads = Number.POSITIVE_INFINITY;
      const first = structured<View>(
        await h.call('create_lip_sync', { video, audio, provider: 'nemovideo' }),
      );
      // The stream closed cleanly; the task goes on reading the state instead of ending.
      const waiting = await follow(
        h,
        first.task_id,
        [],
        (v) => isFinal(v) || /agent has finished/.test(v.message ?? ''),
      );
      assert.equal(waiting.status, 'processing', 'no success without the video');
      assert.equal(waiting.result_url, undefined);
      // Past the ceiling: the next looks answer for good.
      (h.clock as unknown as { advance(ms: number): void }).advance(25 * 60_000);
      const done = await follow(h, first.task_id);
      assert.equal(done.status, 'failed');
      const sid = done.extra?.session_id ?? '';
      assert.ok(sid, 'the failed task still names its session');
      const msg = done.error?.message ?? '';
      assert.match(msg, /without (producing )?a (lip-synced )?video/i);
      assert.ok(msg.includes(sid), 'names the session to look at');
      assert.match(msg, /export_render/);
      assert.match(msg, /not (be )?(charged|pay) again|does not pay again/i);
      assert.equal(fake.state.runSseCalls - sse0, 1, 'the message was sent once');
      // Asking again with the same inputs returns this task; nothing is sent.
      const again = structured<View & { reused: boolean }>(
        await h.call('create_lip_sync', { video, audio, provider: 'nemovideo' }),
      );
      assert.equal(again.task_id, first.task_id);
      assert.equal(fake.state.runSseCalls - sse0, 1, 'asking again does not send again');
    } finally {
      reset();
      await h.close();
      env.cleanup();
    }
  });

  test('the answer to /run_sse is lost: the unknown task is reconciled from the session state', async () => {
    const env = testEnv({ NEMO_BASE_URL: fake.url });
    const h = await harness(env.env);
    try {
      const { video, audio } = await makePair(env.work, 43);
      const sse0 = fake.state.runSseCalls;
      const streams0 = fake.state.streams.length;
      fake.faults.loseRunSseAnswer = true;
      fake.faults.mediaAfterStateReads = Number.POSITIVE_INFINITY;
      const first = structured<View>(
        await h.call('create_lip_sync', { video, audio, provider: 'nemovideo' }),
      );
      // While the session shows no result, the task is honestly unknown (and stays so).
      const unknown = await follow(h, first.task_id, [], (v) => isFinal(v) || v.status === 'unknown');
      assert.equal(unknown.status, 'unknown');
      assert.equal((await view(h, first.task_id, 0)).status, 'unknown');
      fake.landPending();
      const seen: string[] = [];
      const done = await follow(h, first.task_id, seen);
      assert.equal(done.status, 'success', `statuses seen: ${seen.join(', ')}`);
      assert.match(done.result_url ?? '', /lipsync-1\.mp4$/);
      assert.deepEqual(fake.state.streams.slice(streams0), ['lost']);
      assert.equal(fake.state.runSseCalls - sse0, 1, '/run_sse was called exactly once');
    } finally {
      reset();
      await h.close();
      env.cleanup();
    }
  });
});
