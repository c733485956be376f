import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { watch as fsWatch } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { systemClock } from '../../../src/clock.js';
import { isAppError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/logger.js';
import { probe } from '../../../src/media/probe.js';
import { estimateOffset } from '../../../src/providers/local/align.js';
import { alignAudio } from '../../../src/providers/local/engine.js';
import { createLocalProvider, STOPPED_MESSAGE } from '../../../src/providers/local/index.js';
import { decodePcm } from '../../../src/providers/local/pcm.js';
import type { Snapshot } from '../../../src/providers/provider.js';
import {
  addNoise,
  concatPcm,
  makeAudio,
  makeSpeechLike,
  makeVideo,
  mediaTools,
  shiftPcm,
  type Tools,
  tempDir,
} from '../../helpers/media.js';
import { fileInput, localProvider, runLocal } from './run-job.js';

const RATE = 48_000;
const FRAME = 1 / 25;
let dir = '';
let cleanup = async () => {};
let tools: Tools;
let silentVideo = '';
let speech: Float32Array;
let talkingVideo = '';
let speech53 = '';

before(async () => {
  ({ dir, cleanup } = await tempDir());
  tools = await mediaTools();
  speech = makeSpeechLike(7, 6, RATE);
  [silentVideo, talkingVideo, speech53] = await Promise.all([
    makeVideo({ file: `${dir}/silent.mp4`, seconds: 2 }),
    makeVideo({
      file: `${dir}/talking.mp4`,
      seconds: 6,
      withAudio: addNoise(speech, 0.01, 1),
      sampleRate: RATE,
    }),
    makeAudio({ file: `${dir}/speech53.wav`, pcm: makeSpeechLike(3, 5.3, RATE), sampleRate: RATE }),
  ]);
});
after(() => cleanup());

async function outputOf(url: string | undefined) {
  assert.ok(url?.startsWith('file://'), `result url ${url}`);
  const file = fileURLToPath(url ?? '');
  return { file, probe: await probe(tools.ffprobe, file) };
}

function near(actual: number | undefined, expected: number, tol: number, what: string) {
  assert.ok(actual !== undefined && Math.abs(actual - expected) <= tol, `${what}: ${actual} vs ${expected}`);
}

for (const playback_type of ['normal', 'normal_reverse', 'normal_reverse_by_audio']) {
  test(`${playback_type}: a 2 s video over 5.3 s of audio lasts as long as the audio`, async () => {
    const r = await runLocal({
      video: silentVideo,
      audio: speech53,
      workDir: `${dir}/out`,
      params: { playback_type },
    });
    assert.equal(r.final.status, 'success', JSON.stringify(r.final.error));
    const { probe: p } = await outputOf(r.final.resultUrl);
    near(p.durationSeconds, 5.3, FRAME, 'container');
    near(p.video?.durationSeconds, 5.3, FRAME, 'video stream');
    near(p.audio?.durationSeconds, 5.3, FRAME, 'audio stream');
    near(r.final.durationSeconds, 5.3, FRAME, 'reported');
    assert.equal(p.video?.codec, 'h264');
    assert.equal(p.audio?.codec, 'aac');
    assert.equal(r.final.extra?.lip_motion, 'unchanged');
    assert.equal(r.final.extra?.playback_type, playback_type);
    assert.equal(r.final.extra?.aligned, false);
    assert.match(String(r.final.extra?.align_note), /no soundtrack/);
    assert.ok(r.progress.length >= 2 && r.progress.every((x) => x >= 0 && x < 1));
  });
}

test('normal: audio shorter than the video ends the output with the audio', async () => {
  const short = await makeAudio({
    file: `${dir}/short.wav`,
    pcm: makeSpeechLike(4, 1.3, RATE),
    sampleRate: RATE,
  });
  for (const playback_type of ['normal', 'normal_reverse']) {
    const r = await runLocal({
      video: silentVideo,
      audio: short,
      workDir: `${dir}/out`,
      params: { playback_type },
    });
    assert.equal(r.final.status, 'success');
    const { probe: p } = await outputOf(r.final.resultUrl);
    near(p.durationSeconds, 1.3, FRAME, `${playback_type} container`);
    near(p.video?.durationSeconds, 1.3, FRAME, `${playback_type} video`);
  }
});

test('an NTSC-rate (30000/1001) video keeps its exact rate through a bounce', async () => {
  const ntsc = await makeVideo({ file: `${dir}/ntsc.mp4`, seconds: 1.5, fps: '30000/1001' });
  const r = await runLocal({
    video: ntsc,
    audio: speech53,
    workDir: `${dir}/out`,
    params: { playback_type: 'normal_reverse' },
  });
  assert.equal(r.final.status, 'success', JSON.stringify(r.final.error));
  const { probe: p } = await outputOf(r.final.resultUrl);
  assert.equal(p.video?.frameRate, '30000/1001');
  near(p.video?.durationSeconds, 5.3, 1001 / 30000, 'video stream');
});

test('alignment: known offsets of the new audio against the video soundtrack, within 20 ms', async () => {
  const signal = new AbortController().signal;
  for (const shift of [-700, -120, 40, 350]) {
    const file = await makeAudio({
      file: `${dir}/shift${shift}.wav`,
      pcm: addNoise(shiftPcm(speech, shift, RATE), 0.05, 2),
      sampleRate: RATE,
    });
    const pcm = await decodePcm(tools.ffmpeg, file, { signal });
    const est = await alignAudio(
      { ffmpegPath: tools.ffmpeg, ffprobePath: tools.ffprobe },
      talkingVideo,
      pcm,
      signal,
    );
    assert.equal(est.aligned, true, est.note);
    assert.ok(Math.abs(est.offsetMs + shift) <= 20, `content ${shift} ms late -> shifted ${est.offsetMs} ms`);
    assert.ok(est.confidence >= 0.4);
  }
});

test('alignment end to end: the output soundtrack lines up with the original', async () => {
  const late = await makeAudio({
    file: `${dir}/late.wav`,
    pcm: addNoise(shiftPcm(speech, 350, RATE), 0.05, 4),
    sampleRate: RATE,
  });
  const r = await runLocal({ video: talkingVideo, audio: late, workDir: `${dir}/out` });
  assert.equal(r.final.status, 'success', JSON.stringify(r.final.error));
  const extra = r.final.extra!;
  assert.equal(extra.aligned, true);
  assert.ok(Math.abs(Number(extra.offset_ms) + 350) <= 20, `offset ${extra.offset_ms}`);
  assert.match(String(extra.align_note), /advanced by 3\d\d ms/);
  const { file, probe: p } = await outputOf(r.final.resultUrl);
  near(p.durationSeconds, 6.35 - 0.35, FRAME, 'output = shifted audio');
  const signal = new AbortController().signal;
  const [orig, out] = await Promise.all([
    decodePcm(tools.ffmpeg, talkingVideo, { signal }),
    decodePcm(tools.ffmpeg, file, { signal }),
  ]);
  const residual = estimateOffset(orig, out, 16_000);
  assert.equal(residual.aligned, true);
  assert.ok(Math.abs(residual.offsetMs) <= 20, `residual ${residual.offsetMs} ms`);
});

test('unrelated audio is not shifted, and a same-length H.264 video is copied, not re-encoded', async () => {
  const other = await makeAudio({
    file: `${dir}/other.wav`,
    pcm: addNoise(makeSpeechLike(42, 6, RATE), 0.01, 5),
    sampleRate: RATE,
  });
  const r = await runLocal({ video: talkingVideo, audio: other, workDir: `${dir}/out` });
  assert.equal(r.final.status, 'success');
  const extra = r.final.extra!;
  assert.equal(extra.aligned, false);
  assert.equal(extra.offset_ms, 0);
  assert.ok(Number(extra.align_confidence) < 0.4);
  assert.match(String(extra.align_note), /no clear match/);
  assert.match(String(extra.method), /copied/);
  const { probe: p } = await outputOf(r.final.resultUrl);
  near(p.durationSeconds, 6, FRAME, 'duration');
});

test('mouth cue files are written next to the video, in Rhubarb formats', async () => {
  const pcm = concatPcm(new Float32Array(RATE), makeSpeechLike(8, 2, RATE));
  const audio = await makeAudio({ file: `${dir}/cues.wav`, pcm, sampleRate: RATE });
  const r = await runLocal({ video: silentVideo, audio, workDir: `${dir}/cues` });
  const extra = r.final.extra!;
  const json = JSON.parse(await readFile(String(extra.mouth_cues_json), 'utf8'));
  assert.ok(String(extra.mouth_cues_json).startsWith(`${dir}/cues/`));
  assert.equal(typeof json.metadata.soundFile, 'string');
  near(json.metadata.duration, 3, 0.01, 'cue duration');
  assert.equal(json.mouthCues[0].value, 'X');
  assert.ok(json.mouthCues[0].end >= 0.9, 'the leading second of silence is one rest cue');
  assert.ok(json.mouthCues.some((c: { value: string }) => c.value !== 'X'));
  const tsv = await readFile(String(extra.mouth_cues_tsv), 'utf8');
  assert.match(tsv, /^0\.00\tX\n/);
});

test('status(): answers from disk after a restart; stopped and failed jobs say what to do', async () => {
  const r = await runLocal({ video: silentVideo, audio: speech53, workDir: `${dir}/status` });
  assert.equal(r.final.status, 'success');
  const signal = new AbortController().signal;
  const ctx = { signal, log: silentLogger() };
  const fresh = await localProvider(); // a new server process knows nothing in memory
  const again = await fresh.status(r.operation, ctx);
  assert.equal(again.status, 'success');
  assert.equal(again.resultUrl, r.final.resultUrl);
  assert.deepEqual(again.extra, r.final.extra);

  // A job still running in a live worker (its command line names the job's spec file).
  const out = String(r.operation.out);
  const state = `${out}.state.json`;
  const live = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)', `${out}.job.json`], {
    stdio: 'ignore',
  });
  try {
    await writeFile(
      state,
      JSON.stringify({ status: 'processing', pid: live.pid, progress: 0.4, stage: 'encoding' }),
    );
    const running = await fresh.status(r.operation, ctx);
    assert.equal(running.status, 'processing', 'a live worker is on it');
    assert.equal(running.progress, 0.4);
    // A live process that is not this job's worker (a reused pid) does not count.
    await writeFile(
      state,
      JSON.stringify({ status: 'processing', pid: process.pid, progress: 0.4, stage: 'x' }),
    );
    assert.equal((await fresh.status(r.operation, ctx)).status, 'failed');
  } finally {
    live.kill('SIGKILL');
  }
  const lost = await fresh.status(r.operation, ctx);
  assert.equal(lost.status, 'failed');
  assert.equal(lost.error?.message, STOPPED_MESSAGE);
  assert.doesNotMatch(STOPPED_MESSAGE, /pay|charg|credit/i);

  const bad = await runLocal({ video: speech53, audio: speech53, workDir: `${dir}/status`, provider: fresh });
  assert.equal(bad.final.status, 'failed');
  assert.match(bad.final.error?.message ?? '', /speech53\.wav has no video stream/);
  const failed = await (await localProvider()).status(bad.operation, ctx);
  assert.equal(failed.status, 'failed');
  assert.equal(failed.error?.message, bad.final.error?.message);
});

