/**
 * The offline local engine as a Provider. Free, no network. `start` hands the job to a detached
 * worker process (worker.ts) and returns at once, so the job outlives the CLI or server that asked
 * for it. The worker records progress and the outcome in `<out>.state.json`; `status` answers from
 * that file in any process, now or after a restart. A worker that died before writing an outcome
 * reads as failed, and the job service runs a failed free job again on the next identical request.
 */
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
  ProviderCapabilities,
  Snapshot,
  StartContext,
  StartResult,
  Timing,
} from '../provider.js';
import type { LocalTools } from './engine.js';
import { type InlineJob, launch, type Runtime, readJobState, toSnapshot } from './launch.js';
import { LOCAL_PLAYBACK_TYPES, parsePrepared, parseRequest } from './request.js';

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

function damaged(): AppError {
  return new AppError('invalid_input', 'This local task has a damaged record (no output path).', {
    hint: 'Send the same request again: the local engine runs it again, for free.',
  });
}

const CAPABILITIES: ProviderCapabilities = {
  kinds: ['lip_sync'],
  formats: {
    video: ['mp4', 'mov', 'm4v', 'webm', 'mkv', 'avi'],
    audio: ['wav', 'mp3', 'm4a', 'aac', 'ogg', 'flac'],
  },
  playbackTypes: [...LOCAL_PLAYBACK_TYPES],
  paid: false,
};

export function createLocalProvider(deps: LocalProviderDeps): LocalProvider {
  const { log } = deps;
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

  const rt: Runtime = { mode: deps.mode ?? 'worker', inline, log, tools };

  return {
    name: 'local',
    displayName: 'Local engine',
    capabilities: CAPABILITIES,

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
        return await launch(rt, ctx.taskId, ctx.workDir, prepared);
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
      return toSnapshot(await readJobState(out, pid, log));
    },

    async close(): Promise<void> {
      const all = [...inline.values()];
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
