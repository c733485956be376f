// Issue 24, surfaces 6 and 9: every paid tool asks for confirmation the same way; The Director's plain 429
// is a rate limit (not the daily limit); an image does not use up the video cap.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { DirectorFake } from './fakes/director.js';
import { JoggFake } from './fakes/jogg.js';
import { CANARY, call, errCode, type Home, joggEnv, makeHome, type ToolOut } from './helpers.js';
import { type BinMcp, startBin } from './surfaces-helpers.js';

const u = (fake: { url: string }, name: string) => `${fake.url}/media/${name}`;

type Args = (fake: { url: string }, n: number) => Record<string, unknown>;
/** Each paid Director tool with arguments that make one create (n makes them distinct). */
const PAID: Array<[string, Args]> = [
  ['generate_video', (_f, n) => ({ prompt: `a red fox running ${n}` })],
  ['generate_image', (_f, n) => ({ prompt: `a blue teapot ${n}` })],
  ['generate_audio', (_f, n) => ({ kind: 'speech', text: `hello there ${n}` })],
  ['generate_audio', (_f, n) => ({ kind: 'music', prompt: `calm piano ${n}` })],
  ['transcribe', (f, n) => ({ audio: u(f, `speech${n}.wav`) })],
  ['edit_video', (f, n) => ({ provider: 'director', operation: 'subtitles', video: u(f, `clip${n}.mp4`) })],
  [
    'create_lip_sync',
    (f, n) => ({ provider: 'director', image: u(f, `face${n}.png`), audio: u(f, `voice${n}.wav`) }),
  ],
];

describe('paid tools ask for confirmation (stdio, LIPSYNC_CONFIRM_PAID=true, no elicitation)', () => {
  let fake: DirectorFake;
  let h: Home;
  let env: Record<string, string>;
  let m: BinMcp;
  before(async () => {
    fake = await new DirectorFake(CANARY.gateway).start();
    h = makeHome();
    env = {
      ...h.env,
      GATEWAY_TOKEN: CANARY.gateway,
      DIRECTOR_GATEWAY_URL: `${fake.url}/gw`,
      LIPSYNC_ALLOW_PRIVATE_URLS: 'true',
      LIPSYNC_CONFIRM_PAID: 'true',
    };
    m = await startBin(env);
  });
  after(async () => {
    await m.close();
    await fake.close();
    rmSync(h.root, { recursive: true, force: true });
  });

  for (const [i, [tool, args]] of PAID.entries()) {
    const label = JSON.stringify(args({ url: 'http://fake' }, 0)).slice(0, 50);
    test(`${tool} ${label}: confirmation_required, then confirm: true makes exactly one create`, async () => {
      const a = args(fake, 100 + i);
      const c0 = fake.creates;
      const first = await call(m, tool, a);
      assert.equal(fake.creates, c0, `${tool} created before confirmation: ${first.text}`);
      assert.equal(
        errCode(first),
        'confirmation_required',
        `${tool}: expected confirmation_required, got ${first.text.slice(0, 300)}`,
      );
      const second = await call(m, tool, { ...a, confirm: true });
      assert.equal(second.isError, false, `${tool} with confirm: true failed: ${second.text.slice(0, 300)}`);
      assert.equal(fake.creates - c0, 1, `${tool} with confirm: true made ${fake.creates - c0} creates`);
      if (tool === 'generate_image' || (tool === 'generate_audio' && a.kind === 'speech'))
        assert.doesNotMatch(
          first.text,
          /\bvideos?\b/i,
          `${tool}'s estimate talks about videos: ${first.text}`,
        );
    });
  }

  test('with an elicitation client that accepts, each paid tool makes exactly one create', async () => {
    const ma = await startBin(env, { elicit: 'accept' });
    try {
      for (const [tool, args] of PAID) {
        const c0 = fake.creates;
        const r = await call(ma, tool, args(fake, 300));
        assert.equal(r.isError, false, `${tool} after accepting: ${r.text.slice(0, 300)}`);
        assert.equal(fake.creates - c0, 1, `${tool} after accepting made ${fake.creates - c0} creates`);
      }
    } finally {
      await ma.close();
    }
  });

  test('with an elicitation client that declines, no paid tool sends anything', async () => {
    const md = await startBin(env, { elicit: 'decline' });
    try {
      const c0 = fake.creates;
      for (const [tool, args] of PAID) {
        const r = await call(md, tool, args(fake, 200));
        assert.equal(errCode(r), 'declined', `${tool}: expected declined, got ${r.text.slice(0, 300)}`);
      }
      assert.equal(fake.creates, c0, 'a declined job reached the provider');
      assert.ok(md.elicitations.length >= PAID.length, `only ${md.elicitations.length} elicitations`);
    } finally {
      await md.close();
    }
  });
});