/**
 * Looks again each time the worker writes into `dir` (its state file is renamed into place), with a
 * slow re-check as a guard against a worker that dies without writing; bounded number of looks.
 */
async function untilFinal(look: () => Promise<Snapshot>, dir: string): Promise<Snapshot> {
  let wake = () => {};
  const watcher = fsWatch(dir, () => wake());
  const guard = setInterval(() => wake(), 1000);
  try {
    for (let i = 0; i < 5000; i++) {
      const changed = new Promise<void>((resolve) => {
        wake = resolve;
      });
      const s = await look();
      if (s.status !== 'processing') return s;
      await changed;
    }
    throw new Error('the worker never finished');
  } finally {
    clearInterval(guard);
    watcher.close();
  }
}

test('worker mode: the job runs in a detached process that writes its state file', async () => {
  const provider = await localProvider('worker');
  const signal = new AbortController().signal;
  const log = silentLogger();
  const prepared = await provider.prepare(
    { kind: 'lip_sync', inputs: { video: fileInput(silentVideo), audio: fileInput(speech53) }, params: {} },
    { asset: async () => '', signal, log, progress: () => {} },
  );
  const started = await provider.start(prepared, {
    signal,
    log,
    progress: () => {},
    workDir: `${dir}/worker`,
    taskId: 'detached',
  });
  assert.equal(started.events, undefined, 'the job service follows a worker through status()');
  assert.equal(typeof started.operation.worker_pid, 'number');
  assert.notEqual(started.operation.worker_pid, process.pid);
  await provider.close(); // a closing server leaves the worker running
  const s = await untilFinal(() => provider.status(started.operation, { signal, log }), `${dir}/worker`);
  assert.equal(s.status, 'success', JSON.stringify(s.error));
  near(s.durationSeconds, 5.3, FRAME, 'reported');
});

