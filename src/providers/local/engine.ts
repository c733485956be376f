/**
 * One local job, start to finish: probe, align the new audio to the video's own soundtrack, estimate
 * mouth timing, fit the video to the audio, write everything atomically into the work directory.
 *
 * What it does NOT do: re-animate the mouth. The picture is the original video's (played once, held,
 * or bounced); only the soundtrack is replaced and lined up. The result says so (`lip_motion:
 * 'unchanged'`) and ships mouth cues an animation tool can use.
 */
import { mkdir, rename, rm } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { AppError } from '../../errors.js';
import { type ProbeResult, probe } from '../../media/probe.js';
import type { JsonObject } from '../provider.js';
import { analyzeFrames, findPauses } from './activity.js';
import { estimateOffset, type OffsetEstimate } from './align.js';
import { estimateMouthCues, toRhubarbJson, toRhubarbTsv } from './mouth.js';
import { ANALYSIS_RATE, decodePcm } from './pcm.js';
import type { PlaybackType } from './plan.js';
import { type RenderJob, render } from './render.js';
import { writeAtomic } from './state.js';

export type AlignMode = 'auto' | 'off';

export interface LocalJobSpec {
  video: string;
  audio: string;
  playbackType: PlaybackType;
  align: AlignMode;
  /** Final output path (mp4); cues go next to it. */
  out: string;
}

export interface LocalTools {
  ffmpegPath: string;
  ffprobePath: string;
}

export interface LocalJobResult {
  durationSeconds: number;
  extra: JsonObject;
}

export type ProgressFn = (fraction: number, stage: string) => void;

/** Seconds of the video's soundtrack used for alignment (plus the search range). */
const ALIGN_WINDOW_SECONDS = 60;
const ALIGN_MAX_LAG_SECONDS = 5;

export function cuePaths(out: string): { json: string; tsv: string } {
  const base = out.replace(/\.mp4$/i, '');
  return { json: `${base}.mouth.json`, tsv: `${base}.mouth.tsv` };
}

function needStream(p: ProbeResult, kind: 'video' | 'audio', file: string): void {
  if (!p[kind]) {
    throw new AppError('invalid_input', `${basename(file)} has no ${kind} stream.`, {
      hint:
        kind === 'video'
          ? 'Pass a video file as video.'
          : 'Pass an audio (or video with sound) file as audio.',
    });
  }
}

/** Shifts PCM the way the mux will shift the audio, so cues and pauses are in output time. */
function shiftPcm(pcm: Float32Array, offsetMs: number, rate: number): Float32Array {
  const n = Math.round((Math.abs(offsetMs) / 1000) * rate);
  if (offsetMs > 0) {
    const out = new Float32Array(pcm.length + n);
    out.set(pcm, n);
    return out;
  }
  return offsetMs < 0 ? pcm.subarray(Math.min(n, pcm.length)) : pcm;
}

export async function alignAudio(
  tools: LocalTools,
  video: string,
  newAudioPcm: Float32Array,
  signal: AbortSignal,
): Promise<OffsetEstimate> {
  const ref = await decodePcm(tools.ffmpegPath, video, {
    maxSeconds: ALIGN_WINDOW_SECONDS + ALIGN_MAX_LAG_SECONDS,
    signal,
  });
  return estimateOffset(ref, newAudioPcm, ANALYSIS_RATE, {
    windowSeconds: ALIGN_WINDOW_SECONDS,
    maxLagSeconds: ALIGN_MAX_LAG_SECONDS,
  });
}

/**
 * The audio's length as decoded (what Rhubarb reports, too). A compressed file's container duration
 * counts encoder padding (40-50 ms for mp3), which would make the cues and the output too long.
 */
function decodedSeconds(pcm: Float32Array, ap: ProbeResult): number {
  if (pcm.length > 0) return pcm.length / ANALYSIS_RATE;
  return ap.audio?.durationSeconds ?? ap.durationSeconds ?? 0;
}

const notAligned = (note: string): OffsetEstimate => ({
  offsetMs: 0,
  measuredMs: 0,
  confidence: 0,
  aligned: false,
  note: `not aligned: ${note}`,
});

async function probeInputs(tools: LocalTools, spec: LocalJobSpec, signal: AbortSignal) {
  const [vp, ap] = await Promise.all([
    probe(tools.ffprobePath, spec.video, signal),
    probe(tools.ffprobePath, spec.audio, signal),
  ]);
  needStream(vp, 'video', spec.video);
  needStream(ap, 'audio', spec.audio);
  return { vp, ap, videoInfo: vp.video!, audioInfo: ap.audio! };
}

