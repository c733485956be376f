// Hostile inputs: paths outside the allowed folders, hidden files, symlinks, internal URLs in many spellings,
// odd names. A refused input must never reach the provider and must say which input is wrong.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { JoggFake } from './fakes/jogg.js';
import {
  CANARY,
  call,
  errCode,
  type Home,
  joggEnv,
  type Mcp,
  makeHome,
  mediaPair,
  STACK,
  startMcp,
  wav,
} from './helpers.js';

describe('hostile inputs (stdio, jogg)', () => {
  let fake: JoggFake;
  let h: Home;
  let m: Mcp;
  let good: { video: string; audio: string };

  before(async () => {
    fake = await new JoggFake(CANARY.jogg).start();
    h = makeHome({ LIPSYNC_MAX_INPUT_MB: '1' });
    m = await startMcp(joggEnv(h, fake.url));
    good = mediaPair(h.media, 100);
  });
  after(async () => {
    await m.close();
    await fake.close();
  });

  const refused = async (video: string, role: 'video' | 'audio' = 'video') => {
    const n = fake.log.length;
    const args = role === 'video' ? { video, audio: good.audio } : { video: good.video, audio: video };
    const r = await call(m, 'create_lip_sync', { ...args, provider: 'jogg' });
    assert.equal(r.isError, true, `accepted: ${video} -> ${r.text}`);
    assert.ok(['invalid_input', 'unsupported', 'not_found'].includes(String(errCode(r))), r.text);
    assert.ok(!STACK.test(r.text), r.text);
    assert.equal(fake.log.length, n, `provider was contacted for ${video}`);
    return r;
  };

  test('a file outside the allowed folders is refused', async () => {
    const p = mediaPair(h.outside, 101);
    const r = await refused(p.video);
    assert.match(r.text, /allowed|outside|LIPSYNC_ALLOWED_DIRS/i);
  });
  test('/etc/passwd is refused', async () => {
    await refused('/etc/passwd');
  });
  test('a path that climbs out with .. is refused', async () => {
    const p = mediaPair(h.outside, 102);
    await refused(join(h.media, '..', 'outside', 'm102.mp4'));
    assert.ok(p.video);
  });
  test('a file inside a hidden folder is refused', async () => {
    mkdirSync(join(h.media, '.secret'), { recursive: true });
    const p = mediaPair(join(h.media, '.secret'), 103);
    await refused(p.video);
  });
  test('a hidden file name is refused', async () => {
    const p = mediaPair(h.media, 104, '.hidden');
    await refused(p.video);
  });
  test('a symlink inside the allowed folder pointing outside is refused', async () => {
    const p = mediaPair(h.outside, 105);
    const link = join(h.media, 'link105.mp4');
    symlinkSync(p.video, link);
    await refused(link);
  });
  test('a symlinked folder pointing outside is refused', async () => {
    mediaPair(h.outside, 106);
    symlinkSync(h.outside, join(h.media, 'outdir'));
    await refused(join(h.media, 'outdir', 'm106.mp4'));
  });
  test('a symlink to a hidden file inside the allowed folder is refused', async () => {
    mkdirSync(join(h.media, '.ssh'), { recursive: true });
    const p = mediaPair(join(h.media, '.ssh'), 107);
    symlinkSync(p.audio, join(h.media, 'innocent107.wav'));
    await refused(join(h.media, 'innocent107.wav'), 'audio');
  });
  test('a directory is refused', async () => {
    mkdirSync(join(h.media, 'adir.mp4'), { recursive: true });
    await refused(join(h.media, 'adir.mp4'));
  });
  test('a missing file is refused with its name', async () => {
    const r = await refused(join(h.media, 'nope.mp4'));
    assert.match(r.text, /nope\.mp4/);
  });
  test('a text file named .mp4 is refused before any upload', async () => {
    writeFileSync(join(h.media, 'fake.mp4'), 'this is not a video at all\n'.repeat(100));
    await refused(join(h.media, 'fake.mp4'));
  });
  test('an empty file is refused', async () => {
    writeFileSync(join(h.media, 'empty.wav'), '');
    await refused(join(h.media, 'empty.wav'), 'audio');
  });
  test('a file over LIPSYNC_MAX_INPUT_MB is refused', async () => {
    writeFileSync(join(h.media, 'big.wav'), wav(108, 70)); // ~1.1 MB
    await refused(join(h.media, 'big.wav'), 'audio');
  });
  test('a FIFO is refused without hanging', async () => {
    execFileSync('mkfifo', [join(h.media, 'pipe.wav')]);
    await refused(join(h.media, 'pipe.wav'), 'audio');
  });
  test('/dev/zero through a symlink is refused without hanging', async () => {
    symlinkSync('/dev/zero', join(h.media, 'zero.wav'));
    await refused(join(h.media, 'zero.wav'), 'audio');
  });
  test('a relative path is resolved safely (refused or inside the allowed folder)', async () => {
    const r = await call(m, 'create_lip_sync', {
      video: '../../../../etc/passwd',
      audio: good.audio,
      provider: 'jogg',
    });
    assert.equal(r.isError, true);
    assert.ok(!STACK.test(r.text));
  });
  test('a very long file name (250 bytes) is handled without a crash', async () => {
    const p = mediaPair(h.media, 109, `v${'x'.repeat(245)}`);
    const r = await call(m, 'create_lip_sync', { ...p, provider: 'jogg' });
    assert.ok(!STACK.test(r.text), r.text);
    assert.ok(r.isError === false || ['invalid_input'].includes(String(errCode(r))), r.text);
  });
  test('a file name with a newline, quotes and unicode is handled and reported safely', async () => {
    const p = mediaPair(h.media, 110, 'we"ird\nname ☃ \u202e');
    const r = await call(m, 'create_lip_sync', { ...p, provider: 'jogg' });
    assert.ok(!STACK.test(r.text), r.text);
    assert.equal(r.isError, false, r.text);
  });
  test('a path with a NUL byte is refused', async () => {
    await refused(`${good.video}\u0000.txt`);
  });

  const internal = [
    'http://169.254.169.254/latest/meta-data/v.mp4',
    'http://127.0.0.1:9/v.mp4',
    'http://localhost/v.mp4',
    'http://2130706433/v.mp4',
    'http://0x7f000001/v.mp4',
    'http://0177.0.0.1/v.mp4',
    'http://127.1/v.mp4',
    'http://[::1]/v.mp4',
    'http://[::ffff:127.0.0.1]/v.mp4',
    'http://[::ffff:7f00:1]/v.mp4',
    'http://10.0.0.5/v.mp4',
    'http://192.168.1.10/v.mp4',
    'http://172.16.0.1/v.mp4',
    'http://100.64.0.1/v.mp4',
    'http://0.0.0.0/v.mp4',
    'http://[fe80::1]/v.mp4',
    'http://metadata.google.internal/v.mp4',
    'http://localhost./v.mp4',
    'http://LocalHost/v.mp4',
    'http://foo.localhost/v.mp4',
    'http://[0:0:0:0:0:0:0:1]/v.mp4',
    'http://user:pass@media.example.com/v.mp4',
    'file:///etc/passwd',
    'ftp://media.example.com/v.mp4',
    'javascript:alert(1)',
    'http://0251.0376.0251.0376/v.mp4',
    'http://169.254.169.254%2f@media.example.com/v.mp4',
  ];
  for (const u of internal) {
    test(`URL refused: ${u}`, async () => {
      await refused(u);
    });
  }

  test('a name that does not resolve here (169.254.169.254.nip.io) is not silently accepted', async () => {
    await refused('http://169.254.169.254.nip.io/v.mp4');
  });
  test('upload_asset of a file outside the allowed folders is refused without contacting the provider', async () => {
    const p = mediaPair(h.outside, 111);
    const n = fake.log.length;
    const r = await call(m, 'upload_asset', { file: p.video, provider: 'jogg' });
    assert.equal(r.isError, true, r.text);
    assert.equal(fake.log.length, n);
  });
  test('upload_asset of an internal URL is refused', async () => {
    const r = await call(m, 'upload_asset', { file: 'http://169.254.169.254/x.mp4', provider: 'jogg' });
    assert.equal(r.isError, true, r.text);
  });
  test('download_result of a task id with path characters is refused cleanly', async () => {
    const r = await call(m, 'download_result', { task_id: '../../etc/passwd' });
    assert.equal(r.isError, true);
    assert.ok(!STACK.test(r.text));
  });
  test('an oversized instruction string does not crash the server', async () => {
    const r = await call(m, 'get_task_status', { task_id: 'x'.repeat(200_000) });
    assert.equal(r.isError, true);
    assert.ok(r.text.length < 20_000, `echoed ${r.text.length} chars`);
  });
});
