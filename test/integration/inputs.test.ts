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

describe('input URLs a cloud provider cannot reach are refused before any request', () => {
  let fake: FakeJogg;
  let env: TestEnv;
  let h: Harness;
  let audio: string;
  // A public-looking name whose DNS answers include a private address (DNS rebinding, split horizon).
  const lookupHost = async (host: string) =>
    host === 'rebind.example.com'
      ? [
          { address: '203.0.113.7', family: 4 },
          { address: '10.0.0.5', family: 4 },
        ]
      : host === 'v6.example.com'
        ? [{ address: 'fd00::5', family: 6 }]
        : [{ address: '203.0.113.10', family: 4 }];
  before(async () => {
    fake = await startFakeJogg();
    env = testEnv({ JOGG_API_KEY: fake.apiKey, JOGG_BASE_URL: fake.url });
    h = await harness(env.env, { lookupHost });
    audio = writeBytes(join(env.work, 'a.wav'), 'audio');
  });
  after(async () => {
    await h.close();
    await fake.close();
    env.cleanup();
  });

  const internal = [
    'http://169.254.169.254/latest/a.mp4',
    'http://127.0.0.1:8080/a.mp4',
    'http://127.9.9.9/a.mp4',
    'http://localhost/a.mp4',
    'http://LOCALHOST./a.mp4',
    'http://app.localhost/a.mp4',
    'http://0.0.0.0/a.mp4',
    'http://[::1]/a.mp4',
    'http://[::]/a.mp4',
    'http://[fe80::1]/a.mp4',
    'http://169.254.1.1/a.mp4',
    'http://10.1.2.3/a.mp4',
    'http://172.16.5.4/a.mp4',
    'http://172.31.255.255/a.mp4',
    'http://192.168.1.10/a.mp4',
    'http://100.64.0.1/a.mp4',
    'http://[fd12:3456::1]/a.mp4',
    'http://[fc00::1]/a.mp4',
    'http://[::ffff:127.0.0.1]/a.mp4',
    'http://[::ffff:169.254.169.254]/a.mp4',
    'http://metadata.google.internal/computeMetadata/v1/a.mp4',
    'http://metadata/a.mp4',
    'http://2130706433/a.mp4',
    'http://0x7f000001/a.mp4',
    'http://0177.0.0.1/a.mp4',
    'http://127.1/a.mp4',
    'https://rebind.example.com/a.mp4',
    'https://v6.example.com/a.mp4',
  ];
  for (const url of internal) {
    test(`refused: ${url}`, async () => {
      const calls0 = fake.calls.length;
      const res = await h.call('create_lip_sync', { video: url, audio });
      const err = errorOf(res);
      assert.equal(err.code, 'invalid_input');
      assert.match(err.message, /^Video input: .*not reachable from the internet/);
      assert.match(err.message, /provider must be able to fetch the URL/);
      assert.match(err.hint ?? '', /local file path/);
      assert.match(err.hint ?? '', /LIPSYNC_ALLOW_PRIVATE_URLS=true/);
      assert.equal(fake.calls.length, calls0, 'nothing reached the provider');
    });
  }

  test('the audio URL is checked too, and a private DNS answer is named', async () => {
    const calls0 = fake.calls.length;
    const video = writeBytes(join(env.work, 'v.mp4'), 'video');
    const err = errorOf(
      await h.call('create_lip_sync', { video, audio: 'https://rebind.example.com/s.wav' }),
    );
    assert.match(err.message, /^Audio input: .*rebind\.example\.com resolves to 10\.0\.0\.5/);
    assert.equal(fake.calls.length, calls0);
  });

  test('public hosts and addresses still go through', async () => {
    const res = await h.call('create_lip_sync', {
      video: 'https://cdn.example.com/talk.mp4',
      audio: 'http://93.184.215.14/voice.wav',
    });
    assert.ok(!res.isError, JSON.stringify(res.content));
    assert.equal(fake.count('POST', '/v2/create_lip_sync_video'), 1);
  });
});

describe('LIPSYNC_ALLOW_PRIVATE_URLS=true lets internal URLs through (a provider inside your network)', () => {
  test('a link-local URL reaches the provider when allowed', async () => {
    const fake = await startFakeJogg();
    const env = testEnv({
      JOGG_API_KEY: fake.apiKey,
      JOGG_BASE_URL: fake.url,
      LIPSYNC_ALLOW_PRIVATE_URLS: 'true',
    });
    const h = await harness(env.env);
    try {
      const audio = writeBytes(join(env.work, 'a.wav'), 'audio');
      const res = await h.call('create_lip_sync', { video: 'http://10.0.0.8/studio/a.mp4', audio });
      assert.ok(!res.isError, JSON.stringify(res.content));
      assert.ok(fake.calls.length > 0, 'the provider was asked');
    } finally {
      await h.close();
      await fake.close();
      env.cleanup();
    }
  });
});