/** Step 2: how far to shift the new audio, or why it is left where it is. */
async function chooseOffset(
  tools: LocalTools,
  spec: LocalJobSpec,
  videoHasSound: boolean,
  pcm: Float32Array,
  onProgress: ProgressFn,
  signal: AbortSignal,
): Promise<OffsetEstimate> {
  if (spec.align === 'off') return notAligned('alignment was turned off (align: off).');
  if (!videoHasSound) return notAligned('the video has no soundtrack of its own to align to.');
  onProgress(0.05, 'aligning');
  return alignAudio(tools, spec.video, pcm, signal);
}

/** Step 3: mouth cues of the shifted audio, written beside the output; returns them with the frames. */
async function writeMouthCues(spec: LocalJobSpec, pcm: Float32Array, offsetMs: number, outSeconds: number) {
  const shifted = shiftPcm(pcm, offsetMs, ANALYSIS_RATE);
  const frames = analyzeFrames(shifted, ANALYSIS_RATE);
  const cues = estimateMouthCues(frames, outSeconds);
  const paths = cuePaths(spec.out);
  await mkdir(dirname(spec.out), { recursive: true });
  const json = toRhubarbJson(cues, basename(spec.out), outSeconds);
  await writeAtomic(paths.json, `${JSON.stringify(json, null, 2)}\n`);
  await writeAtomic(paths.tsv, toRhubarbTsv(cues));
  return { frames, cues, paths };
}

/** Step 4: the video, rendered into a scratch file and renamed into place. */
async function renderOutput(
  job: Omit<RenderJob, 'outFile' | 'tmpDir'>,
  out: string,
): Promise<{ method: string }> {
  const tmpDir = `${out}.work`;
  const partial = `${out}.${process.pid}.part`;
  await rm(tmpDir, { recursive: true, force: true });
  await mkdir(tmpDir, { recursive: true });
  try {
    const res = await render({ ...job, outFile: partial, tmpDir });
    await rename(partial, out);
    return res;
  } finally {
    await rm(tmpDir, { recursive: true, force: true });
    await rm(partial, { force: true });
  }
}

const ENGINE_NOTE =
  'The local engine replaces and aligns the soundtrack and fits the video to it; it does not re-animate the mouth. Use the mouth cues (Rhubarb format, estimated from the audio) to animate.';

export async function runLocalJob(
  tools: LocalTools,
  spec: LocalJobSpec,
  onProgress: ProgressFn,
  signal: AbortSignal,
): Promise<LocalJobResult> {
  const inputs = await probeInputs(tools, spec, signal);
  onProgress(0.02, 'analyzing audio');
  const pcm = await decodePcm(tools.ffmpegPath, spec.audio, { signal });
  const audioSeconds = decodedSeconds(pcm, inputs.ap);
  const align = await chooseOffset(tools, spec, !!inputs.vp.audio, pcm, onProgress, signal);
  const outSeconds = audioSeconds + align.offsetMs / 1000;
  if (outSeconds < 0.1) {
    throw new AppError(
      'invalid_input',
      `${basename(spec.audio)} is too short to make a video (${audioSeconds.toFixed(2)} s).`,
      { hint: 'Use an audio file with at least a fraction of a second of sound.' },
    );
  }
  onProgress(0.08, 'mouth timing');
  const { frames, cues, paths } = await writeMouthCues(spec, pcm, align.offsetMs, outSeconds);
  const { method } = await renderOutput(
    {
      ...tools,
      video: spec.video,
      audio: spec.audio,
      videoInfo: inputs.videoInfo,
      audioInfo: inputs.audioInfo,
      playbackType: spec.playbackType,
      offsetMs: align.offsetMs,
      outSeconds,
      pauses: findPauses(frames),
      signal,
      onProgress: (f, stage) => onProgress(0.1 + 0.88 * f, stage),
    },
    spec.out,
  );
  const outProbe = await probe(tools.ffprobePath, spec.out, signal);
  return {
    durationSeconds: outProbe.durationSeconds ?? outSeconds,
    extra: {
      lip_motion: 'unchanged',
      engine_note: ENGINE_NOTE,
      method,
      playback_type: spec.playbackType,
      offset_ms: align.offsetMs,
      align_confidence: Math.round(align.confidence * 100) / 100,
      aligned: align.aligned,
      align_note: align.note,
      mouth_cues_json: paths.json,
      mouth_cues_tsv: paths.tsv,
      mouth_cues_count: cues.length,
    },
  };
}
