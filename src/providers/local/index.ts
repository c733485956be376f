/**
 * The offline local engine as a Provider. Free, no network. `start` launches the work in the
 * background and returns at once; progress flows through `events`, and `status` can always answer
 * from disk: a finished job leaves `<out>.done.json` (or `<out>.error.json`) next to its output, and
 * a running one a `<out>.lock.json` naming the process doing it — so a second server process sharing
 * the ledger sees "processing", not a false "interrupted".
 */
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
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
import { type AlignMode, type LocalJobResult, runLocalJob, writeAtomic } from './engine.js';
import { SnapshotChannel } from './events.js';
import type { PlaybackType } from './plan.js';

export interface LocalProviderDeps {
  ffmpegPath?: string;
  ffprobePath?: string;
  /** Where ffmpeg came from ('FFMPEG_PATH', 'PATH', 'bundled (...)'), shown as the credential source. */
  ffmpegSource?: string;
  clock: Clock;
  log: Logger;
}

export interface LocalProvider extends Provider {
  /** Stops every running local job (server shutdown). Their status then reads "interrupted". */
  close(): Promise<void>;
}

export const LOCAL_PLAYBACK_TYPES: PlaybackType[] = ['normal', 'normal_reverse', 'normal_reverse_by_audio'];
export const INTERRUPTED_MESSAGE =
  'The local job was interrupted (the server stopped). Run create_lip_sync again with force_recreate: true.';

const LOCK_MAX_AGE_MS = 12 * 60 * 60 * 1000;

interface RunningJob {
  progress: number;
  stage: string;
  controller: AbortController;
  done: Promise<void>;
}

interface DoneSidecar {
  resultUrl: string;
  durationSeconds: number;
  extra: JsonObject;
}

const sidecar = (out: string, kind: 'done' | 'error' | 'lock') => `${out}.${kind}.json`;

function safeName(id: string): string {
  return id.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 120) || 'job';
}

async function readJson<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function successSnapshot(d: DoneSidecar): Snapshot {
  return {
    status: 'success',
    progress: 1,
    resultUrl: d.resultUrl,
    durationSeconds: d.durationSeconds,
    extra: d.extra,
  };
}

