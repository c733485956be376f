import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type FakeDirector, startFakeDirector } from '../fakes/director/index.js';
import { type FakeJogg, startFakeJogg } from '../fakes/jogg/index.js';
import { type FakeNemo, startFakeNemo } from '../fakes/nemovideo/index.js';
import { errorOf, harness, structured, testEnv, writeBytes } from '../helpers/app.js';

type DryRun = {
  dry_run: true;
  action: string;
  reused: boolean;
  provider: string;
  task_id?: string;
  cost: { unit: string; amount?: number; basis: string; balance?: Record<string, unknown> };
  spent_today: { amount: number; unit: string };
  warnings: string[];
};
type Created = { action: string; reused: boolean; task_id: string; status: string; warnings: string[] };
type Report = {
  days: { day: string; provider: string; unit: string; amount: number; tasks: number }[];
  tasks: { task_id: string; provider: string; amount?: number; unit: string; source: string }[];
};

let n = 0;
/** Distinct inputs (distinct fingerprints) for each call. */
function clip(work: string) {
  const i = ++n;
  return {
    video: writeBytes(join(work, `v${i}.mp4`), `spend-video-${i}`),
    audio: writeBytes(join(work, `a${i}.wav`), `spend-audio-${i}`),
  };
}

describe('spend: dry runs, caps and records (Jogg)', () => {
  let fake: FakeJogg;
  before(async () => {
    fake = await startFakeJogg();
  });
  after(async () => {
    await fake.close();
  });
  const joggEnv = (extra: Record<string, string> = {}) =>
    testEnv({ JOGG_API_KEY: fake.apiKey, JOGG_BASE_URL: fake.url, ...extra });
  /** Requests at the fake other than the free balance read. */
  const paidish = (from: number) =>
    fake.calls.slice(from).filter((c) => !(c.method === 'GET' && c.path === '/v2/user/remaining_quota'));

  test('a dry run sends nothing but a balance read, and then says the real call would reuse', async () => {
    const env = joggEnv();
    const h = await harness(env.env);
    try {
      const inputs = clip(env.work);
      const from = fake.calls.length;
      const puts = fake.puts.length;
      const d = structured<DryRun>(await h.call('create_lip_sync', { ...inputs, dry_run: true }));
      assert.deepEqual(paidish(from), [], 'no upload, no lookup, no create');
      assert.equal(d.dry_run, true);
      assert.equal(d.provider, 'jogg');
      assert.equal(d.action, 'would_create_new_task');
      assert.equal(d.cost.unit, 'credits');
      assert.equal(d.cost.amount, 1);
      assert.match(d.cost.basis, /125 s/);
      assert.equal(d.cost.balance?.remaining_quota, fake.quota);
      assert.equal(fake.puts.length, puts, 'no signed upload either');
      assert.equal(
        structured<{ count: number }>(await h.call('list_tasks', {})).count,
        0,
        'no task recorded',
      );

      const created = structured<Created>(await h.call('create_lip_sync', inputs));
      assert.equal(created.action, 'created_new_task');
      const again = structured<DryRun>(await h.call('create_lip_sync', { ...inputs, dry_run: true }));
      assert.equal(again.action, 'would_reuse_existing_task');
      assert.equal(again.task_id, created.task_id);
      assert.equal(again.cost.amount, 0);
    } finally {
      await h.close();
      env.cleanup();
    }
  });

  test('an unknown task (create answer lost) is what a repeat returns: the dry run says reuse, free', async () => {
    const env = joggEnv();
    const h = await harness(env.env);
    try {
      const inputs = clip(env.work);
      fake.faults.loseCreateAnswer = 1;
      fake.faults.lookupBlind = true;
      const first = structured<Created>(await h.call('create_lip_sync', inputs));
      assert.equal(first.status, 'unknown');
      const d = structured<DryRun>(await h.call('create_lip_sync', { ...inputs, dry_run: true }));
      assert.equal(d.action, 'would_reuse_existing_task');
      assert.equal(d.task_id, first.task_id);
      assert.equal(d.cost.amount, 0);
    } finally {
      fake.faults.loseCreateAnswer = 0;
      fake.faults.lookupBlind = false;
      await h.close();
      env.cleanup();
    }
  });

  test('the paid-jobs cap holds across two processes on one ledger: one create, one refusal', async () => {
    const env = joggEnv({ LIPSYNC_CAP_PAID_CREATES_PER_DAY: '1' });
    const a = await harness(env.env);
    const b = await harness(env.env);
    try {
      const creates = fake.count('POST', '/v2/create_lip_sync_video');
      const uploads = fake.count('POST', '/v2/upload/asset');
      const [ra, rb] = await Promise.all([
        a.call('create_lip_sync', clip(env.work)),
        b.call('create_lip_sync', clip(env.work)),
      ]);
      const results = [ra, rb];
      const ok = results.filter((r) => !r.isError);
      const refused = results.filter((r) => r.isError).map(errorOf);
      assert.equal(ok.length, 1, 'exactly one create passes');
      assert.equal(refused.length, 1, 'exactly one is refused');
      assert.equal(refused[0]!.code, 'spend_cap');
      assert.match(refused[0]!.message, /LIPSYNC_CAP_PAID_CREATES_PER_DAY/);
      assert.match(refused[0]!.message, /1 paid job\(s\) created today/);
      assert.match(refused[0]!.hint ?? '', /raise LIPSYNC_CAP_PAID_CREATES_PER_DAY/);
      assert.equal(fake.count('POST', '/v2/create_lip_sync_video') - creates, 1);
      assert.equal(fake.count('POST', '/v2/upload/asset') - uploads, 2, 'the refused one uploaded nothing');
    } finally {
      await a.close();
      await b.close();
    }
    // A restart counts the same spend from the ledger.
    const c = await harness(env.env);
    try {
      const r = await c.call('create_lip_sync', clip(env.work));
      assert.equal(errorOf(r).code, 'spend_cap');
    } finally {
      await c.close();
      env.cleanup();
    }
  });

  test('the Jogg credits cap refuses the job that would pass it, naming the cap and the spend', async () => {
    const env = joggEnv({ LIPSYNC_CAP_JOGG_CREDITS_PER_DAY: '2' });
    const h = await harness(env.env);
    try {
      structured<Created>(await h.call('create_lip_sync', clip(env.work)));
      structured<Created>(await h.call('create_lip_sync', clip(env.work)));
      const creates = fake.count('POST', '/v2/create_lip_sync_video');
      const e = errorOf(await h.call('create_lip_sync', clip(env.work)));
      assert.equal(e.code, 'spend_cap');
      assert.match(e.message, /daily cap of 2 credits \(LIPSYNC_CAP_JOGG_CREDITS_PER_DAY\)/);
      assert.match(e.message, /2 credits spent today/);
      assert.equal(fake.count('POST', '/v2/create_lip_sync_video'), creates);
      const d = structured<DryRun>(await h.call('create_lip_sync', { ...clip(env.work), dry_run: true }));
      assert.ok(d.warnings.some((w) => /LIPSYNC_CAP_JOGG_CREDITS_PER_DAY/.test(w)));
    } finally {
      await h.close();
      env.cleanup();
    }
  });

  test("a spend report adds up the fake's charges exactly; list_tasks and check_credits show them", async () => {
    const env = joggEnv();
    const h = await harness(env.env);
    try {
      const q0 = fake.quota;
      const ids: string[] = [];
      const first = clip(env.work);
      ids.push(structured<Created>(await h.call('create_lip_sync', first)).task_id);
      for (let i = 0; i < 2; i++)
        ids.push(structured<Created>(await h.call('create_lip_sync', clip(env.work))).task_id);
      // A reuse costs nothing more and adds no cost record.
      assert.equal(structured<Created>(await h.call('create_lip_sync', first)).reused, true);
      const charged = q0 - fake.quota;
      assert.equal(charged, 3);
      const report = structured<Report>(await h.call('spend_report', {}));
      const jogg = report.tasks.filter((t) => t.provider === 'jogg');
      assert.deepEqual(jogg.map((t) => t.task_id).sort(), [...ids].sort());
      assert.ok(
        jogg.every((t) => t.source === 'balance'),
        JSON.stringify(jogg),
      );
      const total = report.days.filter((d) => d.provider === 'jogg').reduce((s, d) => s + d.amount, 0);
      assert.equal(total, charged);

      const list = structured<{ tasks: { task_id: string; cost?: { amount?: number; source: string } }[] }>(
        await h.call('list_tasks', {}),
      );
      assert.ok(list.tasks.every((t) => t.cost?.amount === 1 && t.cost.source === 'balance'));
      const credits = structured<{
        providers: { provider: string; spent_today?: { amount: number; unit: string } }[];
      }>(await h.call('check_credits', { provider: 'jogg' }));
      assert.deepEqual(credits.providers.find((p) => p.provider === 'jogg')?.spent_today?.amount, charged);
    } finally {
      await h.close();
      env.cleanup();
    }
  });
});

