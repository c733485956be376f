import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { type FakeDirector, startFakeDirector } from '../fakes/director/index.js';
import { errorOf, type Harness, harness, structured, testEnv } from '../helpers/app.js';
import { ManualClock } from '../helpers/clock.js';

type View = {
  action?: string;
  reused?: boolean;
  task_id: string;
  status: string;
  provider_task_id?: string;
  result_url?: string;
  message?: string;
  stalled?: boolean;
  gave_up?: boolean;
  extra?: Record<string, unknown>;
  error?: { message: string; hint?: string };
  next_step: string;
};

const VENDOR = /sjinn/i;

/** Every tool result seen; none may name the vendor behind the gateway. */
const seen: CallToolResult[] = [];

async function call(h: Harness, name: string, args: Record<string, unknown>): Promise<CallToolResult> {
  const r = await h.call(name, args);
  seen.push(r);
  return r;
}

async function status(h: Harness, taskId: string): Promise<View> {
  return structured<View>(await call(h, 'get_task_status', { task_id: taskId, wait_seconds: 50 }));
}

async function follow(h: Harness, taskId: string): Promise<View> {
  let v = await status(h, taskId);
  // No fixed count: how many waits a job needs depends on the machine (a hang guard only).
  for (let i = 0; i < 200 && v.status !== 'success' && v.status !== 'failed'; i++)
    v = await status(h, taskId);
  return v;
}

let n = 0;
/** A prompt no other test uses (so fingerprints differ). */
const prompt = (what: string) => `${what} #${++n}: a lighthouse at dawn, slow dolly in`;

