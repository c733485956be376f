/**
 * Runs one local job and records every step of it in the job's state file: progress while it runs,
 * then the result or the error. The detached worker (worker.ts) and the in-process path share it, so
 * `status()` reads the same file whichever ran the job.
 */
import { pathToFileURL } from 'node:url';
import { isAppError } from '../../errors.js';
import { type LocalJobResult, type LocalJobSpec, type ProgressFn, runLocalJob } from './engine.js';
import type { PlaybackType } from './plan.js';
import { runSpeechJob } from './speech.js';
import { type JobState, type LipSyncWorkerSpec, type WorkerSpec, writeAtomic } from './state.js';

/** The engine's job description from the worker's spec file. */
export function jobSpecOf(spec: LipSyncWorkerSpec): LocalJobSpec {
  return {
    video: spec.video,
    audio: spec.audio,
    playbackType: spec.playbackType as PlaybackType,
    align: spec.align === 'off' ? 'off' : 'auto',
    out: spec.out,
  };
}

export type StateListener = (state: JobState) => void;

/** Progress writes are coalesced: at most one per whole percent or stage change. */
function progressRecorder(stateFile: string, started: number, onState: StateListener) {
  let last: JobState = {
    status: 'processing',
    pid: process.pid,
    progress: 0,
    stage: 'starting',
    updatedAt: started,
  };
  let writing: Promise<void> = writeAtomic(stateFile, JSON.stringify(last));
  const onProgress = (fraction: number, stage: string) => {
    const progress = Math.floor(Math.max(last.progress, Math.min(0.99, fraction)) * 100) / 100;
    if (progress === last.progress && stage === last.stage) return;
    last = { ...last, progress, stage, updatedAt: Date.now() };
    const snapshot = last;
    onState(snapshot);
    // Writes are chained so an older progress never lands after a newer one.
    writing = writing.then(() => writeAtomic(stateFile, JSON.stringify(snapshot))).catch(() => {});
  };
  return { onProgress, flush: () => writing };
}

export function failureMessage(err: unknown): string {
  if (isAppError(err)) return `${err.message}${err.hint ? ` ${err.hint}` : ''}`;
  return `The local engine failed: ${err instanceof Error ? err.message : String(err)}`;
}

/** What a job that stopped half way says; the job service re-runs a failed free job on the next ask. */
export const STOPPED_MESSAGE =
  'The local job stopped before it finished (its worker process ended). Send the same request again (same video, audio and options): the local engine runs it again, for free.';

/** Runs the job a spec describes: speech (espeak-ng) or lip sync (ffmpeg). */
function runSpec(spec: WorkerSpec, onProgress: ProgressFn, signal: AbortSignal): Promise<LocalJobResult> {
  if (spec.job === 'speech') {
    const { espeakPath, ffprobePath, text, voice, out, timeoutMs } = spec;
    return runSpeechJob({ espeakPath, ffprobePath }, { text, voice, out, timeoutMs }, onProgress, signal);
  }
  const tools = { ffmpegPath: spec.ffmpegPath, ffprobePath: spec.ffprobePath };
  return runLocalJob(tools, jobSpecOf(spec), onProgress, signal);
}

/** Runs the job to its end and returns the final state, which is also on disk when this resolves. */
export async function runAndRecord(
  spec: WorkerSpec,
  stateFile: string,
  signal: AbortSignal,
  onState: StateListener = () => {},
): Promise<JobState> {
  const started = Date.now();
  const rec = progressRecorder(stateFile, started, onState);
  let final: JobState;
  try {
    const res = await runSpec(spec, rec.onProgress, signal);
    final = {
      status: 'success',
      pid: process.pid,
      progress: 1,
      stage: 'done',
      resultUrl: pathToFileURL(spec.out).href,
      durationSeconds: res.durationSeconds,
      extra: { ...res.extra, elapsed_ms: Date.now() - started },
      updatedAt: Date.now(),
    };
  } catch (err) {
    final = {
      status: 'failed',
      pid: process.pid,
      progress: 0,
      stage: 'failed',
      error: signal.aborted
        ? { message: STOPPED_MESSAGE, code: 'interrupted' }
        : { message: failureMessage(err) },
      updatedAt: Date.now(),
    };
  }
  await rec.flush();
  await writeAtomic(stateFile, JSON.stringify(final, null, 2));
  return final;
}
