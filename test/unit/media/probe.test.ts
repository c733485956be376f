import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { isAppError } from '../../../src/errors.js';
import { parseRate, probe } from '../../../src/media/probe.js';
import {
  makeAudio,
  makeSpeechLike,
  makeVideo,
  mediaTools,
  type Tools,
  tempDir,
} from '../../helpers/media.js';

let dir = '';
let cleanup = async () => {};
let tools: Tools;
before(async () => {
  ({ dir, cleanup } = await tempDir());
  tools = await mediaTools();
});
after(() => cleanup());

async function truncate(src: string, dst: string, keep: number): Promise<string> {
  const bytes = await readFile(src);
  await writeFile(dst, bytes.subarray(0, Math.floor(bytes.length * keep)));
  return dst;
}

function invalid(name: string, why: RegExp) {
  return (e: unknown) => {
    assert.ok(isAppError(e), String(e));
    assert.equal(e.code, 'invalid_input');
    assert.ok(e.message.startsWith(name), e.message);
    assert.match(e.message, why);
    assert.ok(e.hint);
    return true;
  };
}

test('probe normalizes video and audio streams', async () => {
  const file = await makeVideo({
    file: `${dir}/v.mp4`,
    seconds: 2,
    width: 320,
    height: 240,
    fps: 30,
    withAudio: 'sine=f=300:d=2:sample_rate=44100',
  });
  const p = await probe(tools.ffprobe, file);
  assert.match(p.formatName, /mp4/);
  assert.ok(Math.abs((p.durationSeconds ?? 0) - 2) < 0.05);
  assert.equal(p.video?.codec, 'h264');
  assert.equal(p.video?.width, 320);
  assert.equal(p.video?.height, 240);
  assert.equal(p.video?.fps, 30);
  assert.equal(p.audio?.codec, 'aac');
  assert.equal(p.audio?.sampleRate, 44100);
  assert.equal(p.audio?.channels, 1);
  assert.equal(parseRate('30000/1001').toFixed(3), '29.970');
  assert.equal(parseRate('0/0'), 0);
});

test('probe refuses unreadable and truncated files, naming them', async () => {
  const video = await makeVideo({ file: `${dir}/full.mp4`, seconds: 3, withAudio: 'sine=d=3' });
  const fast = await makeVideo({
    file: `${dir}/fast.mp4`,
    seconds: 3,
    withAudio: 'sine=d=3',
    extra: ['-movflags', '+faststart'],
  });
  // Index at the end (ffmpeg's default): cut short, the file has no index at all.
  await assert.rejects(
    probe(tools.ffprobe, await truncate(video, `${dir}/cut.mp4`, 0.5)),
    invalid('cut.mp4', /could not be read/),
  );
  // Index first: the header looks complete; only the data ends early.
  await assert.rejects(
    probe(tools.ffprobe, await truncate(fast, `${dir}/cut-fast.mp4`, 0.4)),
    invalid('cut-fast.mp4', /truncated/),
  );
  const mp3 = await makeAudio({ file: `${dir}/a.mp3`, lavfi: 'sine=d=4' });
  await assert.rejects(
    probe(tools.ffprobe, await truncate(mp3, `${dir}/cut.mp3`, 0.4)),
    invalid('cut.mp3', /truncated/),
  );
  const wav = await makeAudio({ file: `${dir}/a.wav`, pcm: makeSpeechLike(1, 3), sampleRate: 16_000 });
  await assert.rejects(
    probe(tools.ffprobe, await truncate(wav, `${dir}/cut.wav`, 0.5)),
    invalid('cut.wav', /truncated/),
  );
  await writeFile(`${dir}/text.mp4`, 'this is not a video at all');
  await assert.rejects(probe(tools.ffprobe, `${dir}/text.mp4`), invalid('text.mp4', /could not be read/));
  // The untouched originals are fine.
  await probe(tools.ffprobe, fast);
  await probe(tools.ffprobe, mp3);
  await probe(tools.ffprobe, wav);
});
