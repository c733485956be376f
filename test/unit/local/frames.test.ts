import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { probe } from '../../../src/media/probe.js';
import { planBounce, planBounceByAudio, type Segment } from '../../../src/providers/local/plan.js';
import { type RenderJob, render } from '../../../src/providers/local/render.js';
import {
  frameIndexSource,
  frameLumas,
  makeAudio,
  makeSpeechLike,
  makeVideo,
  mediaTools,
  type Tools,
  tempDir,
} from '../../helpers/media.js';

const FPS = 25;
let dir = '';
let cleanup = async () => {};
let tools: Tools;
let video = '';
let audio = '';

before(async () => {
  ({ dir, cleanup } = await tempDir());
  tools = await mediaTools();
  // 1 s of frames whose grey level encodes their index; 3.1 s of audio to fill.
  [video, audio] = await Promise.all([
    makeVideo({ file: `${dir}/index.mp4`, seconds: 1, fps: FPS, source: frameIndexSource(FPS, 1) }),
    makeAudio({ file: `${dir}/a.wav`, pcm: makeSpeechLike(3, 3.1, 48_000), sampleRate: 48_000 }),
  ]);
});
after(() => cleanup());

function sequence(plan: Segment[]): number[] {
  const out: number[] = [];
  for (const s of plan) for (let i = 0; i < s.count; i++) out.push(s.first + s.dir * i);
  return out;
}

async function renderJob(over: Partial<RenderJob>): Promise<number[]> {
  const [vp, ap] = await Promise.all([probe(tools.ffprobe, video), probe(tools.ffprobe, audio)]);
  const outFile = `${dir}/${over.playbackType}-${over.chunkFrames ?? 'auto'}.mp4`;
  await render({
    ffmpegPath: tools.ffmpeg,
    ffprobePath: tools.ffprobe,
    video,
    audio,
    videoInfo: vp.video!,
    audioInfo: ap.audio!,
    playbackType: 'normal_reverse',
    offsetMs: 0,
    outSeconds: 3.1,
    pauses: [],
    outFile,
    tmpDir: await mkdtemp(`${dir}/tmp-`),
    signal: new AbortController().signal,
    onProgress: () => {},
    ...over,
  });
  return (await frameLumas(outFile)).map((l) => Math.round((l - 16) / 3));
}

test('bounce shows the source frames in exact forward/backward order, reversed in small chunks', async () => {
  // Chunks of 7 frames: the reversal is stitched from 4 pieces, so a seam bug would show.
  const shown = await renderJob({ playbackType: 'normal_reverse', chunkFrames: 7 });
  assert.deepEqual(shown, sequence(planBounce(25, 78)));
});

test('bounce-by-audio turns in the pauses of the audio, frame-exact', async () => {
  const pauses = [
    { start: 0.7, end: 0.9 },
    { start: 1.35, end: 1.55 },
  ];
  const shown = await renderJob({ playbackType: 'normal_reverse_by_audio', pauses, chunkFrames: 10 });
  const plan = planBounceByAudio(25, 78, FPS, pauses);
  assert.deepEqual(shown, sequence(plan));
  // First turn at 0.8 s (output frame 20), second at 1.45 s (output frame 36).
  assert.deepEqual(shown.slice(18, 22), [18, 19, 18, 17]);
  assert.deepEqual(shown.slice(34, 38), [4, 3, 4, 5]);
});
