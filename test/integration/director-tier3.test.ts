/**
 * Tier 3 of The Director through MCP (issue 18): generate_image, generate_audio, transcribe and
 * edit_video's post-production, each against the fake for success, failure, stall, 429 and a lost answer.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import {
  FAKE_SEGMENTS,
  type FakeDirector,
  kindOfMessage,
  startFakeDirector,
} from '../fakes/director/index.js';
import { errorOf, type Harness, harness, structured, testEnv } from '../helpers/app.js';
import type { ManualClock } from '../helpers/clock.js';

type View = {
  action?: string;
  reused?: boolean;
  task_id: string;
  kind: string;
  status: string;
  provider_task_id?: string;
  result_url?: string;
  stalled?: boolean;
  gave_up?: boolean;
  next_poll_seconds?: number;
  extra?: Record<string, unknown>;
  error?: { message: string; hint?: string };
  next_step: string;
};

const VENDOR = /sjinn/i;
const seen: CallToolResult[] = [];

async function call(h: Harness, name: string, args: Record<string, unknown>): Promise<CallToolResult> {
  const r = await h.call(name, args);
  seen.push(r);
  return r;
}
const status = async (h: Harness, id: string) =>
  structured<View>(await call(h, 'get_task_status', { task_id: id, wait_seconds: 50 }));
async function follow(h: Harness, id: string): Promise<View> {
  let v = await status(h, id);
  for (let i = 0; i < 10 && v.status !== 'success' && v.status !== 'failed'; i++) v = await status(h, id);
  return v;
}

let n = 0;
interface Case {
  tool: string;
  kind: string;
  fakeKind: string;
  pollSeconds: number;
  giveUpMinutes: number;
  limit: 'images_audio' | 'videos';
  args(): Record<string, unknown>;
}
const CASES: Case[] = [
  {
    tool: 'generate_image',
    kind: 'image',
    fakeKind: 'image',
    pollSeconds: 10,
    giveUpMinutes: 5,
    limit: 'images_audio',
    args: () => ({ prompt: `a red fox in snow #${++n}`, model: 'Nano-Banana Pro' }),
  },
  {
    tool: 'generate_audio',
    kind: 'audio',
    fakeKind: 'audio',
    pollSeconds: 10,
    giveUpMinutes: 5,
    limit: 'images_audio',
    args: () => ({ kind: 'speech', text: `Hola a todos #${++n}`, voice: 'warm female', language: 'es' }),
  },
  {
    tool: 'transcribe',
    kind: 'transcript',
    fakeKind: 'transcript',
    pollSeconds: 10,
    giveUpMinutes: 5,
    limit: 'images_audio',
    args: () => ({ video: `https://media.example.test/talk-${++n}.mp4` }),
  },
  {
    tool: 'edit_video',
    kind: 'post',
    fakeKind: 'post',
    pollSeconds: 15,
    giveUpMinutes: 10,
    limit: 'videos',
    args: () => ({
      operation: 'subtitles',
      video: `https://media.example.test/clip-${++n}.mp4`,
      language: 'en',
    }),
  },
];

describe('The Director Tier 3 through MCP', () => {
  let fake: FakeDirector;
  before(async () => {
    fake = await startFakeDirector();
  });
  beforeEach(() => {
    fake.faults.create.length = 0;
    fake.faults.stall = false;
    fake.faults.fail = 'none';
    fake.faults.tier3Urls = 'native';
    fake.faults.transcript = 'segments';
  });
  after(async () => {
    for (const r of seen)
      assert.ok(!VENDOR.test(JSON.stringify(r)), `a result names the vendor: ${JSON.stringify(r)}`);
    assert.deepEqual(fake.state.wrongApiQueries, []);
    await fake.close();
  });
  const dirEnv = () => testEnv({ GATEWAY_TOKEN: fake.token, DIRECTOR_GATEWAY_URL: fake.url });

  for (const c of CASES) {
    test(`${c.tool}: success through the agent API, then reused with 0 new creates`, async () => {
      const env = dirEnv();
      const h = await harness(env.env);
      try {
        const c0 = fake.creates().length;
        const args = c.args();
        const first = structured<View>(await call(h, c.tool, args));
        assert.equal(first.kind, c.kind);
        const done = await follow(h, first.task_id);
        assert.equal(done.status, 'success');
        const create = fake.creates().at(-1)!;
        assert.equal(create.api, 'agent');
        assert.equal(kindOfMessage(create.body.message), c.fakeKind, String(create.body.message));
        if (c.kind === 'transcript') {
          assert.equal(done.extra?.text, FAKE_SEGMENTS.map((s) => s.text).join(' '));
          assert.match(String(done.extra?.srt), /^1\n00:00:00,000 --> 00:00:01,500\nHello and welcome\.\n/);
          assert.match(String(done.extra?.vtt), /^WEBVTT\n\n00:00:00\.000 --> 00:00:01\.500\n/);
        } else {
          assert.equal(done.result_url, fake.mediaUrl(done.provider_task_id!));
          assert.match(done.next_step, /download_result/);
        }
        const again = structured<View>(await call(h, c.tool, args));
        assert.equal(again.task_id, first.task_id);
        assert.equal(again.reused, true);
        assert.equal(fake.creates().length - c0, 1, 'one paid create');
      } finally {
        await h.close();
        env.cleanup();
      }
    });

    test(`${c.tool}: a failed job says so, without the vendor's name, and is not re-run`, async () => {
      const env = dirEnv();
      const h = await harness(env.env);
      try {
        fake.faults.fail = 'status';
        const args = c.args();
        const first = structured<View>(await call(h, c.tool, args));
        const done = await follow(h, first.task_id);
        assert.equal(done.status, 'failed');
        assert.ok(done.error?.message);
        assert.match(done.next_step, new RegExp(`${c.tool}.*force_recreate`));
        const c0 = fake.creates().length;
        const again = structured<View>(await call(h, c.tool, args));
        assert.equal(again.task_id, first.task_id);
        assert.equal(fake.creates().length, c0);
      } finally {
        await h.close();
        env.cleanup();
      }
    });

    test(`${c.tool}: polls every ${c.pollSeconds} s, stalls after 20 unchanged polls, gives up after ${c.giveUpMinutes} min`, async () => {
      const env = dirEnv();
      // The driven clock moves only between polls: the 20 polls land before the give-up time on any
      // machine (for images the seed leaves only 100 s of virtual time between the two).
      const h = await harness(env.env);
      try {
        fake.faults.stall = true;
        const res = structured<View>(await call(h, c.tool, c.args()));
        let v = await status(h, res.task_id);
        assert.equal(v.next_poll_seconds, c.pollSeconds);
        for (let i = 0; i < 20 && !v.stalled; i++) v = await status(h, res.task_id);
        assert.equal(v.stalled, true);
        assert.ok(fake.state.tasks.get(res.provider_task_id ?? v.provider_task_id!)!.queries >= 20);
        (h.clock as ManualClock).advance((c.giveUpMinutes + 1) * 60_000);
        for (let i = 0; i < 30 && !v.gave_up; i++) v = await status(h, res.task_id);
        assert.equal(v.gave_up, true);
        assert.match(v.next_step, /get_task_status/);
      } finally {
        await h.close();
        env.cleanup();
      }
    });

    test(`${c.tool}: 429 names the ${c.limit} limit, one create, and check_credits shows which`, async () => {
      const env = dirEnv();
      const h = await harness(env.env);
      try {
        const c0 = fake.creates().length;
        fake.faults.create.push('429');
        const err = errorOf(await call(h, c.tool, c.args())) as {
          message: string;
          details?: { limit?: string };
        };
        assert.equal(err.details?.limit, c.limit);
        assert.match(err.message, c.limit === 'videos' ? /daily video limit/i : /image and audio limit/i);
        assert.equal(fake.creates().length - c0, 1);
        const credits = structured<{ providers: { summary: string; balance?: Record<string, unknown> }[] }>(
          await call(h, 'check_credits', { provider: 'director' }),
        );
        const b = credits.providers[0]!.balance!;
        assert.equal(b.image_audio_limit_reached, c.limit === 'images_audio');
        assert.equal(b.daily_limit_reached, c.limit === 'videos');
        assert.match(
          credits.providers[0]!.summary,
          c.limit === 'videos' ? /video limit reached/ : /image and audio limit reached/,
        );
      } finally {
        await h.close();
        env.cleanup();
      }
    });

    test(`${c.tool}: a lost create answer is unknown and never created again`, async () => {
      const env = dirEnv();
      const h = await harness(env.env);
      try {
        const c0 = fake.creates().length;
        fake.faults.create.push('lose');
        const args = c.args();
        const first = structured<View>(await call(h, c.tool, args));
        assert.equal(first.status, 'unknown');
        assert.match(first.next_step, new RegExp(c.tool));
        const again = structured<View>(await call(h, c.tool, args));
        assert.equal(again.task_id, first.task_id);
        assert.equal(again.status, 'unknown');
        assert.equal(fake.creates().length - c0, 1);
      } finally {
        await h.close();
        env.cleanup();
      }
    });
  }

  test('[I] every URL shape the gateway may use for images and audio is read', async () => {
    const env = dirEnv();
    const h = await harness(env.env);
    try {
      for (const shape of ['native', 'normalised', 'output_urls', 'tool_results'] as const) {
        fake.faults.tier3Urls = shape;
        for (const tool of ['generate_image', 'generate_audio'] as const) {
          const args =
            tool === 'generate_image'
              ? { prompt: `shape ${shape} #${++n}` }
              : { kind: 'music', prompt: `shape ${shape} #${++n}` };
          const v = await follow(h, structured<View>(await call(h, tool, args)).task_id);
          assert.equal(v.status, 'success', `${tool} ${shape}`);
          assert.equal(v.result_url, fake.mediaUrl(v.provider_task_id!), `${tool} ${shape}`);
        }
      }
    } finally {
      await h.close();
      env.cleanup();
    }
  });

  test('transcribe: an SRT-only answer gives text, segments and VTT; text without timings is said so', async () => {
    const env = dirEnv();
    const h = await harness(env.env);
    try {
      fake.faults.transcript = 'srt';
      const srt = await follow(h, structured<View>(await call(h, 'transcribe', CASES[2]!.args())).task_id);
      assert.equal(srt.extra?.text, 'Hello and welcome. Today we test dubbing.');
      assert.deepEqual(srt.extra?.segments, FAKE_SEGMENTS);
      assert.match(String(srt.extra?.vtt), /00:00:01\.500 --> 00:00:03\.250\nToday we test dubbing\./);
      fake.faults.transcript = 'text';
      const text = await follow(h, structured<View>(await call(h, 'transcribe', CASES[2]!.args())).task_id);
      assert.equal(text.status, 'success');
      assert.equal(text.extra?.text, 'Hello and welcome. Today we test dubbing.');
      assert.equal(text.extra?.srt, '');
      assert.match(String(text.extra?.timings), /without timings/);
    } finally {
      await h.close();
      env.cleanup();
    }
  });

  test('a pending image task survives a restart and finishes with its image URL', async () => {
    const env = dirEnv();
    let h = await harness(env.env);
    let taskId = '';
    try {
      const res = structured<View>(await call(h, 'generate_image', CASES[0]!.args()));
      taskId = res.task_id;
      assert.notEqual(res.status, 'success');
    } finally {
      await h.close();
    }
    h = await harness(env.env);
    try {
      await h.app.jobs.recover();
      const v = await follow(h, taskId);
      assert.equal(v.status, 'success');
      assert.equal(v.kind, 'image');
      assert.match(v.result_url ?? '', /\/images\/.*\.png$/);
      assert.equal(v.next_poll_seconds, undefined);
    } finally {
      await h.close();
      env.cleanup();
    }
  });
});
