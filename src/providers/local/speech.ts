/**
 * Offline speech: text to a WAV file with espeak-ng, where it is installed. The local engine offers the
 * `audio` kind (generate_audio, kind "speech") only when espeak-ng was found, so the offline demo can
 * show the dubbing workflow — speech, lip sync, download — without an account.
 *
 * espeak-ng runs without a shell: the text goes through a file (`-f`), never onto a command line.
 */
import { accessSync, constants as fsConstants, statSync } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../../config.js';
import { AppError, isAppError } from '../../errors.js';
import { lastErrorLine, runProcess, type ToolLocation } from '../../media/ffmpeg.js';
import { probe } from '../../media/probe.js';
import type { JsonObject } from '../provider.js';
import type { LocalJobResult, ProgressFn } from './engine.js';

/** What to tell a person when espeak-ng is missing. */
export const ESPEAK_FIX =
  'Install espeak-ng (`sudo apt-get install espeak-ng` on Debian/Ubuntu, `brew install espeak-ng` on macOS, ' +
  'or the Windows installer from https://github.com/espeak-ng/espeak-ng/releases), then restart lipsync-mcp; ' +
  'or set LIPSYNC_ESPEAK_PATH to the binary.';

/** Longest text spoken in one job: about five minutes of speech at espeak-ng's normal rate. */
export const SPEECH_MAX_CHARS = 5000;
/** espeak-ng makes minutes of audio in a second or two; this only stops a hung process. */
export const SPEECH_TIMEOUT_MS = 60_000;
export const DEFAULT_VOICE = 'en';

/** espeak-ng voice names: a language code with optional region or variant parts (en, en-us, de, mb-en1). */
const VOICE_RE = /^[a-z]{2,3}(?:-[a-z0-9]{1,8}){0,3}$/;

