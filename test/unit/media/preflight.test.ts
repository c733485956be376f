import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { after, before, test } from 'node:test';
import { isAppError } from '../../../src/errors.js';
import { runFfmpeg } from '../../../src/media/ffmpeg.js';
import { PREFLIGHT_SKIPPED, preflight } from '../../../src/media/preflight.js';
import type { InputRole, ProviderCapabilities, ResolvedInput } from '../../../src/providers/provider.js';
import {
  concatPcm,
  makeAudio,
  makeSpeechLike,
  makeVideo,
  mediaTools,
  type Tools,
  tempDir,
} from '../../helpers/media.js';

const LOCAL: { displayName: string; capabilities: ProviderCapabilities } = {
  displayName: 'Local engine',
  capabilities: {
    kinds: ['lip_sync'],
    formats: {
      video: ['mp4', 'mov', 'm4v', 'webm', 'mkv', 'avi'],
      audio: ['wav', 'mp3', 'm4a', 'aac', 'ogg', 'flac'],
    },
    playbackTypes: ['normal', 'normal_reverse', 'normal_reverse_by_audio'],
    paid: false,
  },
};
/** A provider that takes video files as audio too (so "no audio stream" is reached, not a format error). */
const LENIENT = {
  displayName: 'Lenient',
  capabilities: {
    ...LOCAL.capabilities,
    formats: { video: ['mp4', 'wav'], audio: ['wav', 'mp4'], image: ['png', 'jpg'] },
  },
};

let dir = '';
let cleanup = async () => {};
let tools: Tools;
let video720 = '';
let videoSmall = '';
let speech = '';

before(async () => {
  ({ dir, cleanup } = await tempDir());
  tools = await mediaTools();
  [video720, videoSmall, speech] = await Promise.all([
    makeVideo({ file: `${dir}/hd.mp4`, seconds: 2, width: 1280, height: 720 }),
    makeVideo({ file: `${dir}/small.mp4`, seconds: 2, width: 320, height: 240 }),
    makeAudio({ file: `${dir}/speech.wav`, pcm: makeSpeechLike(2, 2, 48_000), sampleRate: 48_000 }),
  ]);
});
after(() => cleanup());

function file(path: string): ResolvedInput {
  return {
    type: 'file',
    path,
    filename: basename(path),
    mime: 'application/octet-stream',
    size: 1,
    sha256: 'x',
  };
}

function run(inputs: Partial<Record<InputRole, ResolvedInput>>, provider = LOCAL, withTools = true) {
  return preflight({
    inputs,
    provider,
    ffprobePath: withTools ? tools.ffprobe : undefined,
    ffmpegPath: withTools ? tools.ffmpeg : undefined,
    signal: new AbortController().signal,
  });
}

function invalid(pattern: RegExp) {
  return (e: unknown) => {
    assert.ok(isAppError(e), String(e));
    assert.equal(e.code, 'invalid_input');
    assert.match(e.message, pattern);
    assert.ok(e.hint, 'has a hint');
    return true;
  };
}

test('a clean pair passes with no warnings and returns the probes', async () => {
  const res = await run({ video: file(video720), audio: file(speech) });
  assert.deepEqual(res.warnings, []);
  assert.equal(res.probes.video?.video?.height, 720);
  assert.equal(res.probes.audio?.audio?.sampleRate, 48_000);
});

