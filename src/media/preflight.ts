/**
 * Preflight: look at the inputs before anything is uploaded or paid for. Problems that would make the
 * job fail are errors (AppError 'invalid_input' naming the file); problems that make a worse result
 * are warnings the tool shows next to the task. Only local files are probed; URLs get the extension
 * check alone (downloading them here would cost time and bandwidth).
 */
import { extname } from 'node:path';
import { AppError } from '../errors.js';
import type { InputRole, ProviderCapabilities, ResolvedInput } from '../providers/provider.js';
import { runProcess } from './ffmpeg.js';
import { type ProbeResult, probe } from './probe.js';

export interface PreflightOptions {
  inputs: Partial<Record<InputRole, ResolvedInput>>;
  provider: { displayName: string; capabilities: ProviderCapabilities };
  ffprobePath?: string;
  /** Enables the "mostly silent audio" check. */
  ffmpegPath?: string;
  signal?: AbortSignal;
  /** The playback type asked for: one that already extends the video needs no advice to use it. */
  playbackType?: string;
}

export interface PreflightResult {
  warnings: string[];
  probes: Partial<Record<InputRole, ProbeResult>>;
}

export const PREFLIGHT_SKIPPED =
  'preflight skipped: ffprobe not found, so the files were not checked before sending. Install ffmpeg ' +
  '(it includes ffprobe), set FFPROBE_PATH, or reinstall lipsync-mcp with optional dependencies.';

/** Extensions a probed container name stands for (used when a file's extension is missing or odd). */
const FORMAT_EXTENSIONS: [RegExp, string[]][] = [
  [/\bmov\b|\bmp4\b/, ['mp4', 'mov', 'm4v', 'm4a']],
  [/matroska|webm/, ['mkv', 'webm']],
  [/^avi$/, ['avi']],
  [/^wav$/, ['wav']],
  [/^mp3$/, ['mp3']],
  [/^aac$/, ['aac']],
  [/^ogg$/, ['ogg']],
  [/^flac$/, ['flac']],
  [/png_pipe/, ['png']],
  [/jpeg_pipe/, ['jpg', 'jpeg']],
  [/webp_pipe/, ['webp']],
  [/^gif$/, ['gif']],
];

/** Media extensions we recognize; a URL with one the provider does not list is refused early. */
const KNOWN_MEDIA = new Set([
  ...['mp4', 'mov', 'm4v', 'webm', 'mkv', 'avi', 'flv', 'wmv', 'mpg', 'mpeg', 'ts', '3gp'],
  ...['wav', 'mp3', 'm4a', 'aac', 'ogg', 'oga', 'opus', 'flac', 'wma', 'aiff', 'aif'],
  ...['png', 'jpg', 'jpeg', 'webp', 'gif', 'bmp', 'tiff', 'heic'],
]);

const SILENCE_DB = -45;
const MOSTLY_SILENT = 0.8;

function extOf(name: string): string {
  const e = extname(name).toLowerCase().replace(/^\./, '');
  return e === 'jpeg' ? 'jpg' : e;
}

function accepts(list: string[], ext: string): boolean {
  return list.includes(ext) || (ext === 'jpg' && list.includes('jpeg'));
}

function formatError(role: InputRole, input: ResolvedInput, displayName: string, list: string[]): AppError {
  const ext = extOf(input.filename);
  const what = ext ? `a .${ext} file` : 'a file without a recognized extension';
  return new AppError(
    'invalid_input',
    `${input.filename} is ${what}; ${displayName} accepts ${role} as ${list.join(', ')}.`,
    {
      hint: `Convert it first, e.g. \`ffmpeg -i ${input.filename} out.${list[0] ?? 'mp4'}\`, or pick another provider.`,
      details: { file: input.filename, role },
    },
  );
}

function checkFormat(
  role: InputRole,
  input: ResolvedInput,
  caps: ProviderCapabilities,
  displayName: string,
  probed?: ProbeResult,
): void {
  const list = caps.formats[role];
  if (!list) {
    throw new AppError(
      'invalid_input',
      `${displayName} does not take ${role === 'video' ? 'a' : 'an'} ${role} input (${input.filename}).`,
      {
        hint: `Leave out the ${role}, or pick a provider that supports it (see check_credits).`,
        details: { role },
      },
    );
  }
  const ext = extOf(input.filename);
  if (accepts(list, ext)) return;
  if (!probed) {
    // A URL without a recognizable media extension may still be fine (signed CDN links often are).
    if (input.type === 'url' && !KNOWN_MEDIA.has(ext)) return;
    throw formatError(role, input, displayName, list);
  }
  // Odd or missing extension on a local file: trust what the content is.
  const formatExts = FORMAT_EXTENSIONS.find(([re]) => re.test(probed.formatName))?.[1] ?? [];
  if (!formatExts.some((e) => accepts(list, e))) throw formatError(role, input, displayName, list);
}

function streamError(input: ResolvedInput, role: InputRole, missing: 'video' | 'audio'): AppError {
  const as = role === 'image' ? 'an image' : `the ${role}`;
  return new AppError(
    'invalid_input',
    `${input.filename} has no ${missing} stream, so it cannot be used as ${as}.`,
    {
      hint:
        missing === 'video'
          ? `Check you passed the right file as ${role}; an audio-only file belongs in "audio".`
          : 'Check you passed the right file as audio; a silent video has no soundtrack to use.',
      details: { file: input.filename, role },
    },
  );
}