function isExecutable(p: string): boolean {
  try {
    if (!statSync(p).isFile()) return false;
    accessSync(p, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Finds espeak-ng: LIPSYNC_ESPEAK_PATH when set (a wrong one is a problem to report, not a reason to
 * pick another binary), else the PATH directories. Synchronous and cheap (a few stats), so the local
 * engine knows at start-up whether it can offer speech.
 */
export function locateEspeak(cfg: Config['espeak']): { location?: ToolLocation; problem?: string } {
  if (cfg.path) {
    if (isExecutable(cfg.path)) return { location: { path: cfg.path, source: 'LIPSYNC_ESPEAK_PATH' } };
    return {
      problem: `LIPSYNC_ESPEAK_PATH points to ${cfg.path}, which is not an executable file; offline speech is off. Fix or unset it.`,
    };
  }
  const names = process.platform === 'win32' ? ['espeak-ng.exe', 'espeak-ng'] : ['espeak-ng'];
  for (const dir of cfg.pathDirs) {
    for (const name of names) {
      const candidate = join(dir, name);
      if (isExecutable(candidate)) return { location: { path: candidate, source: 'PATH' } };
    }
  }
  return {};
}

function invalid(message: string, hint: string): AppError {
  return new AppError('invalid_input', message, { hint });
}

/**
 * The canonical params of a local speech job (they make its fingerprint): the trimmed text and an
 * espeak-ng voice, from `voice`, else `language` when it is a voice name, else English. Anything the
 * local engine cannot honour is refused rather than ignored.
 */
export function speechParams(params: JsonObject): JsonObject {
  const kind = params.kind ?? 'speech';
  if (kind !== 'speech') {
    throw new AppError('unsupported', `The local engine only makes speech, not ${JSON.stringify(kind)}.`, {
      hint: 'Use provider "director" for music and sound effects.',
    });
  }
  for (const key of ['prompt', 'style', 'duration'] as const) {
    if (params[key] !== undefined) {
      throw invalid(
        `The local engine cannot use ${key} (espeak-ng speaks the text at its normal pace).`,
        `Leave ${key} out, or use provider "director".`,
      );
    }
  }
  const text = typeof params.text === 'string' ? params.text.trim() : '';
  if (!text) throw invalid('Speech needs text.', 'Pass text: the exact words to speak.');
  if (text.length > SPEECH_MAX_CHARS) {
    throw invalid(
      `The text is ${text.length} characters; the local engine speaks at most ${SPEECH_MAX_CHARS} in one job.`,
      'Split the text into shorter parts (one job each).',
    );
  }
  const raw = params.voice ?? params.language;
  const field = params.voice !== undefined ? 'voice' : 'language';
  let voice = DEFAULT_VOICE;
  if (raw !== undefined) {
    const given = typeof raw === 'string' ? raw.trim().toLowerCase() : '';
    if (!VOICE_RE.test(given)) {
      throw invalid(
        `${field} ${JSON.stringify(String(raw).slice(0, 60))} is not an espeak-ng voice name.`,
        'The local engine takes espeak-ng voice names such as en, en-us, de, fr, es, mb-en1 (`espeak-ng --voices` lists them); leave it out for English.',
      );
    }
    voice = given;
  }
  return { kind: 'speech', text, voice };
}

export interface SpeechJobSpec {
  text: string;
  voice: string;
  /** The final WAV file. */
  out: string;
  timeoutMs: number;
}

export interface SpeechTools {
  espeakPath: string;
  ffprobePath: string;
}

/** espeak-ng's own words for a failure, made actionable. */
function espeakFailed(voice: string, output: string): AppError {
  const said = lastErrorLine(output);
  if (/voice does not exist|could not load the specified mbrola/i.test(output)) {
    return invalid(
      `espeak-ng has no voice "${voice}" here (${said}).`,
      '`espeak-ng --voices` lists the voices installed; mbrola voices (mb-…) also need the mbrola package and its voice data.',
    );
  }
  return new AppError('provider_failed', `espeak-ng failed: ${said}`, {
    hint: 'Check that `espeak-ng --version` runs in a terminal on this machine; reinstall espeak-ng if it does not.',
  });
}

/** Speaks the text into `spec.out` (WAV), checked with ffprobe; the file appears only when complete. */
export async function runSpeechJob(
  tools: SpeechTools,
  spec: SpeechJobSpec,
  onProgress: ProgressFn,
  signal: AbortSignal,
): Promise<LocalJobResult> {
  const textFile = `${spec.out}.txt`;
  const partial = `${spec.out}.${process.pid}.part.wav`;
  await writeFile(textFile, spec.text, { mode: 0o600 });
  try {
    onProgress(0.1, 'speaking');
    // -b 1: the text file is UTF-8. No -m: markup in the text is read out, not obeyed.
    const args = ['-b', '1', '-v', spec.voice, '-f', textFile, '-w', partial];
    const res = await runProcess(tools.espeakPath, args, {
      signal,
      timeoutMs: spec.timeoutMs,
      maxStdoutBytes: 1024 * 1024,
    }).catch((err: unknown) => {
      if (!isAppError(err)) throw err;
      if (err.code === 'timeout') {
        throw new AppError(
          'timeout',
          `espeak-ng did not finish within ${spec.timeoutMs < 1000 ? `${spec.timeoutMs} ms` : `${Math.round(spec.timeoutMs / 1000)} s`} and was stopped.`,
          {
            hint: 'Check that `espeak-ng --version` answers at once in a terminal; try a shorter text.',
            cause: err,
          },
        );
      }
      if (err.code === 'unavailable') {
        throw new AppError('unavailable', `espeak-ng could not be started: ${err.message}`, {
          hint: ESPEAK_FIX,
          cause: err,
        });
      }
      throw err;
    });
    if (res.code !== 0) throw espeakFailed(spec.voice, `${res.stdout.toString('utf8')}\n${res.stderrTail}`);
    onProgress(0.8, 'checking the audio');
    const info = await probe(tools.ffprobePath, partial, signal).catch(() => undefined);
    const seconds = info?.audio?.durationSeconds ?? info?.durationSeconds ?? 0;
    if (!info?.audio || seconds < 0.05) {
      throw new AppError('provider_failed', 'espeak-ng made no sound for this text.', {
        hint: 'Pass text with words in it (not only punctuation), in the language of the voice.',
      });
    }
    await rename(partial, spec.out);
    return {
      durationSeconds: Math.round(seconds * 1000) / 1000,
      extra: {
        engine: 'espeak-ng',
        voice: spec.voice,
        characters: spec.text.length,
        format: 'wav',
        ...(info.audio.sampleRate ? { sample_rate: info.audio.sampleRate } : {}),
      },
    };
  } finally {
    await rm(textFile, { force: true });
    await rm(partial, { force: true });
  }
}
