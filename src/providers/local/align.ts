/**
 * Offset alignment by GCC-PHAT: the cross-correlation of the video's own soundtrack and the new audio,
 * whitened (phase transform) so the peak is sharp for speech and robust to different microphones,
 * levels and background noise. It finds the delay between two recordings of the same sound; for an
 * unrelated recording (a different take, another voice) there is no clear peak and we say so rather
 * than shift by a guess.
 *
 * Speed: the search runs on audio decimated to 4 kHz (speech's fundamentals and first formants are
 * there, and both signals lose the same band), so 60 s is a 2^19-point transform instead of 2^21.
 * That search says whether the two match and roughly where; align-fine.ts then measures the lag one
 * second at a time near it, clean of aliasing and of a drifting clock, to within a few ms.
 */
import { refineLag } from './align-fine.js';
import { fft, nextPowerOfTwo } from './fft.js';

export interface AlignOptions {
  /** Analysis window from the start of each signal, seconds (bounds time and memory). */
  windowSeconds?: number;
  /** Largest offset searched, seconds, either way. */
  maxLagSeconds?: number;
  /** Below this confidence the audio is not shifted. */
  minConfidence?: number;
}

export interface OffsetEstimate {
  /**
   * Shift to apply to the new audio so it lines up with the video, ms: positive = delay it (start
   * later), negative = advance it (drop its first ms). 0 when not aligned.
   */
  offsetMs: number;
  /** The measured offset even when it was not trusted (for diagnostics). */
  measuredMs: number;
  /**
   * 0..1: the peak's prominence, 1 - (rival - floor) / (peak - floor), where the rival is the highest
   * correlation outside ±EXCLUSION_MS of the peak and the floor is the median magnitude. Unrelated
   * audio scores near 0.
   */
  confidence: number;
  aligned: boolean;
  note: string;
}

export const DEFAULT_MIN_CONFIDENCE = 0.4;
/**
 * Correlation within this distance of the peak belongs to it: reverb tails and tempo drift (0.1 % over
 * 60 s smears the peak over 60 ms) widen it; such a "rival" is the same match, not another one.
 */
const EXCLUSION_MS = 120;
/** Rate of the search (Hz). */
const SEARCH_RATE = 4000;

function energy(x: Float32Array, n: number): number {
  let e = 0;
  for (let i = 0; i < n; i++) e += x[i]! * x[i]!;
  return e / Math.max(1, n);
}

/** Averages each `factor` samples (a boxcar low-pass) and keeps one: same filter for both signals. */
function decimate(x: Float32Array, n: number, factor: number, into: Float64Array): void {
  const m = Math.floor(n / factor);
  for (let j = 0; j < m; j++) {
    let s = 0;
    const o = j * factor;
    for (let k = 0; k < factor; k++) s += x[o + k]!;
    into[j] = s / factor;
  }
}

/** Whitened cross-correlation, r[lag] at index lag (negative lags wrap to the end). */
function gccPhat(xr: Float64Array, yr: Float64Array, rate: number): Float64Array {
  const n = xr.length;
  const xi = new Float64Array(n);
  const yi = new Float64Array(n);
  fft(xr, xi);
  fft(yr, yi);
  // G = conj(X) * Y, whitened: keep the phase, drop the magnitude. Bins below 80 Hz carry hum.
  const lo = Math.floor((80 / rate) * n);
  for (let k = 0; k < n; k++) {
    const f = k <= n / 2 ? k : n - k;
    if (f < lo) {
      xr[k] = 0;
      xi[k] = 0;
      continue;
    }
    const gr = xr[k]! * yr[k]! + xi[k]! * yi[k]!;
    const gi = xr[k]! * yi[k]! - xi[k]! * yr[k]!;
    const mag = Math.hypot(gr, gi) + 1e-12;
    xr[k] = gr / mag;
    xi[k] = gi / mag;
  }
  fft(xr, xi, true);
  return xr;
}

interface Peak {
  lag: number;
  value: number;
  confidence: number;
}