describe('force_recreate on a pending task (jogg, confirmation on)', () => {
  test('asks nothing and creates nothing while the task is still pending', async () => {
    const fake = await new JoggFake(CANARY.jogg).start();
    fake.finishAfter = 1000;
    const h = makeHome();
    const env = joggEnv(h, fake.url, { LIPSYNC_ALLOW_PRIVATE_URLS: 'true', LIPSYNC_CONFIRM_PAID: 'true' });
    const m = await startBin(env, { elicit: 'accept' });
    try {
      const args = {
        provider: 'jogg',
        video: `${fake.url}/results/v.mp4`,
        audio: `${fake.url}/results/a.wav`,
      };
      const a = await call(m, 'create_lip_sync', args);
      assert.equal(a.isError, false, a.text);
      const e0 = m.elicitations.length;
      const c0 = fake.creates;
      const b = await call(m, 'create_lip_sync', { ...args, force_recreate: true });
      assert.equal(m.elicitations.length, e0, 'force_recreate on a pending task asked the user');
      assert.equal(fake.creates, c0, 'force_recreate on a pending task paid again');
      assert.equal(b.data.task_id, a.data.task_id, `another task: ${b.text.slice(0, 300)}`);
    } finally {
      await m.close();
      await fake.close();
      rmSync(h.root, { recursive: true, force: true });
    }
  });
});

describe('The Director: a plain 429 is a rate limit, video_limit_reached the daily limit (stdio)', () => {
  let fake: DirectorFake;
  let h: Home;
  let m: BinMcp;
  before(async () => {
    fake = await new DirectorFake(CANARY.gateway).start();
    h = makeHome();
    m = await startBin({
      ...h.env,
      GATEWAY_TOKEN: CANARY.gateway,
      DIRECTOR_GATEWAY_URL: `${fake.url}/gw`,
      LIPSYNC_ALLOW_PRIVATE_URLS: 'true',
    });
  });
  after(async () => {
    await m.close();
    await fake.close();
    rmSync(h.root, { recursive: true, force: true });
  });

  const limitsText = async (): Promise<string> =>
    (await call(m, 'check_credits', { provider: 'director' })).text;

  test('a plain 429 with Retry-After: 20 is rate_limited with the wait; check_credits reports no limit after it', async () => {
    fake.faults.push({ route: 'POST /gw', kind: 'status429', retryAfter: 20, times: 5 });
    let r: ToolOut;
    try {
      r = await call(m, 'generate_image', { prompt: 'rate limited fox' });
    } finally {
      fake.faults.length = 0;
    }
    assert.equal(errCode(r), 'rate_limited', `expected rate_limited, got ${r.text.slice(0, 400)}`);
    assert.match(r.text, /\b20\b/, `the wait (20 s) is not in ${r.text.slice(0, 400)}`);
    const c = await limitsText();
    assert.doesNotMatch(
      c,
      // The plan's limits are always listed ("Daily limits by plan: …"); what must not appear is one reached.
      /daily (video |image and audio )?limit (was )?(hit|reached)|limit (was )?(hit|reached)|video_limit/i,
      `check_credits reports a limit after a plain 429: ${c.slice(0, 600)}`,
    );
  });

  test('a 429 video_limit_reached is the daily limit', async () => {
    fake.dailyLimit = true;
    let r: ToolOut;
    try {
      r = await call(m, 'generate_image', { prompt: 'over the daily limit' });
    } finally {
      fake.dailyLimit = false;
    }
    assert.equal(errCode(r), 'daily_limit', `expected daily_limit, got ${r.text.slice(0, 400)}`);
  });
});

describe('The Director: an image does not use up the videos-per-day cap (stdio)', () => {
  let fake: DirectorFake;
  let h: Home;
  let m: BinMcp;
  before(async () => {
    fake = await new DirectorFake(CANARY.gateway).start();
    h = makeHome();
    m = await startBin({
      ...h.env,
      GATEWAY_TOKEN: CANARY.gateway,
      DIRECTOR_GATEWAY_URL: `${fake.url}/gw`,
      LIPSYNC_ALLOW_PRIVATE_URLS: 'true',
      LIPSYNC_CAP_DIRECTOR_VIDEOS_PER_DAY: '1',
    });
  });
  after(async () => {
    await m.close();
    await fake.close();
    rmSync(h.root, { recursive: true, force: true });
  });

  test('an image does not use up the video cap of 1', async () => {
    const img = await call(m, 'generate_image', { prompt: 'a green kettle' });
    assert.equal(img.isError, false, `generate_image failed: ${img.text.slice(0, 300)}`);
    const v = await call(m, 'generate_video', { prompt: 'the first video today' });
    assert.notEqual(errCode(v), 'spend_cap', `the image used up the video cap: ${v.text.slice(0, 400)}`);
    assert.equal(v.isError, false, v.text.slice(0, 300));
    const v2 = await call(m, 'generate_video', { prompt: 'the second video today' });
    assert.equal(errCode(v2), 'spend_cap', `the cap of 1 video did not hold: ${v2.text.slice(0, 300)}`);
  });
});
