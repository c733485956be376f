import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type FakeJogg, startFakeJogg } from '../fakes/jogg/index.js';
import { errorOf, type Harness, harness, type TestEnv, testEnv, writeBytes } from '../helpers/app.js';

describe('bad inputs get a clear error and no request', () => {
  let fake: FakeJogg;
  let env: TestEnv;
  let h: Harness;
  let audio: string;
  let video: string;
  before(async () => {
    fake = await startFakeJogg();
    env = testEnv({ JOGG_API_KEY: fake.apiKey, JOGG_BASE_URL: fake.url });
    h = await harness(env.env);
    audio = writeBytes(join(env.work, 'a.wav'), 'audio');
    video = writeBytes(join(env.work, 'v.mp4'), 'video');
    mkdirSync(join(env.home, '.ssh'), { recursive: true });
    writeBytes(join(env.home, '.ssh', 'id_rsa.mp4'), 'secret');
    mkdirSync(join(env.root, 'outside'), { recursive: true });
    writeBytes(join(env.root, 'outside', 'o.mp4'), 'outside');
    symlinkSync(join(env.root, 'outside', 'o.mp4'), join(env.work, 'escape.mp4'));
    symlinkSync(join(env.home, '.ssh', 'id_rsa.mp4'), join(env.work, 'sneaky.mp4'));
    writeFileSync(join(env.work, 'empty.mp4'), '');
  });
  after(async () => {
    await h.close();
    await fake.close();
    env.cleanup();
  });

  const cases: [string, () => Record<string, unknown>, RegExp][] = [
    ['missing file', () => ({ video: join(env.work, 'nope.mp4'), audio }), /not found/],
    ['directory', () => ({ video: env.work, audio }), /directory/],
    [
      'outside the allowed roots',
      () => ({ video: join(env.root, 'outside', 'o.mp4'), audio }),
      /outside the folders/,
    ],
    ['hidden path (~/.ssh/...)', () => ({ video: '~/.ssh/id_rsa.mp4', audio }), /hidden/],
    [
      'symlink escaping a root',
      () => ({ video: join(env.work, 'escape.mp4'), audio }),
      /outside the folders/,
    ],
    ['symlink into a hidden folder', () => ({ video: join(env.work, 'sneaky.mp4'), audio }), /hidden/],
    ['empty file', () => ({ video: join(env.work, 'empty.mp4'), audio }), /empty/],
    ['file:// URL', () => ({ video: `file://${video}`, audio }), /file:\/\/ URLs are not accepted/],
    ['ftp:// URL', () => ({ video: 'ftp://example.com/v.mp4', audio }), /ftp:\/\/ URLs are not accepted/],
    [
      'URL with credentials',
      () => ({ video: 'https://user:pass@example.com/v.mp4', audio }),
      /user name or password/,
    ],
    ['NUL byte', () => ({ video: `${video}\u0000.mp4`, audio }), /NUL/],
    ['UNC path', () => ({ video: '\\\\server\\share\\v.mp4', audio }), /UNC/],
    ['Windows drive path', () => ({ video: 'C:\\Users\\me\\v.mp4', audio }), /Windows drive path/],
    [
      'dot-dot escape',
      () => ({ video: join(env.work, '..', '..', 'outside', 'o.mp4'), audio }),
      /outside the folders/,
    ],
    [
      'unknown playback_type',
      () => ({ video, audio, playback_type: 'sideways' }),
      /playback_type|Invalid enum/i,
    ],
    ['no video and no image', () => ({ audio }), /video/],
  ];

  for (const [name, args, re] of cases) {
    test(name, async () => {
      const calls0 = fake.calls.length;
      const res = await h.call('create_lip_sync', args());
      const err = errorOf(res);
      assert.match(`${err.message} ${err.hint ?? ''}`, re);
      assert.doesNotMatch(JSON.stringify(res), /at .*\.js:\d+/, 'no stack trace');
      assert.equal(fake.calls.length, calls0, 'nothing reached the provider');
    });
  }
});
