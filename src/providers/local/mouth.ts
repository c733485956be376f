/**
 * Mouth timing, estimated from the audio alone, in Rhubarb Lip Sync's formats (JSON and TSV) so
 * existing animation tools can read it. Shapes follow Rhubarb's chart:
 *   X rest (silence)   A closed (P, B, M)   B slightly open, teeth together (most consonants, "ee")
 *   C open ("eh")      D wide open ("aa")   E slightly rounded ("ao", "er")   F puckered ("oo", "w")
 * This is an ESTIMATE from loudness, zero-crossing rate and spectral centroid — no phoneme
 * recognition — good for timing (when the mouth moves and how wide), not for exact visemes.
 */
import type { Frames } from './activity.js';

export type MouthShape = 'A' | 'B' | 'C' | 'D' | 'E' | 'F' | 'X';

export interface MouthCue {
  start: number;
  end: number;
  value: MouthShape;
}

export interface RhubarbJson {
  metadata: { soundFile: string; duration: number };
  mouthCues: MouthCue[];
}

export const MIN_CUE_SECONDS = 0.06;

/** Shape of one active frame, from its features. Thresholds are tuned for speech at 16 kHz. */
function frameShape(frames: Frames, f: number, runMeanDb: number): MouthShape {
  const db = frames.db[f]!;
  const zcr = frames.zcr[f]!;
  const centroid = frames.centroid[f]!;
  // Hiss-like frames (s, t, k, f): noisy, bright, teeth nearly together.
  if (zcr > 0.25 && centroid > 2500) return 'B';
  // A clear dip inside a voiced stretch: lips closing for p/b/m.
  if (db < runMeanDb - 9) return 'A';
  const span = Math.max(6, frames.peakDb - frames.thresholdDb);
  const loud = (db - frames.thresholdDb) / span;
  // Dark (low-centroid) vowels are rounded: the lower, the more puckered.
  if (centroid < 550 && loud < 0.8) return 'F';
  if (centroid < 800) return 'E';
  if (loud >= 0.75) return 'D';
  if (loud >= 0.4) return 'C';
  return 'B';
}

/** Per-frame shapes, then a 5-frame mode filter to remove flicker. */
function frameShapes(frames: Frames): MouthShape[] {
  const out: MouthShape[] = new Array(frames.count).fill('X');
  let i = 0;
  while (i < frames.count) {
    if (!frames.active[i]) {
      i++;
      continue;
    }
    let j = i;
    let sum = 0;
    while (j < frames.count && frames.active[j]) sum += frames.db[j++]!;
    const mean = sum / (j - i);
    for (let f = i; f < j; f++) out[f] = frameShape(frames, f, mean);
    i = j;
  }
  const smooth = out.slice();
  for (let f = 2; f < out.length - 2; f++) {
    if (out[f] === 'X') continue;
    const counts = new Map<MouthShape, number>();
    for (let k = f - 2; k <= f + 2; k++) {
      const s = out[k]!;
      if (s !== 'X') counts.set(s, (counts.get(s) ?? 0) + 1);
    }
    let best = out[f]!;
    let bestN = counts.get(best) ?? 0;
    for (const [s, n] of counts) if (n > bestN) [best, bestN] = [s, n];
    smooth[f] = best;
  }
  return smooth;
}

/**
 * Mouth cues covering [0, duration]: runs of equal shape, each at least MIN_CUE_SECONDS (shorter
 * runs are absorbed by the longer neighbour, as an animator would hold a shape rather than flash it).
 */
export function estimateMouthCues(frames: Frames, duration: number): MouthCue[] {
  const shapes = frameShapes(frames);
  const hop = frames.hopSeconds;
  let cues: MouthCue[] = [];
  for (let f = 0; f < shapes.length; f++) {
    const start = Math.max(0, (f - 0.5) * hop);
    const end = Math.min(duration, (f + 0.5) * hop);
    if (end <= start) continue;
    const last = cues.at(-1);
    if (last && last.value === shapes[f]) last.end = end;
    else cues.push({ start, end, value: shapes[f]! });
  }
  if (cues.length === 0) return duration > 0 ? [{ start: 0, end: duration, value: 'X' }] : [];
  cues[cues.length - 1]!.end = duration;

  // Absorb short cues into the longer neighbour, pass after pass (each pass is linear; merged cues
  // only grow, so a few passes settle even for an hour of audio).
  for (let changed = true; changed && cues.length > 1; ) {
    changed = false;
    const out: MouthCue[] = [];
    for (let k = 0; k < cues.length; k++) {
      const c = cues[k]!;
      const prev = out.at(-1);
      const next = cues[k + 1];
      if (c.end - c.start >= MIN_CUE_SECONDS - 1e-9 || (!prev && !next)) {
        out.push(c);
        continue;
      }
      changed = true;
      if (prev && (!next || prev.end - prev.start >= next.end - next.start)) prev.end = c.end;
      else if (next) next.start = c.start;
    }
    cues = mergeEqual(out);
  }
  return cues.map((c) => ({ start: round2(c.start), end: round2(c.end), value: c.value }));
}

function mergeEqual(cues: MouthCue[]): MouthCue[] {
  const out: MouthCue[] = [];
  for (const c of cues) {
    const last = out.at(-1);
    if (last && last.value === c.value) last.end = c.end;
    else out.push({ ...c });
  }
  return out;
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

export function toRhubarbJson(cues: MouthCue[], soundFile: string, duration: number): RhubarbJson {
  return { metadata: { soundFile, duration: round2(duration) }, mouthCues: cues };
}

/**
 * Rhubarb's TSV export: one "start<TAB>shape" line per cue, then always the end time with X (Rhubarb
 * writes it even when the last cue is X: it is where the sound ends).
 */
export function toRhubarbTsv(cues: MouthCue[]): string {
  const lines = cues.map((c) => `${c.start.toFixed(2)}\t${c.value}`);
  const end = cues.at(-1);
  if (end) lines.push(`${end.end.toFixed(2)}\tX`);
  return `${lines.join('\n')}\n`;
}
