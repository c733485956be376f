import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ALL_TOOLS } from '../../tools/all.js';
import { type FakeDirector, startFakeDirector } from '../fakes/director/index.js';
import { type FakeJogg, startFakeJogg } from '../fakes/jogg/index.js';
import { type FakeNemo, startFakeNemo } from '../fakes/nemovideo/index.js';
import { errorOf, harness, testEnv, writeBytes } from '../helpers/app.js';

/**
 * Every paid tool, on every provider it can pay, says in its confirmation what the job costs in the
 * right unit: "1 credit", "1 speech clip", never "1 credits" or "costs 1 videos" for an audio clip.
 */
describe('confirmation messages name the right unit for every paid tool (issue 24 follow-up)', () => {
  let jogg: FakeJogg;
  let director: FakeDirector;
  let nemo: FakeNemo;
  before(async () => {
    [jogg, director, nemo] = await Promise.all([startFakeJogg(), startFakeDirector(), startFakeNemo()]);
  });
  after(async () => {
    await Promise.all([jogg.close(), director.close(), nemo.close()]);
  });

  const url = (name: string) => `https://cdn.example.com/units-${name}`;
  /** [tool, arguments, what the message must say]; `local` builds arguments from files in the work dir. */
  type Case = [string, (work: string) => Record<string, unknown>, RegExp];
  let n = 0;
  const files = (work: string) => {
    const i = ++n;
    return {
      video: writeBytes(join(work, `u${i}.mp4`), `units-video-${i}`),
      audio: writeBytes(join(work, `u${i}.wav`), `units-audio-${i}`),
    };
  };
  const cases: Case[] = [
    ['create_lip_sync', (w) => ({ ...files(w), provider: 'jogg' }), /costs 1 credit \(/],
    ['create_lip_sync', (w) => ({ ...files(w), provider: 'nemovideo' }), /costs unknown until the job ends/],
    [
      'create_lip_sync',
      () => ({ provider: 'director', image: url('face.png'), audio: url('line.mp3') }),
      /costs 1 video\b/,
    ],
    ['generate_video', () => ({ prompt: 'units: a lighthouse' }), /costs 1 video\b/],
    ['generate_image', () => ({ prompt: 'units: a fox' }), /costs 1 image\b/],
    ['generate_audio', () => ({ kind: 'speech', text: 'units: hello' }), /costs 1 speech clip\b/],
    ['generate_audio', () => ({ kind: 'music', prompt: 'units: piano' }), /costs 1 music track\b/],
    ['generate_audio', () => ({ kind: 'effect', prompt: 'units: a door' }), /costs 1 sound effect\b/],
    ['transcribe', () => ({ audio: url('talk.mp3') }), /costs 1 transcript\b/],
    [
      'edit_video',
      () => ({ provider: 'nemovideo', video: url('clip.mp4'), instruction: 'units: add captions' }),
      /costs unknown until the job ends/,
    ],
    [
      'edit_video',
      () => ({ provider: 'director', video: url('clip.mp4'), operation: 'subtitles' }),
      /costs 1 video \(post-production: subtitles\)/,
    ],
    [
      'edit_video',
      () => ({ provider: 'director', video: url('clip.mp4'), operation: 'extract_frame', at_seconds: 1 }),
      /costs 1 video \(post-production: extract frame; the output is an image\)/,
    ],
  ];

  test('the cases cover every tool that can pay', () => {
    const paid = ALL_TOOLS.filter((t) => t.paid).map((t) => t.name);
    assert.deepEqual([...new Set(cases.map((c) => c[0]))].sort(), paid.sort());
  });

  test('confirmation_required and the question asked of the user say the cost in the right unit', async () => {
    const env = testEnv({
      JOGG_API_KEY: jogg.apiKey,
      JOGG_BASE_URL: jogg.url,
      GATEWAY_TOKEN: director.token,
      DIRECTOR_GATEWAY_URL: director.url,
      NEMO_BASE_URL: nemo.url,
      LIPSYNC_CONFIRM_PAID: 'true',
    });
    const asked: string[] = [];
    const plain = await harness(env.env);
    const asking = await harness(env.env, { elicit: { answer: 'decline', asked } });
    try {
      const wrongPlural = /\b1 (credits|videos|images|transcripts)\b/;
      for (const [tool, args, want] of cases) {
        const what = `${tool} ${JSON.stringify(args(env.work))}`;
        const e = errorOf(await plain.call(tool, args(env.work)));
        assert.equal(e.code, 'confirmation_required', `${what}: ${e.message}`);
        assert.match(e.message, want, `${what}: ${e.message}`);
        assert.doesNotMatch(e.message, wrongPlural, `${what}: ${e.message}`);
        const before = asked.length;
        const d = errorOf(await asking.call(tool, args(env.work)));
        assert.equal(d.code, 'declined', `${what}: ${d.message}`);
        assert.equal(asked.length, before + 1, `${what}: the user was asked once`);
        const question = asked.at(-1)!;
        assert.match(question, new RegExp(want.source.replace(/^costs /, 'Expected cost: ')), question);
        assert.doesNotMatch(question, wrongPlural, question);
      }
    } finally {
      await plain.close();
      await asking.close();
      env.cleanup();
    }
  });
});