/** The highest correlation in ±maxLag, and how far it stands out from the rest. */
function findPeak(corrAt: (lag: number) => number, maxLag: number, rate: number): Peak {
  let value = -Infinity;
  let lag = 0;
  const mags = new Float64Array(2 * maxLag + 1);
  for (let l = -maxLag; l <= maxLag; l++) {
    const v = corrAt(l);
    mags[l + maxLag] = Math.abs(v);
    if (v > value) {
      value = v;
      lag = l;
    }
  }
  const floor = mags.sort()[maxLag] ?? 0;
  const excl = Math.round((EXCLUSION_MS / 1000) * rate);
  let rival = floor;
  for (let l = -maxLag; l <= maxLag; l++) {
    if (Math.abs(l - lag) > excl) rival = Math.max(rival, corrAt(l));
  }
  const confidence = value > floor ? Math.max(0, Math.min(1, 1 - (rival - floor) / (value - floor))) : 0;
  return { lag, value, confidence };
}

/** Sub-sample refinement by a parabola through the peak and its neighbours; seconds. */
function refine(corrAt: (lag: number) => number, peak: Peak, rate: number): number {
  const l = corrAt(peak.lag - 1);
  const r = corrAt(peak.lag + 1);
  const denom = l - 2 * peak.value + r;
  const frac = denom < 0 ? Math.max(-0.5, Math.min(0.5, (0.5 * (l - r)) / denom)) : 0;
  return (peak.lag + frac) / rate;
}

function notAligned(note: string, measuredMs = 0, confidence = 0): OffsetEstimate {
  return { offsetMs: 0, measuredMs, confidence, aligned: false, note };
}

/** Words for the result: which way the new audio was moved, and why. */
export function describeShift(measuredMs: number): string {
  if (measuredMs > 0) return `the new audio was ${measuredMs} ms early; it was delayed by ${measuredMs} ms`;
  if (measuredMs < 0) return `the new audio was ${-measuredMs} ms late; it was advanced by ${-measuredMs} ms`;
  return 'the new audio was already in sync; it was kept as is';
}

/**
 * Estimates the shift that aligns `candidate` (the new audio) to `reference` (the video's own
 * soundtrack). Both are mono PCM at `sampleRate`.
 */
export function estimateOffset(
  reference: Float32Array,
  candidate: Float32Array,
  sampleRate: number,
  opts: AlignOptions = {},
): OffsetEstimate {
  const windowN = Math.round((opts.windowSeconds ?? 60) * sampleRate);
  const maxLagN = Math.round((opts.maxLagSeconds ?? 5) * sampleRate);
  const minConfidence = opts.minConfidence ?? DEFAULT_MIN_CONFIDENCE;
  const nx = Math.min(reference.length, windowN);
  const ny = Math.min(candidate.length, windowN + maxLagN);
  if (nx < sampleRate || ny < sampleRate)
    return notAligned('not aligned: less than one second of audio to compare.');
  // -70 dBFS mean power: nothing there to correlate with.
  if (energy(reference, nx) < 1e-7) return notAligned("not aligned: the video's own soundtrack is silent.");
  if (energy(candidate, ny) < 1e-7) return notAligned('not aligned: the new audio is silent at the start.');

  const factor = Math.max(1, Math.floor(sampleRate / SEARCH_RATE));
  const rate = sampleRate / factor;
  const maxLag = Math.ceil(maxLagN / factor);
  // Linear (not circular) correlation for lags in [-maxLag, maxLag] needs n >= max(nx, ny) + maxLag.
  const n = nextPowerOfTwo(Math.ceil(Math.max(nx, ny) / factor) + maxLag);
  const xr = new Float64Array(n);
  const yr = new Float64Array(n);
  decimate(reference, nx, factor, xr);
  decimate(candidate, ny, factor, yr);
  const r = gccPhat(xr, yr, rate);
  // r[k] peaks at k = d when candidate(t) = reference(t - d): the new audio runs d samples late.
  const corrAt = (lag: number) => r[lag >= 0 ? lag : n + lag]!;
  const peak = findPeak(corrAt, maxLag, rate);
  const coarse = refine(corrAt, peak, rate);
  const c = peak.confidence.toFixed(2);
  if (peak.confidence < minConfidence) {
    return notAligned(
      `not aligned: no clear match between the new audio and the video's own soundtrack (confidence ${c} < ${minConfidence}); it is probably a different recording, so it was kept as is.`,
      Math.round(-coarse * 1000),
      peak.confidence,
    );
  }
  const fine = refineLag(reference, candidate, sampleRate, coarse, EXCLUSION_MS / 1000, nx / sampleRate);
  const measuredMs = Math.round(-(fine ?? coarse) * 1000);
  return {
    offsetMs: measuredMs,
    measuredMs,
    confidence: peak.confidence,
    aligned: true,
    note: `aligned to the video's own soundtrack: ${describeShift(measuredMs)} (confidence ${c}).`,
  };
}
