/**
 * ffprobe, normalized. A file ffprobe cannot read, or one that ends well before its header says it
 * should (an interrupted download or copy), is an `invalid_input` error naming the file.
 */
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { AppError } from '../errors.js';
import { lastErrorLine, runProcess } from './ffmpeg.js';

export interface VideoInfo {
  codec: string;
  width: number;
  height: number;
  /** Frames per second (average rate; 0 when unknown, e.g. a still image). */
  fps: number;
  /** The same rate as ffprobe's exact fraction, e.g. "30000/1001" (undefined when unknown). */
  frameRate: string | undefined;
  durationSeconds: number | undefined;
  pixFmt: string | undefined;
}

export interface AudioInfo {
  codec: string;
  sampleRate: number;
  channels: number;
  durationSeconds: number | undefined;
}

export interface ProbeResult {
  /** ffprobe's demuxer name list, e.g. "mov,mp4,m4a,3gp,3g2,mj2", "wav", "png_pipe". */
  formatName: string;
  durationSeconds: number | undefined;
  video?: VideoInfo;
  audio?: AudioInfo;
}

interface RawStream {
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  pix_fmt?: string;
  sample_rate?: string;
  channels?: number;
  duration?: string;
  disposition?: { attached_pic?: number };
}

interface RawProbe {
  format?: { format_name?: string; duration?: string; start_time?: string };
  streams?: RawStream[];
}

const PROBE_TIMEOUT_MS = 20_000;

/**
 * Local files only: a playlist (.m3u8) or concat script would otherwise make ffprobe fetch the
 * URLs inside it, from the user's network.
 */
export const LOCAL_ONLY = ['-protocol_whitelist', 'file'];

function num(v: string | number | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isFinite(n) ? n : undefined;
}

/** "30000/1001" -> 29.97; "0/0" -> 0. */
export function parseRate(rate: string | undefined): number {
  if (!rate) return 0;
  const [a, b] = rate.split('/');
  const n = Number(a);
  const d = b === undefined ? 1 : Number(b);
  return Number.isFinite(n) && Number.isFinite(d) && d > 0 ? n / d : 0;
}

function unreadable(file: string, why: string): AppError {
  const sentence = /[.!?]$/.test(why) ? why : `${why}.`;
  return new AppError('invalid_input', `${basename(file)} could not be read as media: ${sentence}`, {
    hint: 'The file may be damaged, incomplete (an interrupted download or copy), or not a video/audio file. Open it in a media player; download or export it again if it does not play to the end.',
    details: { file: basename(file) },
  });
}

/** Probes `file` and checks it is complete. Throws AppError('invalid_input') otherwise. */
export async function probe(ffprobePath: string, file: string, signal?: AbortSignal): Promise<ProbeResult> {
  const res = await runProcess(
    ffprobePath,
    ['-v', 'error', ...LOCAL_ONLY, '-print_format', 'json', '-show_format', '-show_streams', file],
    { signal, timeoutMs: PROBE_TIMEOUT_MS },
  );
  let raw: RawProbe;
  try {
    raw = JSON.parse(res.stdout.toString('utf8') || '{}') as RawProbe;
  } catch {
    raw = {};
  }
  if (res.code !== 0 || !raw.format) {
    throw unreadable(file, lastErrorLine(res.stderrTail).replace(/^.*?:\s*(?=[A-Z])/, ''));
  }
  const result = normalize(raw);
  // ffmpeg shows a .txt file as "ANSI art" video (the tty demuxer): a document, not media.
  if (result.formatName === 'tty') throw unreadable(file, 'it is a text document, not media.');
  if (!result.video && !result.audio) throw unreadable(file, 'it contains no video or audio stream.');
  await checkComplete(ffprobePath, file, raw, result, signal);
  return result;
}