describe('The Director through MCP', () => {
  let fake: FakeDirector;
  before(async () => {
    fake = await startFakeDirector();
  });
  beforeEach(() => {
    fake.faults.create.length = 0;
    fake.faults.correctToTool = false;
    fake.faults.stall = false;
    fake.faults.fail = 'none';
  });
  after(async () => {
    for (const r of seen) {
      const text = JSON.stringify(r);
      assert.ok(!VENDOR.test(text), `a tool result names the vendor: ${text}`);
    }
    assert.deepEqual(fake.state.wrongApiQueries, [], 'no task was queried with the wrong api type');
    await fake.close();
  });

  const dirEnv = () => testEnv({ GATEWAY_TOKEN: fake.token, DIRECTOR_GATEWAY_URL: fake.url });
  const queriesOf = (id: string) => fake.queries().filter((q) => (q.body.chat_id ?? q.body.task_id) === id);

  test('tool descriptions never name the vendor', async () => {
    const env = dirEnv();
    const h = await harness(env.env);
    try {
      const { tools } = await h.client.listTools();
      assert.ok(tools.length > 0);
      for (const t of tools) assert.ok(!VENDOR.test(JSON.stringify(t)), `tool ${t.name} names the vendor`);
    } finally {
      await h.close();
      env.cleanup();
    }
  });

  test('no model -> agent API; "veo3" -> tool; a corrected task is queried as tool', async () => {
    const env = dirEnv();
    const h = await harness(env.env);
    try {
      const c0 = fake.creates().length;
      const auto = structured<View>(await call(h, 'generate_video', { prompt: prompt('auto') }));
      assert.equal(auto.reused, false);
      // Counted once the task is done: on a busy machine the create may still be in flight when the
      // tool call answers (its wait is real time under the fast clock).
      const autoDone = await follow(h, auto.task_id);
      assert.equal(fake.creates().length - c0, 1);
      assert.equal(fake.creates().at(-1)?.api, 'agent');
      assert.equal(autoDone.status, 'success');
      assert.equal(autoDone.result_url, fake.resultUrl(autoDone.provider_task_id!));
      assert.ok(queriesOf(autoDone.provider_task_id!).every((q) => q.api === 'agent'));

      const veo = structured<View>(await call(h, 'generate_video', { prompt: prompt('veo'), model: 'veo3' }));
      const veoDone = await follow(h, veo.task_id);
      assert.equal(fake.creates().at(-1)?.api, 'tool');
      assert.match(String(fake.creates().at(-1)?.body.tool_type), /veo3/);
      assert.equal(veoDone.status, 'success');
      const vq = queriesOf(veoDone.provider_task_id!);
      assert.ok(vq.length > 0 && vq.every((q) => q.api === 'tool'), 'a tool task is queried as tool');

      fake.faults.correctToTool = true;
      const corr = structured<View>(await call(h, 'generate_video', { prompt: prompt('corrected') }));
      const corrDone = await follow(h, corr.task_id);
      assert.equal(fake.creates().at(-1)?.api, 'agent', 'asked as agent');
      assert.equal(
        fake.state.tasks.get(corrDone.provider_task_id!)?.api,
        'tool',
        'the gateway made a tool task',
      );
      assert.equal(corrDone.status, 'success');
      const cq = queriesOf(corrDone.provider_task_id!);
      assert.ok(cq.length > 0 && cq.every((q) => q.api === 'tool'), 'a corrected task is queried as tool');
    } finally {
      await h.close();
      env.cleanup();
    }
  });

  test('create_lip_sync with an image URL + audio URL -> the image lip-sync tool', async () => {
    const env = dirEnv();
    const h = await harness(env.env);
    try {
      const res = structured<View>(
        await call(h, 'create_lip_sync', {
          provider: 'director',
          image: 'https://media.example.test/face.png',
          audio: 'https://media.example.test/voice.mp3',
        }),
      );
      const done = await follow(h, res.task_id);
      const c = fake.creates().at(-1)!;
      assert.equal(c.api, 'tool');
      assert.equal(c.body.tool_type, 'image-lipsync-api');
      assert.equal(done.status, 'success');
      assert.ok(done.result_url);
    } finally {
      await h.close();
      env.cleanup();
    }
  });

  test('a frozen status is reported stalled after 20 unchanged polls, then waiting gives up after 10 min', async () => {
    const env = dirEnv();
    // Time moves only by hand, one poll interval per look: "20 polls" and "10 minutes" are then
    // counted exactly, however slow each loopback poll is on a loaded machine.
    const clock = new ManualClock();
    const h = await harness(env.env, { clock });
    const look = async (taskId: string) => {
      clock.advance(15_000);
      return structured<View>(await call(h, 'get_task_status', { task_id: taskId }));
    };
    try {
      fake.faults.stall = true;
      const res = structured<View>(await call(h, 'generate_video', { prompt: prompt('stall') }));
      const id = res.provider_task_id!;
      let v = await look(res.task_id);
      for (let i = 0; i < 200 && !v.stalled; i++) v = await look(res.task_id);
      assert.equal(v.stalled, true, 'reported stalled');
      assert.equal(v.status, 'processing');
      assert.ok(fake.state.tasks.get(id)!.queries >= 20, 'after at least 20 polls');
      assert.match(v.next_step, /stalled/i);
      assert.notEqual(v.gave_up, true, 'stalled (about 5 min) comes before giving up (10 min)');

      // Once stalled, a wait answers at once with the advice instead of polling on (seed 002).
      const beforeStalledCall = fake.state.tasks.get(id)!.queries;
      const again = await status(h, res.task_id);
      assert.equal(again.stalled, true);
      assert.ok(fake.state.tasks.get(id)!.queries - beforeStalledCall <= 1, 'at most one look, on request');

      for (let i = 0; i < 200 && !v.gave_up; i++) v = await look(res.task_id);
      assert.equal(v.gave_up, true, 'gave up');
      const words = `${v.message ?? ''} ${v.next_step}`;
      assert.match(words, /retry|try again/i);
      assert.match(words, /quality: "cheap"/);
      assert.match(words, /model/i);
      // Waiting stops: a further status call answers at once without a stream of polls.
      const q0 = fake.state.tasks.get(id)!.queries;
      await status(h, res.task_id);
      assert.ok(fake.state.tasks.get(id)!.queries - q0 <= 1);
    } finally {
      fake.faults.stall = false;
      await h.close();
      env.cleanup();
    }
  });

  test('429 on create: daily-limit message, one create, no retry; check_credits shows the limit', async () => {
    const env = dirEnv();
    const h = await harness(env.env);
    try {
      const c0 = fake.creates().length;
      fake.faults.create.push('429');
      const err = errorOf(await call(h, 'generate_video', { prompt: prompt('limit') }));
      assert.match(err.message, /daily video limit/i);
      assert.match(`${err.message} ${err.hint ?? ''}`, /midnight/i);
      assert.equal(fake.creates().length - c0, 1, 'one create, no retry, no model fallback');
      const credits = structured<{
        providers: { provider: string; summary: string; balance?: Record<string, unknown> }[];
      }>(await call(h, 'check_credits', { provider: 'director' }));
      const d = credits.providers[0]!;
      assert.equal(d.balance?.daily_limit_reached, true);
      assert.match(d.summary, /daily video limit reached/i);
    } finally {
      await h.close();
      env.cleanup();
    }
  });

  test('a refused create and a failed task never name the vendor', async () => {
    const env = dirEnv();
    const h = await harness(env.env);
    try {
      for (const fault of ['reject', 'no-credits', '503', '500'] as const) {
        const c0 = fake.creates().length;
        fake.faults.create.push(fault, fault, fault);
        const r = await call(h, 'generate_video', { prompt: prompt(fault), model: 'veo3' });
        // Resends are 30 s apart, so a retried refusal may outlast the create call's own wait.
        const err = r.isError ? errorOf(r) : (await follow(h, structured<View>(r).task_id)).error!;
        assert.ok(err?.message, fault);
        assert.ok(!VENDOR.test(`${err.message} ${err.hint ?? ''}`), `${fault}: ${err.message}`);
        assert.ok(fake.creates().length - c0 <= 3, `${fault}: at most two resends`);
        fake.faults.create.length = 0;
      }
      fake.faults.fail = 'status';
      const res = structured<View>(
        await call(h, 'generate_video', { prompt: prompt('fail'), model: 'veo3' }),
      );
      const done = await follow(h, res.task_id);
      assert.equal(done.status, 'failed');
      assert.ok(done.error?.message);
      assert.ok(!VENDOR.test(JSON.stringify(done)));
    } finally {
      fake.faults.fail = 'none';
      await h.close();
      env.cleanup();
    }
  });

  test('a lost create answer: task unknown with a next step; an identical call returns it and never creates again', async () => {
    const env = dirEnv();
    const h = await harness(env.env);
    try {
      const c0 = fake.creates().length;
      fake.faults.create.push('lose');
      const p = prompt('lost');
      const first = structured<View>(await call(h, 'generate_video', { prompt: p }));
      assert.equal(first.status, 'unknown');
      assert.ok(first.next_step.length > 0);
      assert.match(first.next_step, /generate_video/);
      assert.doesNotMatch(first.next_step, /create_lip_sync/);
      const again = structured<View>(await call(h, 'generate_video', { prompt: p }));
      assert.equal(again.task_id, first.task_id);
      assert.equal(again.reused, true);
      assert.equal(again.status, 'unknown');
      assert.equal(fake.creates().length - c0, 1, 'exactly one create');
      assert.equal(fake.state.tasks.size > 0, true);
    } finally {
      await h.close();
      env.cleanup();
    }
  });

  test('spellings of one model or template are one job: one create, the others reuse it', async () => {
    const env = dirEnv();
    const h = await harness(env.env);
    try {
      const c0 = fake.creates().length;
      const p = prompt('spelling');
      const first = structured<View>(await call(h, 'generate_video', { prompt: p, model: 'Sora2 Pro' }));
      const done = await follow(h, first.task_id);
      assert.equal(done.status, 'success');
      for (const model of ['sora2 pro', 'SORA2-PRO', ' sora2_pro ']) {
        const again = structured<View>(await call(h, 'generate_video', { prompt: p, model }));
        assert.equal(again.task_id, first.task_id, model);
        assert.equal(again.reused, true, model);
      }
      const kids = structured<View>(await call(h, 'generate_video', { prompt: p, template: 'Kids Short' }));
      await follow(h, kids.task_id);
      const kids2 = structured<View>(await call(h, 'generate_video', { prompt: p, template: 'kids short' }));
      assert.equal(kids2.task_id, kids.task_id);
      assert.equal(fake.creates().length - c0, 2, 'one create per distinct choice');
    } finally {
      await h.close();
      env.cleanup();
    }
  });

  test('pending Director tasks survive a restart and complete', async () => {
    const env = dirEnv();
    let h = await harness(env.env);
    let taskId = '';
    try {
      const res = structured<View>(await call(h, 'generate_video', { prompt: prompt('restart') }));
      taskId = res.task_id;
      assert.ok(res.status === 'pending' || res.status === 'processing', res.status);
    } finally {
      await h.close();
    }
    h = await harness(env.env);
    try {
      await h.app.jobs.recover();
      const list = structured<{ tasks: View[] }>(await call(h, 'list_tasks', { unfinished_only: true }));
      const found = list.tasks.find((t) => t.task_id === taskId);
      assert.ok(found, 'listed after the restart');
      assert.notEqual(found.status, 'success');
      const done = await follow(h, taskId);
      assert.equal(done.status, 'success');
      assert.ok(done.result_url);
    } finally {
      await h.close();
      env.cleanup();
    }
  });
});
