/**
 * Test media, generated on the fly with the bundled ffmpeg (lavfi sources) and JS-generated PCM, so
 * tests control the exact content (where the speech is, how it is shifted) and need no fixtures.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { locateFfmpeg, runFfmpeg } from '../../src/media/ffmpeg.js';

export interface Tools {
  ffmpeg: string;
  ffprobe: string;
}

let cached: Promise<Tools> | undefined;

/** The bundled binaries (PATH ignored, so every machine tests the same ffmpeg). */
export function mediaTools(): Promise<Tools> {
  cached ??= locateFfmpeg({ ffmpegPath: undefined, ffprobePath: undefined, pathDirs: [] }).then((t) => {
    if (!t.ffmpeg || !t.ffprobe)
      throw new Error('bundled ffmpeg/ffprobe not installed (optional dependencies)');
    return { ffmpeg: t.ffmpeg.path, ffprobe: t.ffprobe.path };
  });
  return cached;
}

/** A temp directory removed by the returned cleanup function. */
export async function tempDir(
  prefix = 'lipsync-test-',
): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Deterministic PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Speech-like audio: syllables of voiced sound (harmonics of a gliding pitch, shaped by two
 * formant-like resonances) and fricative noise bursts, grouped into words and separated by pauses
 * of 150-700 ms. Not intelligible, but it has speech's rhythm, spectrum and silences.
 */
export function makeSpeechLike(seed: number, seconds: number, sampleRate = 16_000): Float32Array {
  const rand = rng(seed);
  const out = new Float32Array(Math.round(seconds * sampleRate));
  let t = 0.15 + rand() * 0.2;
  while (t < seconds - 0.2) {
    const syllables = 2 + Math.floor(rand() * 4);
    for (let s = 0; s < syllables && t < seconds - 0.2; s++) {
      const fricative = rand() < 0.25;
      const len = fricative ? 0.04 + rand() * 0.06 : 0.09 + rand() * 0.16;
      const start = Math.round(t * sampleRate);
      const n = Math.min(Math.round(len * sampleRate), out.length - start);
      const f0 = 100 + rand() * 120;
      const glide = (rand() - 0.5) * 40;
      const f1 = 300 + rand() * 600;
      const f2 = 900 + rand() * 1500;
      const amp = 0.15 + rand() * 0.2;
      let phase = 0;
      for (let i = 0; i < n; i++) {
        const env = Math.sin((Math.PI * i) / n) ** 0.6;
        let v = 0;
        if (fricative) {
          v = (rand() * 2 - 1) * 0.5;
        } else {
          const f = f0 + (glide * i) / n;
          phase += (2 * Math.PI * f) / sampleRate;
          for (let h = 1; h * f < Math.min(4000, sampleRate / 2); h++) {
            const hf = h * f;
            const w = 1 / (1 + ((hf - f1) / 150) ** 2) + 0.6 / (1 + ((hf - f2) / 250) ** 2) + 0.02;
            v += w * Math.sin(h * phase);
          }
          v *= 0.35;
        }
        out[start + i] = (out[start + i] ?? 0) + amp * env * v;
      }
      t += len + 0.01 + rand() * 0.05;
    }
    t += 0.15 + rand() * 0.55;
  }
  return out;
}

/** A steady open vowel ("aa"): f0 140 Hz, resonances near 750 and 1200 Hz. */
export function makeVowel(seconds: number, sampleRate = 16_000, amp = 0.3): Float32Array {
  const out = new Float32Array(Math.round(seconds * sampleRate));
  for (let i = 0; i < out.length; i++) {
    const t = i / sampleRate;
    let v = 0;
    for (let h = 1; h * 140 < 4000; h++) {
      const hf = h * 140;
      const w = 1 / (1 + ((hf - 750) / 150) ** 2) + 0.7 / (1 + ((hf - 1200) / 200) ** 2) + 0.02;
      v += w * Math.sin(2 * Math.PI * hf * t);
    }
    out[i] = amp * 0.35 * v;
  }
  return out;
}

/** `pcm` delayed by `ms` (positive: content starts later) or advanced (negative: start dropped). */
export function shiftPcm(pcm: Float32Array, ms: number, sampleRate: number): Float32Array {
  const n = Math.round((Math.abs(ms) / 1000) * sampleRate);
  if (ms >= 0) {
    const out = new Float32Array(pcm.length + n);
    out.set(pcm, n);
    return out;
  }
  return pcm.slice(n);
}

/** Adds white noise at `level` (peak amplitude), deterministic by seed. */
export function addNoise(pcm: Float32Array, level: number, seed: number): Float32Array {
  const rand = rng(seed);
  return pcm.map((v) => v + (rand() * 2 - 1) * level);
}