export function normalize(raw: RawProbe): ProbeResult {
  const streams = raw.streams ?? [];
  // Cover art inside an audio file is a "video" stream to ffprobe, but not a video.
  const v = streams.find((s) => s.codec_type === 'video' && !s.disposition?.attached_pic);
  const a = streams.find((s) => s.codec_type === 'audio');
  const out: ProbeResult = {
    formatName: raw.format?.format_name ?? 'unknown',
    durationSeconds: num(raw.format?.duration),
  };
  if (v) {
    out.video = {
      codec: v.codec_name ?? 'unknown',
      width: v.width ?? 0,
      height: v.height ?? 0,
      fps: parseRate(v.avg_frame_rate) || parseRate(v.r_frame_rate),
      frameRate: [v.avg_frame_rate, v.r_frame_rate].find((r) => parseRate(r) > 0),
      durationSeconds: num(v.duration) ?? out.durationSeconds,
      pixFmt: v.pix_fmt,
    };
  }
  if (a) {
    out.audio = {
      codec: a.codec_name ?? 'unknown',
      sampleRate: num(a.sample_rate) ?? 0,
      channels: a.channels ?? 0,
      durationSeconds: num(a.duration) ?? out.durationSeconds,
    };
  }
  return out;
}

function isStillImage(p: ProbeResult): boolean {
  return /(_pipe|image2|^gif$|webp)/.test(p.formatName) && !p.audio;
}

/**
 * Reads the packets of the last seconds. A file cut short (header written first, data missing) reads
 * fine from the start; only its end betrays it: packets stop early, or the demuxer says "partial file".
 */
async function checkComplete(
  ffprobePath: string,
  file: string,
  raw: RawProbe,
  p: ProbeResult,
  signal: AbortSignal | undefined,
): Promise<void> {
  if (p.formatName === 'wav') await checkWavSize(file);
  const duration = p.durationSeconds;
  if (duration === undefined || duration <= 0 || isStillImage(p)) return;
  const start = num(raw.format?.start_time) ?? 0;
  const from = Math.max(0, start + duration - 2);
  const res = await runProcess(
    ffprobePath,
    [
      '-v',
      'error',
      ...LOCAL_ONLY,
      '-of',
      'csv=p=0',
      '-show_entries',
      'packet=pts_time,duration_time',
      // Must come after -show_entries: ffprobe 6 silently ignores it otherwise.
      '-read_intervals',
      `${from.toFixed(3)}%`,
      file,
    ],
    { signal, timeoutMs: PROBE_TIMEOUT_MS, maxStdoutBytes: 64 * 1024 * 1024 },
  );
  if (/partial file|truncat/i.test(res.stderrTail))
    throw unreadable(file, 'the file is truncated (its data ends early).');
  let end = 0;
  for (const line of res.stdout.toString('utf8').split('\n')) {
    const [pts, dur] = line.split(',');
    const t = (num(pts) ?? Number.NaN) + (num(dur) ?? 0);
    if (Number.isFinite(t) && t > end) end = t;
  }
  const margin = Math.max(1, duration * 0.1);
  if (end > 0 && end < start + duration - margin) {
    throw unreadable(
      file,
      `the file is truncated: its data ends at ${(end - start).toFixed(1)} s but it says it lasts ${duration.toFixed(1)} s.`,
    );
  }
}

/**
 * ffprobe measures a WAV by its size, so a cut-off WAV just looks short. Its header still records
 * the intended data size: compare. (Streaming writers put 0 or 0xFFFFFFFF there; those are skipped.)
 */
async function checkWavSize(file: string): Promise<void> {
  const fh = await open(file, 'r');
  try {
    const { size } = await fh.stat();
    const head = Buffer.alloc(Math.min(size, 64 * 1024));
    await fh.read(head, 0, head.length, 0);
    if (head.toString('latin1', 0, 4) !== 'RIFF') return;
    let pos = 12;
    while (pos + 8 <= head.length) {
      const id = head.toString('latin1', pos, pos + 4);
      const len = head.readUInt32LE(pos + 4);
      if (id === 'data') {
        const declared = len;
        const actual = size - (pos + 8);
        if (declared > 0 && declared !== 0xffffffff && actual < declared * 0.98) {
          const pct = Math.round((actual / declared) * 100);
          throw unreadable(
            file,
            `the file is truncated: it holds ${pct}% of the audio data its header announces.`,
          );
        }
        return;
      }
      pos += 8 + len + (len % 2);
    }
  } finally {
    await fh.close();
  }
}