const fmt = (s: number) => `${s.toFixed(1)} s`;

/** Checks the inputs for `provider`. Throws AppError('invalid_input'); returns warnings. */
export async function preflight(opts: PreflightOptions): Promise<PreflightResult> {
  const { inputs, provider } = opts;
  const warnings: string[] = [];
  const probes: Partial<Record<InputRole, ProbeResult>> = {};
  const entries = Object.entries(inputs) as [InputRole, ResolvedInput][];

  // Extension checks need no ffprobe; a clear refusal beats a provider's opaque one.
  for (const [role, input] of entries) {
    if (input.type === 'url' || !opts.ffprobePath)
      checkFormat(role, input, provider.capabilities, provider.displayName);
  }
  if (!opts.ffprobePath) {
    if (entries.some(([, i]) => i.type === 'file')) warnings.push(PREFLIGHT_SKIPPED);
    return { warnings, probes };
  }
  const ffprobePath = opts.ffprobePath;

  await Promise.all(
    entries.map(async ([role, input]) => {
      if (input.type !== 'file') return;
      probes[role] = await probe(ffprobePath, input.path, opts.signal);
    }),
  );

  for (const [role, input] of entries) {
    const p = probes[role];
    if (!p || input.type !== 'file') continue;
    checkFormat(role, input, provider.capabilities, provider.displayName, p);
    if ((role === 'video' || role === 'image') && !p.video) throw streamError(input, role, 'video');
    if (role === 'audio' && !p.audio) throw streamError(input, role, 'audio');
  }

  const video = probes.video?.video ?? probes.image?.video;
  const visual = inputs.video ?? inputs.image;
  if (video && visual) {
    const short = Math.min(video.width, video.height);
    if (short > 0 && short < 480) {
      warnings.push(
        `${visual.filename} is ${video.width}x${video.height}, below 480p: faces this small give a blurry, less convincing lip sync. Use a 720p or larger source if you have one.`,
      );
    }
  }

  const audio = probes.audio?.audio;
  const audioInput = inputs.audio;
  if (audio && audioInput) {
    if (audio.sampleRate && audio.sampleRate !== 44_100 && audio.sampleRate !== 48_000) {
      warnings.push(
        `${audioInput.filename} is sampled at ${(audio.sampleRate / 1000).toFixed(audio.sampleRate % 1000 ? 2 : 0)} kHz, not 44.1 or 48 kHz: it will be resampled and may sound duller. Export the voice at 44.1 or 48 kHz if you can.`,
      );
    }
    const v = probes.video?.video?.durationSeconds ?? probes.video?.durationSeconds;
    const a = audio.durationSeconds ?? probes.audio?.durationSeconds;
    const extending = !!opts.playbackType && opts.playbackType !== 'normal';
    if (v && a && Math.abs(a - v) > 0.1 * v && !(a > v && extending)) {
      const longer = a > v ? 'longer' : 'shorter';
      const pct = Math.round((Math.abs(a - v) / v) * 100);
      const types = provider.capabilities.playbackTypes?.filter((t) => t !== 'normal') ?? [];
      const extend =
        a > v && types.length > 0
          ? `, or use playback_type ${types.join(' / ')} to extend the video to the audio`
          : '';
      warnings.push(
        `The audio (${fmt(a)}) is ${pct}% ${longer} than the video (${fmt(v)}): lip sync suffers when the lengths differ. Trim or stretch one of them${extend}.`,
      );
    }
    if (opts.ffmpegPath) {
      const silent = await silentFraction(
        opts.ffmpegPath,
        audioInput.type === 'file' ? audioInput.path : '',
        a,
        opts.signal,
      );
      if (silent !== undefined && silent >= MOSTLY_SILENT) {
        warnings.push(
          `${audioInput.filename} is mostly silent (${Math.round(silent * 100)}% below ${SILENCE_DB} dB): there is little speech for the lips to follow. Check it is the right file and not muted.`,
        );
      }
    }
  }
  return { warnings, probes };
}

/**
 * Fraction of the audio below SILENCE_DB, from ffmpeg's silencedetect. Undefined when it cannot be
 * measured: this is advice, so a failure here must not block the job.
 */
async function silentFraction(
  ffmpegPath: string,
  file: string,
  duration: number | undefined,
  signal: AbortSignal | undefined,
): Promise<number | undefined> {
  if (!file || !duration || duration <= 0) return undefined;
  let silent = 0;
  let openStart: number | undefined;
  try {
    const res = await runProcess(
      ffmpegPath,
      [
        '-hide_banner',
        '-nostdin',
        '-nostats',
        '-i',
        file,
        '-map',
        '0:a:0',
        '-af',
        `silencedetect=noise=${SILENCE_DB}dB:d=0.3`,
        '-f',
        'null',
        '-',
      ],
      {
        signal,
        timeoutMs: 25_000,
        onStderrLine: (line) => {
          const start = /silence_start:\s*(-?[\d.]+)/.exec(line);
          if (start) openStart = Math.max(0, Number(start[1]));
          const dur = /silence_duration:\s*([\d.]+)/.exec(line);
          if (dur) {
            silent += Number(dur[1]);
            openStart = undefined;
          }
        },
      },
    );
    if (res.code !== 0) return undefined;
  } catch (err) {
    if (signal?.aborted) throw err;
    return undefined;
  }
  // A silence running to the end of the file is reported without an end line.
  if (openStart !== undefined) silent += Math.max(0, duration - openStart);
  return Math.min(1, silent / duration);
}