test('inline mode: close() stops running jobs; they then read as stopped', async () => {
  const provider = await localProvider();
  const signal = new AbortController().signal;
  const log = silentLogger();
  const prepared = await provider.prepare(
    {
      kind: 'lip_sync',
      inputs: { video: fileInput(silentVideo), audio: fileInput(speech53) },
      params: { playback_type: 'normal_reverse' },
    },
    { asset: async () => '', signal, log, progress: () => {} },
  );
  const started = await provider.start(prepared, {
    signal,
    log,
    progress: () => {},
    workDir: `${dir}/close`,
    taskId: 'closing',
  });
  assert.equal(started.snapshot.status, 'processing');
  assert.equal(started.providerTaskId, 'local-closing');
  assert.equal((await provider.status(started.operation, { signal, log })).status, 'processing');
  await provider.close();
  let last: unknown;
  for await (const ev of started.events ?? []) last = ev;
  assert.deepEqual((last as { status: string }).status, 'failed');
  const s = await provider.status(started.operation, { signal, log });
  assert.equal(s.status, 'failed');
  assert.equal(s.error?.message, STOPPED_MESSAGE);
});

test('prepare() refuses URLs, unknown playback types and still images; credentials report the source', async () => {
  const provider = await localProvider();
  const ctx = {
    asset: async () => '',
    signal: new AbortController().signal,
    log: silentLogger(),
    progress: () => {},
  };
  const url = {
    type: 'url' as const,
    url: 'https://example.com/a.mp4',
    filename: 'a.mp4',
    mime: 'video/mp4',
  };
  await assert.rejects(
    provider.prepare(
      { kind: 'lip_sync', inputs: { video: url, audio: fileInput(speech53) }, params: {} },
      ctx,
    ),
    (e) => isAppError(e) && e.code === 'invalid_input' && /needs local files/.test(e.message),
  );
  await assert.rejects(
    provider.prepare(
      {
        kind: 'lip_sync',
        inputs: { video: fileInput(silentVideo), audio: fileInput(speech53) },
        params: { playback_type: 'loop' },
      },
      ctx,
    ),
    (e) => isAppError(e) && e.code === 'invalid_input' && /normal_reverse/.test(e.hint ?? ''),
  );
  await assert.rejects(
    provider.prepare(
      { kind: 'lip_sync', inputs: { image: fileInput(silentVideo), audio: fileInput(speech53) }, params: {} },
      ctx,
    ),
    (e) => isAppError(e) && e.code === 'unsupported',
  );
  const prepared = await provider.prepare(
    {
      kind: 'lip_sync',
      inputs: { video: fileInput(silentVideo), audio: fileInput(speech53) },
      params: { align: 'off' },
    },
    ctx,
  );
  assert.deepEqual(prepared, { video: silentVideo, audio: speech53, playback_type: 'normal', align: 'off' });
  assert.deepEqual(provider.credentials(), {
    configured: true,
    source: 'bundled (@ffmpeg-installer/ffmpeg)',
  });
  assert.equal(provider.capabilities.paid, false);
  assert.equal(provider.findExisting, undefined);

  const missing = createLocalProvider({ clock: systemClock, log: silentLogger() });
  const cred = missing.credentials();
  assert.equal(cred.configured, false);
  assert.match(cred.fix ?? '', /FFMPEG_PATH/);
  await assert.rejects(
    missing.start(prepared, {
      signal: ctx.signal,
      log: ctx.log,
      progress: () => {},
      workDir: dir,
      taskId: 'x',
    }),
    (e) => isAppError(e) && e.noTaskCreated === true,
  );
});
