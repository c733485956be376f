/**
 * The offline local engine as a Provider. Free, no network. `start` hands the job to a detached
 * worker process (worker.ts) and returns at once, so the job outlives the CLI or server that asked
 * for it. The worker records progress and the outcome in `<out>.state.json`; `status` answers from
 * that file in any process, now or after a restart. A worker that died before writing an outcome
 * reads as failed, and the job service runs a failed free job again on the next identical request.
 * Where espeak-ng is installed it also speaks text (kind `audio`, speech only; speech.ts).
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
  StatusContext,
  Timing,
} from '../provider.js';
import type { LocalTools } from './engine.js';
import { type InlineJob, launch, type Runtime, readJobState, stopJob, toSnapshot } from './launch.js';
import { isSpeech, LOCAL_PLAYBACK_TYPES, parsePrepared, parseRequest } from './request.js';
import { ESPEAK_FIX, locateEspeak, SPEECH_TIMEOUT_MS, type SpeechTools, speechParams } from './speech.js';

export { LOCAL_PLAYBACK_TYPES } from './request.js';
export { STOPPED_MESSAGE } from './runner.js';
export { ESPEAK_FIX, locateEspeak, SPEECH_MAX_CHARS } from './speech.js';

export interface LocalProviderDeps {
  ffmpegPath?: string;
  ffprobePath?: string;
  /** Where ffmpeg came from ('FFMPEG_PATH', 'PATH', 'bundled (...)'), shown as the credential source. */
  ffmpegSource?: string;
  /**
   * espeak-ng, when found: the engine then also offers speech (kind `audio`, generate_audio kind
   * "speech"). Without it that kind is not offered at all.
   */
  espeakPath?: string;
  /** How long one espeak-ng run may take (tests shorten it). */
  speechTimeoutMs?: number;
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

function capabilities(speech: boolean): ProviderCapabilities {
  return {
    kinds: speech ? ['lip_sync', 'audio'] : ['lip_sync'],
    formats: {
      video: ['mp4', 'mov', 'm4v', 'webm', 'mkv', 'avi'],
      audio: ['wav', 'mp3', 'm4a', 'aac', 'ogg', 'flac'],
    },
    playbackTypes: [...LOCAL_PLAYBACK_TYPES],
    redrawsLips: false,
    paid: false,
  };
}

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

  const speech = (): SpeechTools => {
    const { ffprobePath } = tools();
    if (!deps.espeakPath) {
      throw new AppError('unavailable', 'Offline speech needs espeak-ng, and it was not found.', {
        hint: ESPEAK_FIX,
        noTaskCreated: true,
      });
    }
    return { espeakPath: deps.espeakPath, ffprobePath };
  };

  const rt: Runtime = {
    mode: deps.mode ?? 'worker',
    inline,
    log,
    tools,
    speech,
    speechTimeoutMs: deps.speechTimeoutMs ?? SPEECH_TIMEOUT_MS,
  };

  return {
    name: 'local',
    displayName: 'Local engine',
    capabilities: capabilities(!!deps.espeakPath),

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

    timing(kind): Timing {
      // Speech takes a second or two; lip sync renders video.
      return { pollIntervalMs: kind === 'audio' ? 500 : 2000 };
    },

    normalizeParams(kind, params): JsonObject {
      // The speech job's fingerprint is its canonical text and voice, so "voice: EN" and no voice are one job.
      return kind === 'audio' && deps.espeakPath ? speechParams(params) : params;
    },

    async prepare(request: JobRequest, _ctx: PrepareContext): Promise<JsonObject> {
      if (request.kind === 'audio') speech();
      else tools();
      return parseRequest(request, !!deps.espeakPath);
    },

    async start(preparedJson: JsonObject, ctx: StartContext): Promise<StartResult> {
      try {
        const prepared = parsePrepared(preparedJson);
        ctx.progress(
          isSpeech(prepared)
            ? 'Local engine: speaking the text with espeak-ng.'
            : 'Local engine: aligning the audio and fitting the video to it.',
        );
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

    stop(operation: JsonObject, ctx: StatusContext): Promise<'stopped' | 'not_running'> {
      return stopJob(rt, operation, ctx.signal);
    },

    async close(): Promise<void> {
      const all = [...inline.values()];
      for (const j of all) j.controller.abort();
      await Promise.allSettled(all.map((j) => j.done));
    },
  };
}

/** Builds the local provider with ffmpeg/ffprobe (explicit, PATH, bundled) and espeak-ng found per config. */
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
    espeakPath: locateEspeak(config.espeak).location?.path,
  });
}
