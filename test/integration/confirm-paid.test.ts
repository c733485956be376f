/**
 * Every tool that can send a paid request confirms it the same way (issue 24, item 8): with
 * LIPSYNC_CONFIRM_PAID on, a client without elicitation gets `confirmation_required` and then runs the
 * job with `confirm: true`; a client with elicitation is asked, and only an accept sends the job. A free
 * job (a reuse, a render) asks nothing, and neither does a force_recreate that the ledger answers with
 * a task that is still running.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type FakeDirector, startFakeDirector } from '../fakes/director/index.js';
import { type FakeJogg, startFakeJogg } from '../fakes/jogg/index.js';
import { type FakeNemo, startFakeNemo } from '../fakes/nemovideo/index.js';
import {
  type Elicit,
  errorOf,
  type Harness,
  harness,
  structured,
  testEnv,
  writeBytes,
} from '../helpers/app.js';

type Created = {
  action: string;
  reused: boolean;
  task_id: string;
  status: string;
  warnings: string[];
  next_step: string;
  extra?: { session_id?: string };
};

let n = 0;

interface PaidCase {
  tool: string;
  provider: string;
  /** Distinct arguments (a distinct job) on each call; `work` is the allowed input folder. */
  args(work: string): Record<string, unknown>;
  /** Paid creates the provider's fake has received so far. */
  creates(): number;
}

