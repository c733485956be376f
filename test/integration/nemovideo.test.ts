import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { type FakeNemo, startFakeNemo } from '../fakes/nemovideo/index.js';
import { errorOf, type Harness, harness, structured, testEnv } from '../helpers/app.js';
import { makePair } from '../helpers/clips.js';

type View = {
  action?: string;
  reused?: boolean;
  task_id: string;
  status: string;
  provider_task_id?: string;
  result_url?: string;
  message?: string;
  extra?: { session_id?: string; state?: unknown };
  error?: { message: string };
  next_step: string;
};

/** Every tool result seen, so the token-leak check covers the whole file. */
const seen: CallToolResult[] = [];

async function call(h: Harness, name: string, args: Record<string, unknown>): Promise<CallToolResult> {
  const r = await h.call(name, args);
  seen.push(r);
  return r;
}

async function follow(
  h: Harness,
  taskId: string,
  until = (v: View) => v.status === 'success' || v.status === 'failed',
) {
  let v = structured<View>(await call(h, 'get_task_status', { task_id: taskId, wait_seconds: 50 }));
  // No fixed count: how many waits a job needs depends on the machine (a hang guard only).
  for (let i = 0; i < 200 && !until(v); i++)
    v = structured<View>(await call(h, 'get_task_status', { task_id: taskId, wait_seconds: 50 }));
  return v;
}

