/**
 * Frame-level features of a voice track (10 ms hop, 32 ms window): loudness, zero-crossing rate and
 * spectral centroid, plus a voice-activity decision with an adaptive threshold. Used to find pauses
 * (turnaround points for `normal_reverse_by_audio`) and to estimate mouth shapes.
 */
import { fft } from './fft.js';

export const HOP_SECONDS = 0.01;
const WINDOW = 512;

export interface Frames {
  hopSeconds: number;
  count: number;
  /** RMS level per frame, dBFS (floor -100). */
  db: Float32Array;
  /** Zero crossings per sample, 0..1. */
  zcr: Float32Array;
  /** Spectral centroid, Hz. */
  centroid: Float32Array;
  /** 1 where the frame is voice (or any sound above the adaptive threshold). */
  active: Uint8Array;
  /** The threshold used, dBFS, and the loud reference level (95th percentile). */
  thresholdDb: number;
  peakDb: number;
}

export interface Pause {
  start: number;
  end: number;
}

function percentile(values: Float32Array, p: number): number {
  if (values.length === 0) return -100;
  const sorted = Float32Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

/** Loudness and zero-crossing rate of every frame (window centred on the frame time). */
function levels(pcm: Float32Array, hop: number, win: number, count: number) {
  const db = new Float32Array(count);
  const zcr = new Float32Array(count);
  for (let f = 0; f < count; f++) {
    const start = f * hop - (win >> 1);
    const from = Math.max(0, start);
    const to = Math.min(pcm.length, start + win);
    let sum = 0;
    let crossings = 0;
    let prev = from > start ? 0 : (pcm[from] ?? 0);
    for (let idx = from; idx < to; idx++) {
      const s = pcm[idx]!;
      sum += s * s;
      if ((s >= 0 && prev < 0) || (s < 0 && prev >= 0)) crossings++;
      prev = s;
    }
    const rms = Math.sqrt(sum / win);
    db[f] = rms > 1e-5 ? 20 * Math.log10(rms) : -100;
    zcr[f] = crossings / win;
  }
  return { db, zcr };
}

/**
 * Spectral centroid (Hz) of the frames that are voice: only those get a mouth shape, so silence
 * costs no FFT at all.
 */
function centroids(pcm: Float32Array, sampleRate: number, hop: number, win: number, active: Uint8Array) {
  const centroid = new Float32Array(active.length);
  const re = new Float64Array(WINDOW);
  const im = new Float64Array(WINDOW);
  const hann = new Float64Array(win);
  for (let i = 0; i < win; i++) hann[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (win - 1));
  for (let f = 0; f < active.length; f++) {
    if (!active[f]) continue;
    const start = f * hop - (win >> 1);
    re.fill(0);
    im.fill(0);
    for (let i = 0; i < win; i++) {
      const idx = start + i;
      re[i] = idx >= 0 && idx < pcm.length ? pcm[idx]! * hann[i]! : 0;
    }
    fft(re, im);
    let num = 0;
    let den = 0;
    for (let k = 1; k < WINDOW / 2; k++) {
      const mag = Math.sqrt(re[k]! * re[k]! + im[k]! * im[k]!);
      num += mag * k;
      den += mag;
    }
    centroid[f] = den > 0 ? (num / den) * (sampleRate / WINDOW) : 0;
  }
  return centroid;
}

export function analyzeFrames(pcm: Float32Array, sampleRate: number): Frames {
  const hop = Math.round(HOP_SECONDS * sampleRate);
  const win = Math.min(WINDOW, Math.round(0.032 * sampleRate));
  const count = Math.max(0, Math.floor((pcm.length - 1) / hop) + 1);
  const { db, zcr } = levels(pcm, hop, win, count);
  // Adaptive threshold: 12 dB above the noise floor, but never more than 25 dB under the loud
  // parts (so a noisy but dense recording still shows its pauses) and never below -55 dBFS.
  const floor = percentile(db, 0.1);
  const peakDb = percentile(db, 0.95);
  const thresholdDb = Math.max(-55, Math.min(floor + 12, peakDb - 25));
  const active = new Uint8Array(count);
  for (let f = 0; f < count; f++) active[f] = db[f]! > thresholdDb ? 1 : 0;
  // Fill gaps shorter than 60 ms (stop closures inside words), then drop blips shorter than 40 ms.
  fillRuns(active, 0, Math.round(0.06 / HOP_SECONDS));
  fillRuns(active, 1, Math.round(0.04 / HOP_SECONDS));
  const centroid = centroids(pcm, sampleRate, hop, win, active);
  return { hopSeconds: HOP_SECONDS, count, db, zcr, centroid, active, thresholdDb, peakDb };
}

/** Flips interior runs of `value` shorter than `minLen` frames to the opposite value. */
function fillRuns(a: Uint8Array, value: 0 | 1, minLen: number): void {
  let i = 0;
  while (i < a.length) {
    if (a[i] !== value) {
      i++;
      continue;
    }
    let j = i;
    while (j < a.length && a[j] === value) j++;
    const interior = i > 0 && j < a.length;
    if (interior && j - i < minLen) a.fill(value ? 0 : 1, i, j);
    i = j;
  }
}

/** Silent stretches of at least `minSeconds` (leading and trailing silence included). */
export function findPauses(frames: Frames, minSeconds = 0.25): Pause[] {
  const pauses: Pause[] = [];
  const minLen = Math.round(minSeconds / frames.hopSeconds);
  let i = 0;
  while (i < frames.count) {
    if (frames.active[i]) {
      i++;
      continue;
    }
    let j = i;
    while (j < frames.count && !frames.active[j]) j++;
    if (j - i >= minLen) pauses.push({ start: i * frames.hopSeconds, end: j * frames.hopSeconds });
    i = j;
  }
  return pauses;
}