export function createLocalProvider(deps: LocalProviderDeps): LocalProvider {
  const { clock, log } = deps;
  const jobs = new Map<string, RunningJob>();

  const tools = () => {
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

  async function statusFromDisk(job: string, out: string): Promise<Snapshot> {
    const done = await readJson<DoneSidecar>(sidecar(out, 'done'));
    if (done && (await exists(out))) return successSnapshot(done);
    const error = await readJson<{ message?: string }>(sidecar(out, 'error'));
    if (error) return { status: 'failed', error: { message: error.message ?? 'The local job failed.' } };
    const lock = await readJson<{ pid?: number; startedAt?: number }>(sidecar(out, 'lock'));
    // A lock older than any plausible job is a leftover whose pid may since have been reused.
    const fresh = typeof lock?.startedAt === 'number' && clock.now() - lock.startedAt < LOCK_MAX_AGE_MS;
    if (lock?.pid && fresh && lock.pid !== process.pid && pidAlive(lock.pid)) {
      return { status: 'processing', providerStatus: 'running in another process' };
    }
    log.debug({ job }, 'local job has no result and no live worker');
    return { status: 'failed', error: { message: INTERRUPTED_MESSAGE, code: 'interrupted' } };
  }

  function launch(job: string, out: string, prepared: Prepared): StartResult {
    const channel = new SnapshotChannel<Partial<Snapshot>>();
    const controller = new AbortController();
    const startedAt = clock.now();
    const running: RunningJob = { progress: 0, stage: 'starting', controller, done: Promise.resolve() };
    let lastPushed = -1;
    const onProgress = (fraction: number, stage: string) => {
      running.progress = Math.max(running.progress, Math.min(0.99, fraction));
      const rounded = Math.floor(running.progress * 100) / 100;
      if (rounded === lastPushed && stage === running.stage) return;
      running.stage = stage;
      lastPushed = rounded;
      channel.push({ status: 'processing', progress: rounded, providerStatus: stage });
    };
    const work = async (): Promise<LocalJobResult> => {
      await Promise.all((['done', 'error'] as const).map((k) => rm(sidecar(out, k), { force: true })));
      await writeAtomic(sidecar(out, 'lock'), JSON.stringify({ pid: process.pid, startedAt }));
      return runLocalJob(
        tools(),
        {
          video: prepared.video,
          audio: prepared.audio,
          playbackType: prepared.playback_type,
          align: prepared.align,
          out,
        },
        onProgress,
        controller.signal,
      );
    };
    running.done = work()
      .then(async (res) => {
        const extra = { ...res.extra, elapsed_ms: clock.now() - startedAt };
        const done: DoneSidecar = {
          resultUrl: pathToFileURL(out).href,
          durationSeconds: res.durationSeconds,
          extra,
        };
        await writeAtomic(sidecar(out, 'done'), JSON.stringify(done, null, 2));
        channel.push(successSnapshot(done));
      })
      .catch(async (err: unknown) => {
        // Aborted by close(): leave no error sidecar, so a later status() reads "interrupted".
        if (controller.signal.aborted) {
          channel.push({ status: 'failed', error: { message: INTERRUPTED_MESSAGE, code: 'interrupted' } });
          return;
        }
        const message = isAppError(err)
          ? `${err.message}${err.hint ? ` ${err.hint}` : ''}`
          : `The local engine failed: ${err instanceof Error ? err.message : String(err)}`;
        log.warn({ job, err: err instanceof Error ? err.message : String(err) }, 'local job failed');
        await writeAtomic(sidecar(out, 'error'), JSON.stringify({ message })).catch(() => {});
        channel.push({ status: 'failed', error: { message } });
      })
      .finally(async () => {
        jobs.delete(job);
        await rm(sidecar(out, 'lock'), { force: true }).catch(() => {});
        channel.close();
      });
    jobs.set(job, running);
    return {
      operation: { job, out },
      providerTaskId: `local-${job}`,
      snapshot: { status: 'processing', progress: 0, providerStatus: 'starting' },
      events: channel,
    };
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
      const prepared = parsePrepared(preparedJson);
      tools();
      const job = ctx.taskId;
      await mkdir(ctx.workDir, { recursive: true });
      const out = join(ctx.workDir, `lipsync-${safeName(job)}.mp4`);
      if (jobs.has(job)) {
        const r = jobs.get(job)!;
        return {
          operation: { job, out },
          providerTaskId: `local-${job}`,
          snapshot: { status: 'processing', progress: r.progress, providerStatus: r.stage },
        };
      }
      // The job outlives this call on purpose: ctx.signal belongs to the request that started it.
      ctx.progress('Local engine: aligning the audio and fitting the video to it.');
      return launch(job, out, prepared);
    },

    async status(operation: JsonObject): Promise<Snapshot> {
      const job = typeof operation.job === 'string' ? operation.job : undefined;
      const out = typeof operation.out === 'string' ? operation.out : undefined;
      if (!job || !out) {
        throw new AppError('invalid_input', 'This local task has a damaged record (no output path).', {
          hint: 'Run create_lip_sync again with force_recreate: true.',
        });
      }
      const running = jobs.get(job);
      if (running) return { status: 'processing', progress: running.progress, providerStatus: running.stage };
      return statusFromDisk(job, out);
    },

    async close(): Promise<void> {
      const all = [...jobs.values()];
      for (const j of all) j.controller.abort();
      await Promise.allSettled(all.map((j) => j.done));
    },
  };
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

interface Prepared {
  video: string;
  audio: string;
  playback_type: PlaybackType;
  align: AlignMode;
}

function parseRequest(request: JobRequest): JsonObject {
  if (request.kind !== 'lip_sync') {
    throw new AppError('unsupported', `The local engine only does lip sync, not ${request.kind}.`, {
      hint: 'Pick a cloud provider for this kind of job.',
    });
  }
  const { video, audio, image } = request.inputs;
  if (image && !video) {
    throw new AppError('unsupported', 'The local engine needs a video; it cannot animate a still image.', {
      hint: 'Pass a video, or use The Director (image + audio -> talking video).',
    });
  }
  if (!video || !audio) {
    throw new AppError('invalid_input', 'The local engine needs both a video and an audio input.', {
      hint: 'Pass video and audio (local paths).',
    });
  }
  for (const input of [video, audio]) {
    if (input.type !== 'file') {
      throw new AppError('invalid_input', `The local engine needs local files; ${input.filename} is a URL.`, {
        hint: 'Download it first and pass the local path, or use a cloud provider for URLs.',
      });
    }
  }
  const playback = request.params.playback_type ?? 'normal';
  if (typeof playback !== 'string' || !LOCAL_PLAYBACK_TYPES.includes(playback as PlaybackType)) {
    throw new AppError(
      'invalid_input',
      `playback_type ${JSON.stringify(playback)} is not one the local engine knows.`,
      {
        hint: `Use one of ${LOCAL_PLAYBACK_TYPES.join(', ')}.`,
      },
    );
  }
  const alignRaw = request.params.align ?? 'auto';
  const align: AlignMode = alignRaw === 'off' || alignRaw === false ? 'off' : 'auto';
  if (alignRaw !== 'auto' && alignRaw !== true && align !== 'off') {
    throw new AppError('invalid_input', `align ${JSON.stringify(alignRaw)} is not valid.`, {
      hint: 'Use "auto" or "off".',
    });
  }
  return {
    video: video.type === 'file' ? video.path : '',
    audio: audio.type === 'file' ? audio.path : '',
    playback_type: playback,
    align,
  };
}

function parsePrepared(p: JsonObject): Prepared {
  const { video, audio, playback_type, align } = p;
  if (
    typeof video !== 'string' ||
    typeof audio !== 'string' ||
    typeof playback_type !== 'string' ||
    !LOCAL_PLAYBACK_TYPES.includes(playback_type as PlaybackType)
  ) {
    throw new AppError('invalid_input', 'The local job description is incomplete.', {
      hint: 'Run create_lip_sync again with force_recreate: true.',
      noTaskCreated: true,
    });
  }
  return {
    video,
    audio,
    playback_type: playback_type as PlaybackType,
    align: align === 'off' ? 'off' : 'auto',
  };
}