describe('paid tools confirm with the user (LIPSYNC_CONFIRM_PAID)', () => {
  let jogg: FakeJogg;
  let director: FakeDirector;
  let nemo: FakeNemo;
  before(async () => {
    [jogg, director, nemo] = await Promise.all([startFakeJogg(), startFakeDirector(), startFakeNemo()]);
  });
  after(async () => {
    await Promise.all([jogg.close(), director.close(), nemo.close()]);
  });

  const url = (what: string) => `https://media.example.test/${what}-${++n}.mp4`;
  const PAID: PaidCase[] = [
    {
      tool: 'create_lip_sync',
      provider: 'jogg',
      args: (work) => ({
        provider: 'jogg',
        video: writeBytes(join(work, `v${++n}.mp4`), `confirm-video-${n}`),
        audio: writeBytes(join(work, `a${n}.wav`), `confirm-audio-${n}`),
      }),
      creates: () => jogg.count('POST', '/v2/create_lip_sync_video'),
    },
    {
      tool: 'generate_video',
      provider: 'director',
      args: () => ({ prompt: `a paper boat on a river #${++n}` }),
      creates: () => director.creates().length,
    },
    {
      tool: 'generate_image',
      provider: 'director',
      args: () => ({ prompt: `a red fox in snow #${++n}` }),
      creates: () => director.creates().length,
    },
    {
      tool: 'generate_audio',
      provider: 'director',
      args: () => ({ kind: 'music', prompt: `calm piano #${++n}`, provider: 'director' }),
      creates: () => director.creates().length,
    },
    {
      tool: 'transcribe',
      provider: 'director',
      args: () => ({ video: url('talk') }),
      creates: () => director.creates().length,
    },
    {
      tool: 'edit_video',
      provider: 'director',
      args: () => ({ operation: 'subtitles', video: url('clip'), language: 'en' }),
      creates: () => director.creates().length,
    },
    {
      tool: 'edit_video',
      provider: 'nemovideo',
      args: () => ({
        provider: 'nemovideo',
        instruction: `add soft background music #${++n}`,
        video: url('raw'),
      }),
      creates: () => nemo.state.runSseCalls,
    },
  ];
  /** Every request any fake has received: a declined job must add none. */
  const requests = () => jogg.calls.length + director.calls.length + nemo.calls.length;

  const confirmEnv = () =>
    testEnv({
      LIPSYNC_CONFIRM_PAID: 'true',
      LIPSYNC_LOG_LEVEL: 'silent',
      JOGG_API_KEY: jogg.apiKey,
      JOGG_BASE_URL: jogg.url,
      GATEWAY_TOKEN: director.token,
      DIRECTOR_GATEWAY_URL: director.url,
      NEMO_BASE_URL: nemo.url,
    });

  async function withServer(elicit: Elicit | undefined, fn: (h: Harness, work: string) => Promise<void>) {
    const env = confirmEnv();
    const h = await harness(env.env, { elicit });
    try {
      await fn(h, env.work);
    } finally {
      await h.close();
      env.cleanup();
    }
  }

  test('the tools that take confirm are exactly the tools that can send a paid request', async () => {
    await withServer(undefined, async (h) => {
      const tools = (await h.client.listTools()).tools;
      const confirmable = tools
        .filter((t) => 'confirm' in (t.inputSchema.properties ?? {}))
        .map((t) => t.name);
      assert.deepEqual(confirmable.sort(), [...new Set(PAID.map((c) => c.tool))].sort());
      // Every other tool that writes anything is free: downloads, renders and uploads cost nothing.
      const otherWriters = tools
        .filter((t) => !t.annotations?.readOnlyHint && !confirmable.includes(t.name))
        .map((t) => t.name);
      assert.deepEqual(otherWriters.sort(), ['download_result', 'export_render', 'upload_asset']);
    });
  });

  for (const c of PAID) {
    const what = `${c.tool} (${c.provider})`;

    test(`${what}, no elicitation: confirmation_required, then confirm: true runs it once`, async () => {
      await withServer(undefined, async (h, work) => {
        const args = c.args(work);
        const c0 = c.creates();
        const refused = errorOf(await h.call(c.tool, args));
        assert.equal(refused.code, 'confirmation_required', refused.message);
        assert.match(refused.hint ?? '', /confirm: true/);
        assert.equal(c.creates(), c0, 'nothing is sent before the user agrees');
        const r = structured<Created>(await h.call(c.tool, { ...args, confirm: true }));
        assert.equal(r.action, 'created_new_task');
        assert.equal(c.creates() - c0, 1, 'exactly one paid create');
        // The same job again is a reuse: free, nothing to confirm, nothing sent.
        const again = structured<Created>(await h.call(c.tool, args));
        assert.equal(again.task_id, r.task_id);
        assert.equal(c.creates() - c0, 1);
      });
    });

    test(`${what}, elicitation: accept runs it once; decline sends nothing`, async () => {
      const yes: Elicit = { answer: 'accept', asked: [] };
      await withServer(yes, async (h, work) => {
        const c0 = c.creates();
        const r = structured<Created>(await h.call(c.tool, c.args(work)));
        assert.equal(r.action, 'created_new_task');
        assert.equal(yes.asked.length, 1, 'the user was asked once');
        assert.match(yes.asked[0]!, /paid .* job on .*Expected cost/);
        assert.equal(c.creates() - c0, 1, 'exactly one paid create');
      });
      const no: Elicit = { answer: 'decline', asked: [] };
      await withServer(no, async (h, work) => {
        const from = requests();
        const e = errorOf(await h.call(c.tool, c.args(work)));
        assert.equal(e.code, 'declined', e.message);
        assert.equal(no.asked.length, 1);
        assert.equal(requests(), from, 'no request at all after a decline');
        assert.equal(structured<{ count: number }>(await h.call('list_tasks', {})).count, 0, 'no task');
      });
    });
  }

  test('export_render is free: it runs without asking, even with confirmation on', async () => {
    const ask: Elicit = { answer: 'decline', asked: [] };
    await withServer(ask, async (h) => {
      // A NemoVideo session to render: an edit the user accepted (confirm: true asks nothing).
      const edit = structured<Created>(
        await h.call('edit_video', {
          provider: 'nemovideo',
          instruction: 'add a title card',
          video: url('raw'),
          confirm: true,
        }),
      );
      let view = edit;
      for (let i = 0; i < 50 && !view.extra?.session_id; i++)
        view = structured<Created>(
          await h.call('get_task_status', { task_id: edit.task_id, wait_seconds: 50 }),
        );
      const session = view.extra?.session_id;
      assert.ok(session, 'the edit names its session');
      const r = structured<Created>(await h.call('export_render', { session_id: session }));
      assert.equal(r.action, 'created_new_task');
      assert.deepEqual(ask.asked, [], 'nobody was asked');
    });
  });
});

