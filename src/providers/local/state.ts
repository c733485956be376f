/**
 * The local job's state on disk. One JSON file next to the output, rewritten atomically (temp +
 * rename) by whoever runs the job — normally a detached worker process — so any server process, now
 * or after a restart, can answer `status()` from it without sharing memory with the worker.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import type { JsonObject } from '../provider.js';

export interface JobState {
  status: 'processing' | 'success' | 'failed';
  /** The process running the job (absent until the worker has started). */
  pid?: number;
  progress: number;
  stage: string;
  resultUrl?: string;
  durationSeconds?: number;
  extra?: JsonObject;
  error?: { message: string; code?: string };
  /** Wall-clock ms of the last write (diagnostics only). */
  updatedAt: number;
}

/** What a worker needs to run one lip-sync job; written by `start()`, read by the worker. */
export interface LipSyncWorkerSpec {
  job?: 'lip_sync';
  ffmpegPath: string;
  ffprobePath: string;
  video: string;
  audio: string;
  playbackType: string;
  align: string;
  out: string;
}

/** What a worker needs to speak one text with espeak-ng. */
export interface SpeechWorkerSpec {
  job: 'speech';
  espeakPath: string;
  ffprobePath: string;
  text: string;
  voice: string;
  timeoutMs: number;
  out: string;
}

/** Specs written before speech existed have no `job` field: they are lip sync. */
export type WorkerSpec = LipSyncWorkerSpec | SpeechWorkerSpec;

export const statePath = (out: string) => `${out}.state.json`;
export const specPath = (out: string) => `${out}.job.json`;

/** Writes a file under a temporary name, then renames it into place (readers never see half a file). */
export async function writeAtomic(file: string, data: string): Promise<void> {
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2, 8)}.tmp`;
  await writeFile(tmp, data);
  await rename(tmp, file);
}

export async function readJson<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

export function isFinalState(s: JobState | undefined): s is JobState & { status: 'success' | 'failed' } {
  return s?.status === 'success' || s?.status === 'failed';
}

function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether `pid` is still the worker started for this job. Where /proc exists (Linux) the command
 * line must name the job's spec file, so a pid reused by another program does not read as alive.
 */
export async function workerAlive(pid: number | undefined, marker: string): Promise<boolean> {
  if (!pid || pid <= 0 || !pidExists(pid)) return false;
  try {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.split('\0').includes(marker);
  } catch {
    // No /proc (macOS, Windows): the pid check above is all there is.
    return true;
  }
}