describe('NemoVideo through MCP', () => {
  let fake: FakeNemo;
  before(async () => {
    fake = await startFakeNemo();
  });
  after(async () => {
    await fake.close();
    assert.deepEqual(fake.state.unexpected, [], 'no unexpected routes');
    assert.deepEqual(fake.state.missingAttribution, [], 'attribution headers on every call');
  });

  const nemoEnv = () => testEnv({ NEMO_BASE_URL: fake.url });

  /** Asserts no anonymous token the fake issued appears in the results seen so far or in `logs`. */
  function assertNoToken(logs: string[]) {
    const tokens = [...fake.state.tokens.keys()];
    assert.ok(tokens.length > 0);
    const text = `${JSON.stringify(seen)}\n${logs.join('\n')}`;
    for (const t of tokens) assert.ok(!text.includes(t), 'the anonymous token never leaks');
  }

  test('no token: one anonymous token, one session, two uploads, one run_sse; reused; another process reuses the token', async () => {
    const env = nemoEnv();
    const { video, audio } = await makePair(env.work, 31);
    const s0 = {
      tokens: fake.state.tokensIssued,
      sessions: fake.state.sessions.size,
      uploads: fake.state.uploads.length,
      sse: fake.state.runSseCalls,
    };
    let h = await harness(env.env);
    let taskId = '';
    try {
      const first = structured<View>(
        await call(h, 'create_lip_sync', { video, audio, provider: 'nemovideo' }),
      );
      taskId = first.task_id;
      assert.equal(first.reused, false);
      // Counted once the task is done: on a loaded machine the create answers while still uploading.
      const done = await follow(h, taskId);
      assert.equal(fake.state.tokensIssued - s0.tokens, 1, 'exactly one anonymous token');
      assert.equal(fake.state.sessions.size - s0.sessions, 1, 'one session');
      assert.equal(fake.state.uploads.length - s0.uploads, 2, 'two uploads');
      assert.equal(fake.state.runSseCalls - s0.sse, 1, 'one run_sse');
      assert.equal(done.status, 'success');
      assert.match(done.result_url ?? '', /^https:\/\/cdn\.fake-nemo\.test\/.+\/lipsync-1\.mp4$/);
      assert.ok(done.extra?.session_id);

      const again = structured<View>(
        await call(h, 'create_lip_sync', { video, audio, provider: 'nemovideo' }),
      );
      assert.equal(again.reused, true);
      assert.equal(again.task_id, taskId);
      assert.equal(fake.state.runSseCalls - s0.sse, 1, 'no second run_sse');
      assertNoToken(h.logs);
    } finally {
      await h.close();
    }
    // Another process on the same LIPSYNC_HOME: the cached token is reused.
    h = await harness(env.env);
    try {
      const credits = structured<{ providers: { provider: string; summary: string }[] }>(
        await call(h, 'check_credits', { provider: 'nemovideo' }),
      );
      assert.match(credits.providers[0]?.summary ?? '', /available/);
      const st = structured<View>(await call(h, 'get_task_status', { task_id: taskId }));
      assert.equal(st.status, 'success');
      assert.equal(fake.state.tokensIssued - s0.tokens, 1, 'no new anonymous token in the second process');
      assertNoToken(h.logs);
    } finally {
      await h.close();
      env.cleanup();
    }
  });

  test('a dropped stream is not answered by resending; the task completes by state polling', async () => {
    const env = nemoEnv();
    const h = await harness(env.env);
    try {
      const { video, audio } = await makePair(env.work, 32);
      const sse0 = fake.state.runSseCalls;
      const streams0 = fake.state.streams.length;
      fake.faults.dropStreamAfter = 3;
      const first = structured<View>(
        await call(h, 'create_lip_sync', { video, audio, provider: 'nemovideo' }),
      );
      const done = await follow(h, first.task_id);
      assert.equal(done.status, 'success');
      assert.match(done.result_url ?? '', /lipsync-1\.mp4$/);
      assert.deepEqual(fake.state.streams.slice(streams0), ['dropped']);
      assert.equal(fake.state.runSseCalls - sse0, 1, 'the message was sent once');
      assertNoToken(h.logs);
    } finally {
      fake.faults.dropStreamAfter = undefined;
      await h.close();
      env.cleanup();
    }
  });

  test('edit_video: a silent edit reports what changed; export_render in both URL shapes and a failed render', async () => {
    const env = nemoEnv();
    const h = await harness(env.env);
    try {
      const { video, audio } = await makePair(env.work, 33);
      const lip = structured<View>(
        await call(h, 'create_lip_sync', { video, audio, provider: 'nemovideo', wait_seconds: 50 }),
      );
      const lipDone = lip.status === 'success' ? lip : await follow(h, lip.task_id);
      const sessionId = lipDone.extra?.session_id;
      assert.ok(sessionId, 'the lip-sync task names its session');

      fake.faults.silentEdit = true;
      const sse0 = fake.state.runSseCalls;
      const edit = structured<View>(
        await call(h, 'edit_video', { session_id: sessionId, instruction: 'add lo-fi background music' }),
      );
      const edited = edit.status === 'success' ? edit : await follow(h, edit.task_id);
      assert.equal(edited.status, 'success');
      assert.equal(fake.state.runSseCalls - sse0, 1);
      assert.ok(edited.message && edited.message.length > 0, 'a silent edit still reports something');
      assert.match(edited.message ?? '', /track|audio|added|duration/i);
      fake.faults.silentEdit = false;

      const renderIds = new Set<string>();
      for (const shape of ['output.url', 'data.outputUrl'] as const) {
        fake.faults.renderUrlShape = shape;
        const r = structured<View>(await call(h, 'export_render', { session_id: sessionId }));
        const done = await follow(h, r.task_id);
        assert.equal(done.status, 'success', `render (${shape}) succeeds`);
        assert.match(done.result_url ?? '', /^https:\/\/cdn\.fake-nemo\.test\/renders\/render_.+\.mp4$/);
        assert.ok(done.provider_task_id);
        renderIds.add(done.provider_task_id!);
      }
      fake.faults.renderFail = 'font file missing';
      const bad = structured<View>(await call(h, 'export_render', { session_id: sessionId }));
      const failed = await follow(h, bad.task_id);
      assert.equal(failed.status, 'failed');
      assert.match(failed.error?.message ?? '', /font file missing/);
      renderIds.add(failed.provider_task_id!);
      assert.equal(renderIds.size, 3, 'render ids are never reused');
      assertNoToken(h.logs);
    } finally {
      fake.faults.silentEdit = false;
      fake.faults.renderFail = undefined;
      fake.faults.renderUrlShape = 'output.url';
      await h.close();
      env.cleanup();
    }
  });

  test('check_credits shows available / frozen / total', async () => {
    const env = nemoEnv();
    const h = await harness(env.env);
    try {
      fake.state.credits = { available: 42, frozen: 3, total: 45 };
      const res = structured<{
        providers: {
          provider: string;
          configured: boolean;
          summary: string;
          balance?: Record<string, number>;
        }[];
      }>(await call(h, 'check_credits', { provider: 'nemovideo' }));
      const p = res.providers[0]!;
      assert.equal(p.configured, true);
      assert.deepEqual(p.balance, { available: 42, frozen: 3, total: 45 });
      assert.match(p.summary, /42 available.*3 frozen.*45 total/);
      assertNoToken(h.logs);
    } finally {
      fake.state.credits = { available: 100, frozen: 0, total: 100 };
      await h.close();
      env.cleanup();
    }
  });

  test('error codes: 1001 re-authenticates once, 1002 opens a new session, 2001/4001/4002/402 are clear errors', async () => {
    const env = nemoEnv();
    const h = await harness(env.env);
    try {
      // Warm up: a token exists.
      structured(await call(h, 'check_credits', { provider: 'nemovideo' }));
      const t0 = fake.state.tokensIssued;
      fake.fail({ path: '/api/credits', code: 1001 });
      const re = structured<{ providers: { summary: string }[] }>(
        await call(h, 'check_credits', { provider: 'nemovideo' }),
      );
      assert.match(re.providers[0]?.summary ?? '', /available/, '1001: re-authenticated, then success');
      assert.equal(fake.state.tokensIssued - t0, 1, 'one re-authentication');

      // 1002 on the message: a new session, the files registered there, and one successful send.
      const { video, audio } = await makePair(env.work, 34);
      const s0 = fake.state.sessions.size;
      fake.fail({ path: '/run_sse', code: 1002 });
      const lip = structured<View>(await call(h, 'create_lip_sync', { video, audio, provider: 'nemovideo' }));
      const done = await follow(h, lip.task_id);
      assert.equal(done.status, 'success');
      assert.ok(fake.state.sessions.size - s0 >= 2, 'a new session was opened');
      // The job's end triggers one balance read (its cost); let it finish before faults are queued.
      await h.app.jobs.drain(5000);

      const messages: Record<number, RegExp> = {
        2001: /credit/i,
        4001: /format|type|support/i,
        4002: /size|large|long/i,
        402: /plan|tier|subscription/i,
      };
      for (const [code, re2] of Object.entries(messages)) {
        const n = Number(code);
        const calls0 = fake.calls.length;
        fake.fail(n === 402 ? { path: '/api/credits', status: 402 } : { path: '/api/credits', code: n });
        const r = await call(h, 'check_credits', { provider: 'nemovideo' });
        const text = JSON.stringify(r.structuredContent ?? r.content);
        assert.match(text, re2, `code ${code}: ${text}`);
        assert.ok(fake.calls.length - calls0 <= 2, `code ${code}: no retry loop`);
        assert.equal(fake.faults.queue.length, 0);
      }
      assertNoToken(h.logs);
    } finally {
      fake.faults.queue.length = 0;
      await h.close();
      env.cleanup();
    }
  });

  test('missing input gives a clear error', async () => {
    const env = nemoEnv();
    const h = await harness(env.env);
    try {
      const err = errorOf(await call(h, 'edit_video', { instruction: 'add music' }));
      assert.equal(err.code, 'invalid_input');
      assert.match(err.message, /session_id|video/);
    } finally {
      await h.close();
      env.cleanup();
    }
  });
});
