/**
 * Decodes an audio stream to mono float PCM through an ffmpeg pipe. The bytes are streamed into a
 * growing Float32Array, never buffered twice, so a long file costs 4 bytes per sample and no more.
 */
import { runFfmpeg } from '../../media/ffmpeg.js';

export const ANALYSIS_RATE = 16_000;

export interface DecodeOptions {
  sampleRate?: number;
  /** Decode only the first `maxSeconds` (alignment needs a window, not the whole file). */
  maxSeconds?: number;
  /** Which audio stream (ffmpeg -map spec). */
  stream?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
}

export async function decodePcm(
  ffmpegPath: string,
  file: string,
  opts: DecodeOptions = {},
): Promise<Float32Array> {
  const rate = opts.sampleRate ?? ANALYSIS_RATE;
  let buf = new Float32Array(rate * Math.min(opts.maxSeconds ?? 60, 600));
  let length = 0;
  // A chunk may end mid-sample; carry the odd bytes over to the next one.
  let carry = Buffer.alloc(0);
  const onStdout = (chunk: Buffer) => {
    const data = carry.length ? Buffer.concat([carry, chunk]) : chunk;
    const whole = data.length - (data.length % 4);
    carry = Buffer.from(data.subarray(whole));
    const samples = whole / 4;
    if (length + samples > buf.length) {
      const grown = new Float32Array(Math.max(buf.length * 2, length + samples));
      grown.set(buf.subarray(0, length));
      buf = grown;
    }
    // A Float32Array view needs 4-byte alignment (little-endian hosts only, as every Node target is);
    // an unaligned chunk is copied once into an aligned buffer.
    const aligned = data.byteOffset % 4 === 0 ? data : Buffer.from(data.subarray(0, whole));
    buf.set(new Float32Array(aligned.buffer, aligned.byteOffset, samples), length);
    length += samples;
  };
  const args = ['-v', 'error'];
  if (opts.maxSeconds !== undefined) args.push('-t', String(opts.maxSeconds));
  args.push(
    '-i',
    file,
    '-map',
    opts.stream ?? '0:a:0',
    '-vn',
    // first_pts=0: pad a stream that starts late with silence, so sample 0 is time 0 of the file —
    // otherwise an audio track that begins after the video would skew the measured offset.
    '-af',
    `aresample=${rate}:async=1:first_pts=0`,
    '-ac',
    '1',
    '-f',
    'f32le',
    '-',
  );
  await runFfmpeg(ffmpegPath, args, {
    what: 'decoding audio for analysis',
    onStdout,
    signal: opts.signal,
    timeoutMs: opts.timeoutMs ?? 10 * 60_000,
  });
  return buf.slice(0, length);
}