test('errors: no video stream, no audio stream, truncated file, unaccepted format', async () => {
  await assert.rejects(
    run({ video: file(speech), audio: file(speech) }, LENIENT),
    invalid(/speech\.wav has no video stream/),
  );
  await assert.rejects(
    run({ video: file(video720), audio: file(videoSmall) }, LENIENT),
    invalid(/small\.mp4 has no audio stream/),
  );
  await assert.rejects(
    run(
      { image: file(speech), audio: file(speech) },
      { ...LENIENT, capabilities: { ...LENIENT.capabilities, formats: { image: ['wav'], audio: ['wav'] } } },
    ),
    invalid(/cannot be used as an image/),
  );

  const bytes = await readFile(video720);
  await writeFile(`${dir}/cut.mp4`, bytes.subarray(0, bytes.length >> 1));
  await assert.rejects(
    run({ video: file(`${dir}/cut.mp4`), audio: file(speech) }),
    invalid(/^cut\.mp4 could not be read/),
  );

  const flv = await makeVideo({ file: `${dir}/clip.flv`, seconds: 1 });
  await assert.rejects(
    run({ video: file(flv), audio: file(speech) }),
    invalid(/clip\.flv is a \.flv file; Local engine accepts video as mp4, mov/),
  );
  // A URL is not probed, but a known unaccepted extension is still refused before paying.
  const url: ResolvedInput = {
    type: 'url',
    url: 'https://x.test/v.flv',
    filename: 'v.flv',
    mime: 'video/x-flv',
  };
  await assert.rejects(run({ video: url, audio: file(speech) }), invalid(/v\.flv is a \.flv file/));
  // An odd extension on a real mp4 is judged by content.
  const { copyFile } = await import('node:fs/promises');
  await copyFile(video720, `${dir}/hd.video`);
  await run({ video: file(`${dir}/hd.video`), audio: file(speech) });
});

test('warnings: duration mismatch, below 480p, 22.05 kHz, mostly silent', async () => {
  const long = await makeAudio({
    file: `${dir}/long.wav`,
    pcm: makeSpeechLike(4, 3, 48_000),
    sampleRate: 48_000,
  });
  const res1 = await run({ video: file(video720), audio: file(long) });
  assert.equal(res1.warnings.length, 1, res1.warnings.join('\n'));
  assert.match(
    res1.warnings[0]!,
    /audio \(3\.0 s\) is 50% longer than the video \(2\.0 s\).*sync suffers.*Trim or stretch.*playback_type normal_reverse/,
  );

  const res2 = await run({ video: file(videoSmall), audio: file(speech) });
  assert.deepEqual(res2.warnings.length, 1);
  assert.match(res2.warnings[0]!, /small\.mp4 is 320x240, below 480p/);

  const low = await makeAudio({
    file: `${dir}/low.wav`,
    pcm: makeSpeechLike(2, 2, 22_050),
    sampleRate: 22_050,
  });
  const res3 = await run({ video: file(video720), audio: file(low) });
  assert.equal(res3.warnings.length, 1);
  assert.match(res3.warnings[0]!, /low\.wav is sampled at 22\.05 kHz, not 44\.1 or 48 kHz/);

  const quiet = concatPcm(new Float32Array(48_000 * 1.8), makeSpeechLike(5, 0.2, 48_000));
  const silent = await makeAudio({ file: `${dir}/quiet.wav`, pcm: quiet, sampleRate: 48_000 });
  const res4 = await run({ video: file(video720), audio: file(silent) });
  assert.equal(res4.warnings.length, 1, res4.warnings.join('\n'));
  assert.match(res4.warnings[0]!, /quiet\.wav is mostly silent \(\d+% below -45 dB\)/);
});

test('an image input is a picture with a video stream (png / jpg)', async () => {
  for (const ext of ['png', 'jpg']) {
    const img = `${dir}/face.${ext}`;
    await runFfmpeg(tools.ffmpeg, ['-f', 'lavfi', '-i', 'testsrc=size=640x480', '-frames:v', '1', img], {
      what: 'image',
    });
    const res = await run({ image: file(img), audio: file(speech) }, LENIENT);
    assert.deepEqual(res.warnings, []);
    assert.equal(res.probes.image?.video?.width, 640);
  }
  // The local engine takes no image at all: refused up front, not after an upload.
  await assert.rejects(
    run({ image: file(`${dir}/face.png`), audio: file(speech) }),
    invalid(/does not take an image input/),
  );
});

test('no ffprobe: checks are skipped with a warning that says how to get it', async () => {
  const res = await run({ video: file(video720), audio: file(speech) }, LOCAL, false);
  assert.deepEqual(res.warnings, [PREFLIGHT_SKIPPED]);
  assert.match(res.warnings[0]!, /^preflight skipped: ffprobe not found.*FFPROBE_PATH/);
  assert.deepEqual(res.probes, {});
  // Extension checks still run without ffprobe.
  await assert.rejects(
    run({ video: file(`${dir}/x.flv`), audio: file(speech) }, LOCAL, false),
    invalid(/\.flv/),
  );
});
