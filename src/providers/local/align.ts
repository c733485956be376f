/**
 * Offset alignment by GCC-PHAT: the cross-correlation of the video's own soundtrack and the new audio,
 * whitened (phase transform) so the peak is sharp for speech and robust to different microphones,
 * levels and background noise. It finds the delay between two recordings of the same sound; for an
 * unrelated recording (a different take, another voice) there is no clear peak and we say so rather
 * than shift by a guess.
 */
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
  /** 0..1: 1 - (second-highest peak / highest peak). Unrelated audio scores near 0. */
  confidence: number;
  aligned: boolean;
  note: string;
}

export const DEFAULT_MIN_CONFIDENCE = 0.4;
/** Peaks closer than this to the main one are its own side lobes, not rivals. */
const EXCLUSION_MS = 25;

function energy(x: Float32Array, n: number): number {
  let e = 0;
  for (let i = 0; i < n; i++) e += x[i]! * x[i]!;
  return e / Math.max(1, n);
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
  const maxLag = Math.round((opts.maxLagSeconds ?? 5) * sampleRate);
  const minConfidence = opts.minConfidence ?? DEFAULT_MIN_CONFIDENCE;
  const nx = Math.min(reference.length, windowN);
  const ny = Math.min(candidate.length, windowN + maxLag);
  const none = (note: string, measuredMs = 0, confidence = 0): OffsetEstimate => ({
    offsetMs: 0,
    measuredMs,
    confidence,
    aligned: false,
    note,
  });
  if (nx < sampleRate || ny < sampleRate)
    return none('not aligned: less than one second of audio to compare.');
  // -70 dBFS mean power: nothing there to correlate with.
  if (energy(reference, nx) < 1e-7) return none("not aligned: the video's own soundtrack is silent.");
  if (energy(candidate, ny) < 1e-7) return none('not aligned: the new audio is silent at the start.');

  // Linear (not circular) correlation for lags in [-maxLag, maxLag] needs n >= max(nx, ny) + maxLag.
  const n = nextPowerOfTwo(Math.max(nx, ny) + maxLag);
  const xr = new Float64Array(n);
  const xi = new Float64Array(n);
  const yr = new Float64Array(n);
  const yi = new Float64Array(n);
  for (let i = 0; i < nx; i++) xr[i] = reference[i]!;
  for (let i = 0; i < ny; i++) yr[i] = candidate[i]!;
  fft(xr, xi);
  fft(yr, yi);
  // G = conj(X) * Y, whitened: keep the phase, drop the magnitude. Bins below 80 Hz and above
  // 6 kHz carry hum and hiss rather than speech; leave them out.
  const lo = Math.floor((80 / sampleRate) * n);
  const hi = Math.ceil((6000 / sampleRate) * n);
  for (let k = 0; k < n; k++) {
    const f = k <= n / 2 ? k : n - k;
    if (f < lo || f > hi) {
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
  // r[k] peaks at k = d when candidate(t) = reference(t - d): the new audio runs d samples late.
  const corrAt = (lag: number) => xr[lag >= 0 ? lag : n + lag]!;
  let best = -Infinity;
  let bestLag = 0;
  for (let lag = -maxLag; lag <= maxLag; lag++) {
    const v = corrAt(lag);
    if (v > best) {
      best = v;
      bestLag = lag;
    }
  }
  const excl = Math.round((EXCLUSION_MS / 1000) * sampleRate);
  let second = 0;
  for (let lag = -maxLag; lag <= maxLag; lag++) {
    if (Math.abs(lag - bestLag) <= excl) continue;
    const v = corrAt(lag);
    if (v > second) second = v;
  }
  // Sub-sample refinement by a parabola through the peak and its neighbours.
  const l = corrAt(bestLag - 1);
  const r = corrAt(bestLag + 1);
  const denom = l - 2 * best + r;
  const frac = denom < 0 ? Math.max(-0.5, Math.min(0.5, (0.5 * (l - r)) / denom)) : 0;
  const lagSeconds = (bestLag + frac) / sampleRate;
  const measuredMs = Math.round(-lagSeconds * 1000);
  const confidence = best > 0 ? Math.max(0, Math.min(1, 1 - second / best)) : 0;
  const c = confidence.toFixed(2);
  if (confidence < minConfidence) {
    return none(
      `not aligned: no clear match between the new audio and the video's own soundtrack (confidence ${c} < ${minConfidence}); it is probably a different recording, so it was kept as is.`,
      measuredMs,
      confidence,
    );
  }
  const dir =
    measuredMs > 0
      ? `delayed by ${measuredMs} ms`
      : measuredMs < 0
        ? `advanced by ${-measuredMs} ms`
        : 'kept as is';
  return {
    offsetMs: measuredMs,
    measuredMs,
    confidence,
    aligned: true,
    note: `aligned to the video's own soundtrack: the new audio was ${dir} (confidence ${c}).`,
  };
}