describe('spend: dry runs on the other providers', () => {
  let director: FakeDirector;
  let nemo: FakeNemo;
  before(async () => {
    director = await startFakeDirector();
    nemo = await startFakeNemo();
  });
  after(async () => {
    await director.close();
    await nemo.close();
  });

  test('The Director: one video against the daily quota, 0 requests; near the cap it suggests cheap mode', async () => {
    const env = testEnv({
      GATEWAY_TOKEN: director.token,
      DIRECTOR_GATEWAY_URL: director.url,
      LIPSYNC_CAP_DIRECTOR_VIDEOS_PER_DAY: '5',
    });
    const h = await harness(env.env);
    try {
      const from = director.calls.length;
      const d = structured<DryRun>(
        await h.call('generate_video', { prompt: 'spend: a lighthouse at dawn', dry_run: true }),
      );
      assert.equal(director.calls.length, from, 'a dry run sends nothing to The Director');
      assert.equal(d.cost.unit, 'videos');
      assert.equal(d.cost.amount, 1);
      assert.match(d.cost.basis, /daily quota/);
      assert.ok(!d.warnings.some((w) => /cheap/.test(w)), 'far from the cap: no advice');
      for (let i = 0; i < 3; i++)
        structured<Created>(await h.call('generate_video', { prompt: `spend: video ${i}` }));
      const near = structured<Created>(await h.call('generate_video', { prompt: 'spend: the fourth' }));
      assert.ok(
        near.warnings.some((w) => /quality: "cheap"/.test(w)),
        `advice near the cap: ${near.warnings}`,
      );
      const cheap = structured<DryRun>(
        await h.call('generate_video', { prompt: 'spend: fifth', quality: 'cheap', dry_run: true }),
      );
      assert.ok(!cheap.warnings.some((w) => /quality: "cheap"/.test(w)), 'already cheap: no advice');
    } finally {
      await h.close();
      env.cleanup();
    }
  });

  test('The Director: images and audio count apart from videos (issue 24 item 9)', async () => {
    const env = testEnv({
      GATEWAY_TOKEN: director.token,
      DIRECTOR_GATEWAY_URL: director.url,
      LIPSYNC_CAP_DIRECTOR_VIDEOS_PER_DAY: '1',
      LIPSYNC_CAP_DIRECTOR_IMAGES_AUDIO_PER_DAY: '2',
    });
    const h = await harness(env.env);
    try {
      const c0 = director.creates().length;
      structured<Created>(await h.call('generate_image', { prompt: 'caps: a red fox in snow' }));
      const v1 = await h.call('generate_video', { prompt: 'caps: the first video' });
      assert.equal(v1.isError, undefined, `an image used up the video cap: ${JSON.stringify(v1.content)}`);
      const v2 = errorOf(await h.call('generate_video', { prompt: 'caps: the second video' }));
      assert.equal(v2.code, 'spend_cap');
      assert.match(v2.message, /LIPSYNC_CAP_DIRECTOR_VIDEOS_PER_DAY/);
      structured<Created>(await h.call('generate_audio', { kind: 'speech', text: 'caps: hello there' }));
      const a2 = errorOf(await h.call('generate_audio', { kind: 'music', prompt: 'caps: calm piano' }));
      assert.equal(a2.code, 'spend_cap');
      assert.match(a2.message, /LIPSYNC_CAP_DIRECTOR_IMAGES_AUDIO_PER_DAY/);
      assert.equal(director.creates().length - c0, 3, 'an image, a video and a speech clip were sent');
      const credits = await h.call('check_credits', { provider: 'director' });
      const line = structured<{ providers: { provider: string; spent_today?: unknown }[] }>(
        credits,
      ).providers.find((p) => p.provider === 'director');
      assert.deepEqual(line?.spent_today, {
        amount: 1,
        unit: 'videos',
        unknown_jobs: 0,
        paid_jobs: 1,
        cap: { setting: 'LIPSYNC_CAP_DIRECTOR_VIDEOS_PER_DAY', limit: 1 },
        images_audio: {
          amount: 2,
          unit: 'images and audio',
          unknown_jobs: 0,
          paid_jobs: 2,
          cap: { setting: 'LIPSYNC_CAP_DIRECTOR_IMAGES_AUDIO_PER_DAY', limit: 2 },
        },
      });
      const text = (credits.content[0] as { text: string }).text;
      assert.match(text, /2 images and audio of 2 \(LIPSYNC_CAP_DIRECTOR_IMAGES_AUDIO_PER_DAY\)/, text);
    } finally {
      await h.close();
      env.cleanup();
    }
  });

  test('The Director: estimates name what is made (1 image, 1 speech clip...), never "1 videos"', async () => {
    const env = testEnv({
      GATEWAY_TOKEN: director.token,
      DIRECTOR_GATEWAY_URL: director.url,
      LIPSYNC_CONFIRM_PAID: 'true',
    });
    const h = await harness(env.env);
    try {
      const from = director.calls.length;
      const cases: [string, Record<string, unknown>, RegExp][] = [
        ['generate_image', { prompt: 'est: a fox' }, /costs 1 image\b/],
        ['generate_audio', { kind: 'speech', text: 'est: hello' }, /costs 1 speech clip\b/],
        ['generate_audio', { kind: 'music', prompt: 'est: piano' }, /costs 1 music track\b/],
        ['generate_audio', { kind: 'effect', prompt: 'est: a door' }, /costs 1 sound effect\b/],
        ['transcribe', { video: 'https://cdn.example.com/est-talk.mp4' }, /costs 1 transcript\b/],
        ['generate_video', { prompt: 'est: a lighthouse' }, /costs 1 video\b/],
      ];
      for (const [tool, args, want] of cases) {
        const e = errorOf(await h.call(tool, args));
        assert.equal(e.code, 'confirmation_required', `${tool}: ${e.message}`);
        assert.match(e.message, want, `${tool}: ${e.message}`);
        assert.doesNotMatch(e.message, /1 videos/, `${tool}: ${e.message}`);
      }
      assert.equal(director.calls.length, from, 'nothing was sent');
    } finally {
      await h.close();
      env.cleanup();
    }
  });

  test('NemoVideo: the balance and "unknown until the job ends", only the free balance read', async () => {
    const env = testEnv({ NEMO_BASE_URL: nemo.url });
    const h = await harness(env.env);
    try {
      const from = nemo.calls.length;
      const d = structured<DryRun>(
        await h.call('create_lip_sync', { ...clip(env.work), provider: 'nemovideo', dry_run: true }),
      );
      const calls = nemo.calls.slice(from).map((c) => `${c.method} ${c.path}`);
      assert.ok(
        calls.every((c) => c === 'GET /api/credits/balance/simple' || c === 'POST /api/auth/anonymous-token'),
        `only the free balance read (and its free token): ${calls}`,
      );
      assert.equal(d.cost.amount, undefined);
      assert.match(d.cost.basis, /unknown until it ends/);
      assert.equal(d.cost.balance?.available, nemo.state.credits.available);
    } finally {
      await h.close();
      env.cleanup();
    }
  });

  test('NemoVideo: the credits a job used are recorded from the balance before and after it (a free read)', async () => {
    const env = testEnv({ NEMO_BASE_URL: nemo.url });
    const h = await harness(env.env);
    try {
      const { makePair } = await import('../helpers/clips.js');
      const inputs = await makePair(env.work, 91, { video: 'nemo-v.mp4', audio: 'nemo-a.wav' });
      // Hold the result back so that the job is still running when the fake charges for it.
      nemo.faults.mediaAfterStateReads = Number.POSITIVE_INFINITY;
      const first = structured<Created>(
        await h.call('create_lip_sync', { ...inputs, provider: 'nemovideo' }),
      );
      nemo.state.credits.available -= 7;
      const look = async () => {
        // Lands the held-back result (queued whenever the agent got to it).
        nemo.landPending();
        return structured<Created>(
          await h.call('get_task_status', { task_id: first.task_id, wait_seconds: 50 }),
        );
      };
      let v = await look();
      for (let i = 0; i < 10 && v.status !== 'success'; i++) v = await look();
      assert.equal(v.status, 'success');
      await h.app.jobs.drain(10_000);
      const report = structured<Report>(await h.call('spend_report', {}));
      const mine = report.tasks.find((t) => t.task_id === first.task_id);
      assert.deepEqual(mine && [mine.amount, mine.unit, mine.source], [7, 'credits', 'balance']);
    } finally {
      nemo.faults.mediaAfterStateReads = undefined;
      await h.close();
      env.cleanup();
    }
  });

  test('local: free, and nothing runs', async () => {
    const env = testEnv();
    // The real ffmpeg lookup (the local engine exists only with ffmpeg).
    const h = await harness(env.env, { media: undefined });
    try {
      const { makePair } = await import('../helpers/clips.js');
      const inputs = await makePair(env.work, 77, { video: 'local-v.mp4', audio: 'local-a.wav' });
      const d = structured<DryRun>(
        await h.call('create_lip_sync', { ...inputs, provider: 'local', dry_run: true }),
      );
      assert.equal(d.action, 'would_create_new_task');
      assert.equal(d.cost.unit, 'free');
      assert.equal(d.cost.amount, 0);
      assert.equal(structured<{ count: number }>(await h.call('list_tasks', {})).count, 0);
    } finally {
      await h.close();
      env.cleanup();
    }
  });
});

