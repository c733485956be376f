/**
 * Running local jobs: in a detached worker process (the default) or inline in this process, and
 * reading their state back from disk in any process.
 */
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { AppError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { JsonObject, Snapshot, StartResult } from '../provider.js';
import type { LocalTools } from './engine.js';
import { SnapshotChannel } from './events.js';
import { isSpeech, type Prepared } from './request.js';
import { runAndRecord, STOPPED_MESSAGE } from './runner.js';
import type { SpeechTools } from './speech.js';
import {
  isFinalState,
  type JobState,
  readJson,
  specPath,
  statePath,
  type WorkerSpec,
  workerAlive,
  writeAtomic,
} from './state.js';

export interface InlineJob {
  state: JobState;
  controller: AbortController;
  done: Promise<unknown>;
}

/** What launching needs from the provider. */
export interface Runtime {
  mode: 'worker' | 'inline';
  inline: Map<string, InlineJob>;
  log: Logger;
  tools: () => LocalTools;
  /** espeak-ng and ffprobe, for speech jobs (throws when espeak-ng is missing). */
  speech: () => SpeechTools;
  speechTimeoutMs: number;
}

/** The compiled worker next to this module (worker.ts when run from source through a TS loader). */
const WORKER_ENTRY = fileURLToPath(
  new URL(`./worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url),
);

/** Running from TypeScript sources (tsx), the worker needs the same loader to start. */
function loaderArgs(): string[] {
  return WORKER_ENTRY.endsWith('.ts') ? process.execArgv.filter((a) => !a.startsWith('--inspect')) : [];
}

function safeName(id: string): string {
  return id.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 120) || 'job';
}

export function toSnapshot(s: JobState): Snapshot {
  if (s.status === 'success') {
    return {
      status: 'success',
      progress: 1,
      resultUrl: s.resultUrl,
      durationSeconds: s.durationSeconds,
      extra: s.extra,
    };
  }
  if (s.status === 'failed') {
    return { status: 'failed', error: s.error ?? { message: 'The local job failed.' } };
  }
  return { status: 'processing', progress: s.progress, providerStatus: s.stage };
}

/** Records from before the state file (a `.done.json` / `.error.json` sidecar) still answer. */
async function legacyState(out: string): Promise<JobState | undefined> {
  const done = await readJson<{ resultUrl: string; durationSeconds: number; extra: JsonObject }>(
    `${out}.done.json`,
  );
  if (done) return { status: 'success', progress: 1, stage: 'done', updatedAt: 0, ...done };
  const error = await readJson<{ message?: string }>(`${out}.error.json`);
  if (error) {
    const message = error.message ?? 'The local job failed.';
    return { status: 'failed', progress: 0, stage: 'failed', error: { message }, updatedAt: 0 };
  }
  return undefined;
}

/** Reads the job's state; a running state whose worker is gone reads as stopped. */
export async function readJobState(
  out: string,
  workerPid: number | undefined,
  log: Logger,
): Promise<JobState> {
  const file = statePath(out);
  const state = (await readJson<JobState>(file)) ?? (await legacyState(out));
  if (isFinalState(state)) return state;
  if (await workerAlive(state?.pid ?? workerPid, specPath(out))) {
    return state ?? { status: 'processing', progress: 0, stage: 'starting', updatedAt: 0 };
  }
  // The worker may have written its outcome between the two looks.
  const again = await readJson<JobState>(file);
  if (isFinalState(again)) return again;
  log.debug({ out }, 'local job has no outcome and no live worker');
  return {
    status: 'failed',
    progress: 0,
    stage: 'stopped',
    error: { message: STOPPED_MESSAGE, code: 'interrupted' },
    updatedAt: Date.now(),
  };
}

function spawnWorker(specFile: string, log: Logger): number {
  const child = spawn(process.execPath, [...loaderArgs(), WORKER_ENTRY, specFile], {
    detached: true,
    stdio: 'ignore',
  });
  child.on('error', (err) => log.warn({ err: err.message }, 'local worker could not start'));
  child.unref();
  if (!child.pid) {
    throw new AppError('unavailable', 'The local engine could not start its worker process.', {
      hint: 'Check that this machine can start new processes (memory, process limits), then try again.',
      noTaskCreated: true,
    });
  }
  return child.pid;
}

function runInline(
  rt: Runtime,
  job: string,
  out: string,
  spec: WorkerSpec,
): SnapshotChannel<Partial<Snapshot>> {
  const channel = new SnapshotChannel<Partial<Snapshot>>();
  const controller = new AbortController();
  const entry: InlineJob = {
    state: { status: 'processing', progress: 0, stage: 'starting', updatedAt: Date.now() },
    controller,
    done: Promise.resolve(),
  };
  const onState = (s: JobState) => {
    entry.state = s;
    channel.push(toSnapshot(s));
  };
  entry.done = runAndRecord(spec, statePath(out), controller.signal, onState)
    .then((final) => channel.push(toSnapshot(final)))
    .finally(() => {
      rt.inline.delete(job);
      channel.close();
    });
  rt.inline.set(job, entry);
  return channel;
}

/** What the worker is told: the tools to run and the job. */
function workerSpec(rt: Runtime, prepared: Prepared, out: string): WorkerSpec {
  if (isSpeech(prepared)) {
    const { text, voice } = prepared;
    return { job: 'speech', ...rt.speech(), text, voice, timeoutMs: rt.speechTimeoutMs, out };
  }
  return {
    ...rt.tools(),
    video: prepared.video,
    audio: prepared.audio,
    playbackType: prepared.playback_type,
    align: prepared.align,
    out,
  };
}

/** Starts the job (in a worker, or inline) unless it is already running; returns its handle. */
export async function launch(
  rt: Runtime,
  job: string,
  workDir: string,
  prepared: Prepared,
): Promise<StartResult> {
  const name = isSpeech(prepared) ? `speech-${safeName(job)}.wav` : `lipsync-${safeName(job)}.mp4`;
  const out = join(workDir, name);
  // Missing tools fail here, before anything is written.
  const spec = workerSpec(rt, prepared, out);
  await mkdir(workDir, { recursive: true });
  const providerTaskId = `local-${job}`;
  const startedAt = Date.now();
  const existing = rt.inline.get(job);
  const previous = existing ? existing.state : await readJson<JobState>(statePath(out));
  if (previous?.status === 'processing' && (existing || (await workerAlive(previous.pid, specPath(out))))) {
    // Already running (a retried start): follow it rather than run it twice.
    return { operation: { job, out, work_dir: workDir }, providerTaskId, snapshot: toSnapshot(previous) };
  }
  await writeAtomic(specPath(out), JSON.stringify(spec, null, 2));
  const initial: JobState = { status: 'processing', progress: 0, stage: 'starting', updatedAt: startedAt };
  await writeAtomic(statePath(out), JSON.stringify(initial));
  const operation: JsonObject = { job, out, work_dir: workDir, started_at: startedAt };
  if (rt.mode === 'inline') {
    const events = runInline(rt, job, out, spec);
    return { operation, providerTaskId, snapshot: toSnapshot(initial), events };
  }
  operation.worker_pid = spawnWorker(specPath(out), rt.log);
  return { operation, providerTaskId, snapshot: toSnapshot(initial) };
}

/** How long a worker asked to stop may take to record it and end (ms) before it is killed outright. */
const STOP_GRACE_MS = 5000;
const STOP_CHECK_MS = 50;

/**
 * Stops a running local job: an inline one through its controller; a worker (on this machine: its pid
 * runs this job's spec file) with SIGTERM, which makes it stop its ffmpeg and record the stop, then
 * SIGKILL for its whole process group if it has not ended within STOP_GRACE_MS. Resolves once the job
 * is no longer running; `not_running` when it had already ended, or is not a process this machine runs.
 */
export async function stopJob(
  rt: Runtime,
  operation: JsonObject,
  signal: AbortSignal,
): Promise<'stopped' | 'not_running'> {
  const job = typeof operation.job === 'string' ? operation.job : undefined;
  const out = typeof operation.out === 'string' ? operation.out : undefined;
  if (!job || !out) return 'not_running';
  const inline = rt.inline.get(job);
  if (inline) {
    inline.controller.abort();
    await inline.done.catch(() => undefined);
    return 'stopped';
  }
  const state = await readJson<JobState>(statePath(out));
  if (isFinalState(state)) return 'not_running';
  const pid = state?.pid ?? (typeof operation.worker_pid === 'number' ? operation.worker_pid : undefined);
  const marker = specPath(out);
  if (!pid || !(await workerAlive(pid, marker))) return 'not_running';
  signalTo(pid, 'SIGTERM');
  for (let waited = 0; waited < STOP_GRACE_MS; waited += STOP_CHECK_MS) {
    if (!(await workerAlive(pid, marker))) return 'stopped';
    await delay(STOP_CHECK_MS, undefined, { signal }).catch(() => undefined);
    if (signal.aborted) break;
  }
  rt.log.warn({ pid }, 'local worker did not stop in time: killed');
  // Detached, the worker leads its own process group: its ffmpeg goes with it.
  signalTo(-pid, 'SIGKILL');
  signalTo(pid, 'SIGKILL');
  return 'stopped';
}

function signalTo(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone.
  }
}