describe('force_recreate asks only when a paid request will really be sent', () => {
  let jogg: FakeJogg;
  before(async () => {
    jogg = await startFakeJogg();
  });
  after(async () => {
    await jogg.close();
  });
  const creates = () => jogg.count('POST', '/v2/create_lip_sync_video');
  const env = () =>
    testEnv({ LIPSYNC_CONFIRM_PAID: 'true', JOGG_API_KEY: jogg.apiKey, JOGG_BASE_URL: jogg.url });
  const clip = (work: string) => ({
    video: writeBytes(join(work, `fv${++n}.mp4`), `force-video-${n}`),
    audio: writeBytes(join(work, `fa${n}.wav`), `force-audio-${n}`),
  });

  async function finish(h: Harness, taskId: string) {
    jogg.faults.queriesToFinish = 0;
    let v = structured<Created>(await h.call('get_task_status', { task_id: taskId, wait_seconds: 50 }));
    for (let i = 0; i < 20 && v.status !== 'success'; i++)
      v = structured<Created>(await h.call('get_task_status', { task_id: taskId, wait_seconds: 50 }));
    assert.equal(v.status, 'success');
  }

  test('no elicitation: on a pending task it returns that task, free and saying so; after it ends it asks', async () => {
    const e = env();
    const h = await harness(e.env);
    const before = jogg.faults.queriesToFinish;
    try {
      jogg.faults.queriesToFinish = 1_000;
      const inputs = clip(e.work);
      const first = structured<Created>(await h.call('create_lip_sync', { ...inputs, confirm: true }));
      assert.equal(first.action, 'created_new_task');
      const c0 = creates();
      const r = await h.call('create_lip_sync', { ...inputs, force_recreate: true });
      assert.notEqual(
        r.isError,
        true,
        `no confirmation for a job that is not sent: ${JSON.stringify(r.content)}`,
      );
      const same = structured<Created>(r);
      assert.equal(same.task_id, first.task_id);
      assert.equal(same.action, 'reused_existing_task');
      assert.equal(same.reused, true);
      assert.match(same.warnings.join(' '), /force_recreate .*still (pending|processing)/);
      assert.equal(creates(), c0, 'nothing was sent');

      await finish(h, first.task_id);
      const refused = errorOf(await h.call('create_lip_sync', { ...inputs, force_recreate: true }));
      assert.equal(refused.code, 'confirmation_required');
      assert.equal(creates(), c0);
      const again = structured<Created>(
        await h.call('create_lip_sync', { ...inputs, force_recreate: true, confirm: true }),
      );
      assert.equal(again.action, 'created_new_task');
      assert.notEqual(again.task_id, first.task_id);
      assert.equal(creates() - c0, 1);
    } finally {
      jogg.faults.queriesToFinish = before;
      await h.close();
      e.cleanup();
    }
  });

  test('a task that ends between the look and the claim: the forced call is refused, never paid unasked', async () => {
    const e = env();
    const ask: Elicit = { answer: 'accept', asked: [] };
    const h = await harness(e.env, { elicit: ask });
    const before = jogg.faults.queriesToFinish;
    const latest = h.app.ledger.latest;
    try {
      const inputs = clip(e.work);
      const first = structured<Created>(await h.call('create_lip_sync', inputs));
      await finish(h, first.task_id);
      // The call's first look still sees the task running (it ends just after); the claim sees it ended.
      h.app.ledger.latest = async (fp) => {
        const row = await latest(fp);
        return row && { ...row, status: 'processing' };
      };
      const c0 = creates();
      const asked = ask.asked.length;
      const e1 = errorOf(await h.call('create_lip_sync', { ...inputs, force_recreate: true }));
      assert.equal(e1.code, 'conflict', e1.message);
      assert.equal(creates(), c0, 'no paid job nobody was asked about');
      assert.equal(ask.asked.length, asked);
      h.app.ledger.latest = latest;
      const again = structured<Created>(await h.call('create_lip_sync', { ...inputs, force_recreate: true }));
      assert.equal(again.action, 'created_new_task');
      assert.equal(ask.asked.length, asked + 1, 'called again, the user is asked');
    } finally {
      h.app.ledger.latest = latest;
      jogg.faults.queriesToFinish = before;
      await h.close();
      e.cleanup();
    }
  });

  test('elicitation: a force_recreate on a pending task asks nothing; one that really creates asks', async () => {
    const e = env();
    const ask: Elicit = { answer: 'accept', asked: [] };
    const h = await harness(e.env, { elicit: ask });
    const before = jogg.faults.queriesToFinish;
    try {
      jogg.faults.queriesToFinish = 1_000;
      const inputs = clip(e.work);
      const first = structured<Created>(await h.call('create_lip_sync', inputs));
      assert.equal(ask.asked.length, 1);
      const c0 = creates();
      const same = structured<Created>(await h.call('create_lip_sync', { ...inputs, force_recreate: true }));
      assert.equal(same.task_id, first.task_id);
      assert.equal(ask.asked.length, 1, 'not asked to pay for a job that is not sent');
      assert.equal(creates(), c0);
      // A dry run tells the same: the forced call would return the running task, free.
      const dry = structured<{ action: string; cost: { amount?: number } }>(
        await h.call('create_lip_sync', { ...inputs, force_recreate: true, dry_run: true }),
      );
      assert.equal(dry.action, 'would_reuse_existing_task');
      assert.equal(dry.cost.amount, 0);

      await finish(h, first.task_id);
      const again = structured<Created>(await h.call('create_lip_sync', { ...inputs, force_recreate: true }));
      assert.equal(again.action, 'created_new_task');
      assert.equal(ask.asked.length, 2, 'asked before the forced paid job');
      assert.equal(creates() - c0, 1);
    } finally {
      jogg.faults.queriesToFinish = before;
      await h.close();
      e.cleanup();
    }
  });
});