describe('spend: the user confirms paid jobs (MCP elicitation)', () => {
  let fake: FakeJogg;
  before(async () => {
    fake = await startFakeJogg();
  });
  after(async () => {
    await fake.close();
  });

  /** A client that answers elicitation with `answer` (or has no elicitation when `answer` is undefined). */
  async function connect(env: Record<string, string>, answer?: 'accept' | 'decline') {
    const { createApp } = await import('../../src/app.js');
    const { loadConfig } = await import('../../src/config.js');
    const { createServer } = await import('../../src/server.js');
    const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
    const { InMemoryTransport } = await import('@modelcontextprotocol/sdk/inMemory.js');
    const { ElicitRequestSchema } = await import('@modelcontextprotocol/sdk/types.js');
    const { drivenClock } = await import('../helpers/clock.js');
    const { publicLookup } = await import('../helpers/app.js');
    const clock = drivenClock();
    const app = await createApp(loadConfig({ env }), {
      media: {},
      lookupHost: publicLookup,
      clock,
      logStream: new (await import('node:stream')).PassThrough(),
      cwd: env.HOME,
    });
    const server = createServer(app);
    const client = new Client(
      { name: 'elicit-client', version: '1.0.0' },
      { capabilities: answer ? { elicitation: {} } : {} },
    );
    const asked: string[] = [];
    if (answer) {
      client.setRequestHandler(ElicitRequestSchema, async (req) => {
        asked.push(req.params.message);
        return answer === 'accept' ? { action: 'accept', content: { confirm: true } } : { action: 'decline' };
      });
    }
    const [a, b] = InMemoryTransport.createLinkedPair();
    await Promise.all([server.connect(a), client.connect(b)]);
    return {
      asked,
      call: (name: string, args: Record<string, unknown>) =>
        client.callTool({ name, arguments: args }) as Promise<
          import('@modelcontextprotocol/sdk/types.js').CallToolResult
        >,
      async close() {
        await client.close();
        await server.close();
        await app.close(2000);
        clock.stop();
      },
    };
  }

  const confirmEnv = () =>
    testEnv({ JOGG_API_KEY: fake.apiKey, JOGG_BASE_URL: fake.url, LIPSYNC_CONFIRM_PAID: 'true' });

  test('accept: the user sees the estimate, the job is created', async () => {
    const env = confirmEnv();
    const c = await connect(env.env, 'accept');
    try {
      const creates = fake.count('POST', '/v2/create_lip_sync_video');
      const r = structured<Created>(await c.call('create_lip_sync', clip(env.work)));
      assert.equal(r.action, 'created_new_task');
      assert.equal(c.asked.length, 1);
      assert.match(c.asked[0]!, /Jogg\? Expected cost: 1 credit \(/);
      assert.equal(fake.count('POST', '/v2/create_lip_sync_video') - creates, 1);
    } finally {
      await c.close();
      env.cleanup();
    }
  });

  test('decline: nothing is uploaded or created, and a reuse asks nothing', async () => {
    const env = confirmEnv();
    const c = await connect(env.env, 'decline');
    try {
      const from = fake.calls.length;
      const e = errorOf(await c.call('create_lip_sync', clip(env.work)));
      assert.equal(e.code, 'declined');
      assert.deepEqual(
        fake.calls.slice(from).map((x) => x.path),
        [],
        'no request at all after a decline',
      );
      const list = structured<{ count: number }>(await c.call('list_tasks', {}));
      assert.equal(list.count, 0, 'no task recorded');
    } finally {
      await c.close();
      env.cleanup();
    }
  });

  test('a client without elicitation is told to ask the user and call again with confirm: true', async () => {
    const env = confirmEnv();
    const c = await connect(env.env);
    try {
      const inputs = clip(env.work);
      const creates = fake.count('POST', '/v2/create_lip_sync_video');
      const e = errorOf(await c.call('create_lip_sync', inputs));
      assert.equal(e.code, 'confirmation_required');
      assert.match(e.hint ?? '', /confirm: true/);
      assert.equal(fake.count('POST', '/v2/create_lip_sync_video'), creates);
      const r = structured<Created>(await c.call('create_lip_sync', { ...inputs, confirm: true }));
      assert.equal(r.action, 'created_new_task');
      // The same inputs again are a reuse: free, so nothing to confirm.
      const again = structured<Created>(await c.call('create_lip_sync', inputs));
      assert.equal(again.reused, true);
    } finally {
      await c.close();
      env.cleanup();
    }
  });
});
