/**
 * The offline local engine as a Provider. Free, no network. `start` hands the job to a detached
 * worker process (worker.ts) and returns at once, so the job outlives the CLI or server that asked
 * for it. The worker records progress and the outcome in `<out>.state.json`; `status` answers from
 * that file in any process, now or after a restart. A worker that died before writing an outcome
 * reads as failed, and the job service runs a failed free job again on the next identical request.
 */
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Clock } from '../../clock.js';
import type { Config } from '../../config.js';
import { AppError, isAppError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { FFMPEG_FIX, locateFfmpeg } from '../../media/ffmpeg.js';
import type {
  CredentialState,
  JobRequest,
  JsonObject,
  PrepareContext,
  Provider,
  Snapshot,
  StartContext,
  StartResult,
  Timing,
} from '../provider.js';
import type { LocalTools } from './engine.js';
import { SnapshotChannel } from './events.js';
import { LOCAL_PLAYBACK_TYPES, type Prepared, parsePrepared, parseRequest } from './request.js';
import { jobSpecOf, runAndRecord, STOPPED_MESSAGE } from './runner.js';
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

export { LOCAL_PLAYBACK_TYPES } from './request.js';
export { STOPPED_MESSAGE } from './runner.js';

export interface LocalProviderDeps {
  ffmpegPath?: string;
  ffprobePath?: string;
  /** Where ffmpeg came from ('FFMPEG_PATH', 'PATH', 'bundled (...)'), shown as the credential source. */
  ffmpegSource?: string;
  clock: Clock;
  log: Logger;
  /**
   * 'worker' (default): each job runs in a detached process that outlives this one.
   * 'inline': in this process, with live events (unit tests); close() stops such jobs.
   */
  mode?: 'worker' | 'inline';
}

export interface LocalProvider extends Provider {
  /** Stops in-process jobs (inline mode). Worker jobs carry on: they belong to no server. */
  close(): Promise<void>;
}

interface InlineJob {
  state: JobState;
  controller: AbortController;
  done: Promise<unknown>;
}

/** The compiled worker next to this module (worker.ts when run from source through a TS loader). */
const WORKER_ENTRY = fileURLToPath(
  new URL(`./worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url),
);

function safeName(id: string): string {
  return id.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 120) || 'job';
}

function toSnapshot(s: JobState): Snapshot {
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

function damaged(): AppError {
  return new AppError('invalid_input', 'This local task has a damaged record (no output path).', {
    hint: 'Send the same request again: the local engine runs it again, for free.',
  });
}

export function createLocalProvider(deps: LocalProviderDeps): LocalProvider {
  const { log } = deps;
  const mode = deps.mode ?? 'worker';
  const inline = new Map<string, InlineJob>();

  const tools = (): LocalTools => {
    if (!deps.ffmpegPath || !deps.ffprobePath) {
      throw new AppError(
        'unavailable',
        'The local engine needs ffmpeg and ffprobe, and they were not found.',
        {
          hint: FFMPEG_FIX,
          noTaskCreated: true,
        },
      );
    }
    return { ffmpegPath: deps.ffmpegPath, ffprobePath: deps.ffprobePath };
  };

  /** Reads the job's state; a running state whose worker is gone reads as stopped. */
  async function stateOf(out: string, workerPid: number | undefined): Promise<JobState> {
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

  function spawnWorker(specFile: string): number {
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

  function runInline(job: string, out: string, spec: WorkerSpec): SnapshotChannel<Partial<Snapshot>> {
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
    entry.done = runAndRecord(tools(), jobSpecOf(spec), statePath(out), controller.signal, onState)
      .then((final) => channel.push(toSnapshot(final)))
      .finally(() => {
        inline.delete(job);
        channel.close();
      });
    inline.set(job, entry);
    return channel;
  }

  async function launch(job: string, workDir: string, prepared: Prepared): Promise<StartResult> {
    const t = tools();
    await mkdir(workDir, { recursive: true });
    const out = join(workDir, `lipsync-${safeName(job)}.mp4`);
    const providerTaskId = `local-${job}`;
    const startedAt = Date.now();
    const existing = inline.get(job);
    const previous = existing ? existing.state : await readJson<JobState>(statePath(out));
    if (previous?.status === 'processing' && (existing || (await workerAlive(previous.pid, specPath(out))))) {
      // Already running (a retried start): follow it rather than run it twice.
      return { operation: { job, out, work_dir: workDir }, providerTaskId, snapshot: toSnapshot(previous) };
    }
    const spec: WorkerSpec = {
      ...t,
      video: prepared.video,
      audio: prepared.audio,
      playbackType: prepared.playback_type,
      align: prepared.align,
      out,
    };
    await writeAtomic(specPath(out), JSON.stringify(spec, null, 2));
    const initial: JobState = { status: 'processing', progress: 0, stage: 'starting', updatedAt: startedAt };
    await writeAtomic(statePath(out), JSON.stringify(initial));
    const operation: JsonObject = { job, out, work_dir: workDir, started_at: startedAt };
    if (mode === 'inline') {
      const events = runInline(job, out, spec);
      return { operation, providerTaskId, snapshot: toSnapshot(initial), events };
    }
    operation.worker_pid = spawnWorker(specPath(out));
    return { operation, providerTaskId, snapshot: toSnapshot(initial) };
  }

  return {
    name: 'local',
    displayName: 'Local engine',
    capabilities: {
      kinds: ['lip_sync'],
      formats: {
        video: ['mp4', 'mov', 'm4v', 'webm', 'mkv', 'avi'],
        audio: ['wav', 'mp3', 'm4a', 'aac', 'ogg', 'flac'],
      },
      playbackTypes: [...LOCAL_PLAYBACK_TYPES],
      paid: false,
    },

    credentials(): CredentialState {
      if (deps.ffmpegPath && deps.ffprobePath)
        return { configured: true, source: deps.ffmpegSource ?? 'ffmpeg' };
      return {
        configured: false,
        source: 'none',
        fix: `The local engine needs ffmpeg and ffprobe. ${FFMPEG_FIX}`,
        missingKey: deps.ffmpegPath ? 'FFPROBE_PATH' : 'FFMPEG_PATH',
      };
    },

    timing(): Timing {
      return { pollIntervalMs: 2000 };
    },

    async prepare(request: JobRequest, _ctx: PrepareContext): Promise<JsonObject> {
      tools();
      return parseRequest(request);
    },

    async start(preparedJson: JsonObject, ctx: StartContext): Promise<StartResult> {
      try {
        const prepared = parsePrepared(preparedJson);
        ctx.progress('Local engine: aligning the audio and fitting the video to it.');
        return await launch(ctx.taskId, ctx.workDir, prepared);
      } catch (err) {
        // Nothing ran if start() did not return: the job can simply be asked for again.
        const e = isAppError(err)
          ? err
          : new AppError('unavailable', `The local engine could not start the job: ${String(err)}`);
        throw e.withNoTaskCreated();
      }
    },

    async status(operation: JsonObject): Promise<Snapshot> {
      const job = typeof operation.job === 'string' ? operation.job : undefined;
      const out = typeof operation.out === 'string' ? operation.out : undefined;
      if (!job || !out) throw damaged();
      const running = inline.get(job);
      if (running) return toSnapshot(running.state);
      const pid = typeof operation.worker_pid === 'number' ? operation.worker_pid : undefined;
      return toSnapshot(await stateOf(out, pid));
    },

    async close(): Promise<void> {
      const all = [...inline.values()];
      for (const j of all) j.controller.abort();
      await Promise.allSettled(all.map((j) => j.done));
    },
  };
}

/** Running from TypeScript sources (tsx), the worker needs the same loader to start. */
function loaderArgs(): string[] {
  return WORKER_ENTRY.endsWith('.ts') ? process.execArgv.filter((a) => !a.startsWith('--inspect')) : [];
}

/** Builds the local provider with ffmpeg/ffprobe found per config (explicit, PATH, bundled). */
export async function createLocalProviderFromConfig(
  config: Config,
  deps: { clock: Clock; log: Logger },
): Promise<LocalProvider> {
  const found = await locateFfmpeg(config.ffmpeg);
  return createLocalProvider({
    ...deps,
    ffmpegPath: found.ffmpeg?.path,
    ffprobePath: found.ffprobe?.path,
    ffmpegSource: found.ffmpeg?.source,
  });
}