export function concatPcm(...parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Writes 16-bit PCM WAV (mono, or the same signal on every channel). */
export async function writeWav(
  file: string,
  pcm: Float32Array,
  sampleRate: number,
  channels = 1,
): Promise<string> {
  const data = Buffer.alloc(pcm.length * 2 * channels);
  for (let i = 0; i < pcm.length; i++) {
    const s = Math.max(-1, Math.min(1, pcm[i]!));
    for (let c = 0; c < channels; c++) data.writeInt16LE(Math.round(s * 32767), (i * channels + c) * 2);
  }
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'latin1');
  h.writeUInt32LE(36 + data.length, 4);
  h.write('WAVEfmt ', 8, 'latin1');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(channels, 22);
  h.writeUInt32LE(sampleRate, 24);
  h.writeUInt32LE(sampleRate * channels * 2, 28);
  h.writeUInt16LE(channels * 2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36, 'latin1');
  h.writeUInt32LE(data.length, 40);
  await writeFile(file, Buffer.concat([h, data]));
  return file;
}

export interface AudioSpec {
  file: string;
  /** JS samples (mono) ... */
  pcm?: Float32Array;
  sampleRate?: number;
  /** ... or an ffmpeg lavfi source, e.g. "sine=f=440:d=3". */
  lavfi?: string;
  channels?: number;
}

/** Writes an audio file; the container/codec follows the extension (wav, mp3, m4a...). */
export async function makeAudio(spec: AudioSpec): Promise<string> {
  const tools = await mediaTools();
  const rate = spec.sampleRate ?? 48_000;
  if (spec.pcm && spec.file.endsWith('.wav')) return writeWav(spec.file, spec.pcm, rate, spec.channels ?? 1);
  const input = spec.pcm
    ? ['-i', await writeWav(`${spec.file}.src.wav`, spec.pcm, rate)]
    : ['-f', 'lavfi', '-i', spec.lavfi ?? 'sine=d=1'];
  await runFfmpeg(
    tools.ffmpeg,
    ['-loglevel', 'error', ...input, '-ac', String(spec.channels ?? 1), '-ar', String(rate), spec.file],
    {
      what: 'making test audio',
    },
  );
  if (spec.pcm) await rm(`${spec.file}.src.wav`, { force: true });
  return spec.file;
}

export interface VideoSpec {
  file: string;
  seconds: number;
  width?: number;
  height?: number;
  /** Frames per second, or an exact fraction such as '30000/1001'. */
  fps?: number | string;
  /** Own soundtrack: JS samples (written at `sampleRate`) or a lavfi expression. */
  withAudio?: Float32Array | string;
  sampleRate?: number;
  /** lavfi video source (with its own duration) instead of testsrc, e.g. frameIndexSource(). */
  source?: string;
  /** Extra output options (e.g. ['-movflags', '+faststart']). */
  extra?: string[];
  preset?: string;
}

/** Writes a test video (H.264 yuv420p, AAC when it has sound). */
export async function makeVideo(spec: VideoSpec): Promise<string> {
  const tools = await mediaTools();
  const w = spec.width ?? 320;
  const h = spec.height ?? 240;
  const fps = spec.fps ?? 25;
  const src = spec.source ?? `testsrc=size=${w}x${h}:rate=${fps}:duration=${spec.seconds}`;
  const args = ['-loglevel', 'error', '-f', 'lavfi', '-i', src];
  let wav: string | undefined;
  if (spec.withAudio instanceof Float32Array) {
    wav = await writeWav(`${spec.file}.src.wav`, spec.withAudio, spec.sampleRate ?? 48_000);
    args.push('-i', wav);
  } else if (typeof spec.withAudio === 'string') {
    args.push('-f', 'lavfi', '-i', spec.withAudio);
  }
  args.push('-map', '0:v');
  if (spec.withAudio !== undefined)
    args.push('-map', '1:a', '-c:a', 'aac', '-b:a', '128k', '-t', String(spec.seconds));
  args.push(
    '-c:v',
    'libx264',
    '-preset',
    spec.preset ?? 'ultrafast',
    '-pix_fmt',
    'yuv420p',
    ...(spec.extra ?? []),
    spec.file,
  );
  await runFfmpeg(tools.ffmpeg, args, { what: 'making test video', timeoutMs: 600_000 });
  if (wav) await rm(wav, { force: true });
  return spec.file;
}

/**
 * Video whose frame N is a flat grey of luma 16 + 3N (N < 70): decoding tells which source frame is
 * shown, so tests can check the exact frame order of a bounce.
 */
export function frameIndexSource(fps: number, seconds: number, size = '64x64'): string {
  return `color=c=black:size=${size}:rate=${fps}:duration=${seconds},format=gray,geq=lum='16+3*N'`;
}

/** Mean luma of every frame (for videos made with frameIndexSource), via a 1x1 grey decode. */
export async function frameLumas(file: string): Promise<number[]> {
  const tools = await mediaTools();
  const res = await runFfmpeg(
    tools.ffmpeg,
    [
      '-loglevel',
      'error',
      '-i',
      file,
      '-map',
      '0:v:0',
      '-vf',
      'scale=1:1:flags=area,format=gray',
      '-f',
      'rawvideo',
      '-',
    ],
    {
      what: 'reading test frames',
    },
  );
  return [...res.stdout];
}
