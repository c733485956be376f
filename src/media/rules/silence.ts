/**
 * Silence rule: audio that is mostly silent gives the lips little to follow. Measured with ffmpeg's
 * silencedetect; when it cannot be measured the rule says nothing (this is advice, never a blocker).
 */
import { runProcess } from '../ffmpeg.js';
import { LOCAL_ONLY } from '../probe.js';

export const SILENCE_DB = -45;
const MOSTLY_SILENT = 0.8;

/** The warning for a mostly silent audio file, or undefined. */
export async function mostlySilent(
  ffmpegPath: string,
  file: string,
  filename: string,
  duration: number | undefined,
  signal?: AbortSignal,
): Promise<string | undefined> {
  const silent = await silentFraction(ffmpegPath, file, duration, signal);
  if (silent === undefined || silent < MOSTLY_SILENT) return undefined;
  return `${filename} is mostly silent (${Math.round(silent * 100)}% below ${SILENCE_DB} dB): there is little speech for the lips to follow. Check it is the right file and not muted.`;
}

/** Fraction of the audio below SILENCE_DB, or undefined when it cannot be measured. */
export async function silentFraction(
  ffmpegPath: string,
  file: string,
  duration: number | undefined,
  signal: AbortSignal | undefined,
): Promise<number | undefined> {
  if (!file || !duration || duration <= 0) return undefined;
  const acc = { silent: 0, openStart: undefined as number | undefined };
  try {
    const res = await runProcess(
      ffmpegPath,
      ['-hide_banner', '-nostdin', '-nostats', ...LOCAL_ONLY, '-i', file, '-map', '0:a:0'].concat([
        '-af',
        `silencedetect=noise=${SILENCE_DB}dB:d=0.3`,
        '-f',
        'null',
        '-',
      ]),
      { signal, timeoutMs: 25_000, onStderrLine: (line) => readSilenceLine(line, acc) },
    );
    if (res.code !== 0) return undefined;
  } catch (err) {
    if (signal?.aborted) throw err;
    return undefined;
  }
  // A silence running to the end of the file is reported without an end line.
  if (acc.openStart !== undefined) acc.silent += Math.max(0, duration - acc.openStart);
  return Math.min(1, acc.silent / duration);
}

/** Folds one silencedetect stderr line into the running total. */
export function readSilenceLine(line: string, acc: { silent: number; openStart: number | undefined }): void {
  const start = /silence_start:\s*(-?[\d.]+)/.exec(line);
  if (start) acc.openStart = Math.max(0, Number(start[1]));
  const dur = /silence_duration:\s*([\d.]+)/.exec(line);
  if (dur) {
    acc.silent += Number(dur[1]);
    acc.openStart = undefined;
  }
}
