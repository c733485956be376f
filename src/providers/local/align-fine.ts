/**
 * The fine stage of alignment: once the whole-window GCC-PHAT (align.ts) has found the match and how
 * sure it is, the lag is measured again, one second at a time, near that first estimate, and the
 * answer is the weighted median of the per-second lags.
 *
 * Why: over a whole minute a re-recording's small clock drift (0.05 % is 30 ms over 60 s) turns the
 * high frequencies' phase to noise, leaving a broad peak whose top lands a pitch period or two away
 * from the truth on a steady voice in a reverberant room (measured: 20-55 ms off, issue 27 item 7).
 * Over one second the drift is under a millisecond, so each second's peak is sharp; silent or
 * music-only seconds have weak peaks, weigh little, and cannot move a median.
 *
 * The signals are low-passed (windowed sinc, no aliasing) to 8 kHz and the correlation is limited to
 * the speech band, 100-3800 Hz, where both recordings carry the voice: hum and rumble below, hiss and
 * a microphone's own colour above.
 */
import { fft, nextPowerOfTwo } from './fft.js';

const FINE_RATE = 8000;
const BLOCK_SECONDS = 1;
const BAND_HZ = [100, 3800] as const;
/** Taps of the anti-alias low-pass (odd: symmetric around the centre sample, no delay). */
const TAPS = 63;
/** Below -70 dBFS mean power a block has nothing to correlate. */
const SILENT_POWER = 1e-7;

/** Windowed-sinc (Blackman) low-pass at `cutoff` (fraction of the input rate), unit gain at DC. */
function lowPass(cutoff: number): Float64Array {
  const h = new Float64Array(TAPS);
  const m = (TAPS - 1) / 2;
  let sum = 0;
  for (let i = 0; i < TAPS; i++) {
    const x = i - m;
    const w =
      0.42 - 0.5 * Math.cos((2 * Math.PI * i) / (TAPS - 1)) + 0.08 * Math.cos((4 * Math.PI * i) / (TAPS - 1));
    h[i] = (x === 0 ? 2 * cutoff : Math.sin(2 * Math.PI * cutoff * x) / (Math.PI * x)) * w;
    sum += h[i]!;
  }
  return h.map((v) => v / sum);
}

/** The first `n` samples of `x`, low-passed and decimated by `factor` (1: copied). */
export function decimateClean(x: Float32Array, n: number, factor: number): Float64Array {
  const m = Math.floor(Math.min(n, x.length) / factor);
  const out = new Float64Array(m);
  if (factor === 1) {
    for (let j = 0; j < m; j++) out[j] = x[j]!;
    return out;
  }
  const h = lowPass(0.45 / factor);
  const half = (TAPS - 1) / 2;
  for (let j = 0; j < m; j++) {
    const c = j * factor - half;
    let s = 0;
    for (let k = Math.max(0, -c); k < TAPS && c + k < x.length; k++) s += h[k]! * x[c + k]!;
    out[j] = s;
  }
  return out;
}

interface BlockLag {
  /** Samples (at FINE_RATE) the candidate runs late in this block, relative to the coarse lag. */
  lag: number;
  /** The block's whitened correlation peak, 0..1: how much of the band agrees on that lag. */
  weight: number;
}

/** GCC-PHAT of one block against a candidate stretch `span` samples longer on each side. */
function blockLag(
  x: Float64Array,
  y: Float64Array,
  n: number,
  band: [number, number],
  span: number,
): BlockLag {
  const xi = new Float64Array(n);
  const yi = new Float64Array(n);
  fft(x, xi);
  fft(y, yi);
  let bins = 0;
  for (let k = 0; k < n; k++) {
    const f = k <= n / 2 ? k : n - k;
    if (f < band[0] || f > band[1]) {
      x[k] = 0;
      xi[k] = 0;
      continue;
    }
    const gr = x[k]! * y[k]! + xi[k]! * yi[k]!;
    const gi = x[k]! * yi[k]! - xi[k]! * y[k]!;
    const mag = Math.hypot(gr, gi) + 1e-12;
    x[k] = gr / mag;
    xi[k] = gi / mag;
    bins++;
  }
  fft(x, xi, true);
  // y[i] holds candidate sample (start - span + i): a match at index i is a lag of i - span.
  let best = 0;
  for (let i = 1; i <= 2 * span; i++) if (x[i]! > x[best]!) best = i;
  return { lag: best - span, weight: Math.max(0, x[best]! / Math.max(1, bins)) };
}

function weightedMedian(lags: BlockLag[]): number | undefined {
  const total = lags.reduce((s, b) => s + b.weight, 0);
  if (!(total > 0)) return undefined;
  const sorted = [...lags].sort((a, b) => a.lag - b.lag);
  let acc = 0;
  for (const b of sorted) {
    acc += b.weight;
    if (acc >= total / 2) return b.lag;
  }
  return sorted.at(-1)?.lag;
}

const power = (x: Float64Array, from: number, to: number) => {
  let e = 0;
  for (let i = Math.max(0, from); i < Math.min(to, x.length); i++) e += x[i]! * x[i]!;
  return e / Math.max(1, to - from);
};

/**
 * The lag, seconds the candidate runs late, measured second by second within ±`searchSeconds` of
 * `coarseSeconds` over the first `windowSeconds` of the reference; undefined when no second of the
 * two has sound in common (then the coarse estimate stands).
 */
export function refineLag(
  reference: Float32Array,
  candidate: Float32Array,
  sampleRate: number,
  coarseSeconds: number,
  searchSeconds: number,
  windowSeconds: number,
): number | undefined {
  const factor = Math.max(1, Math.floor(sampleRate / FINE_RATE));
  const rate = sampleRate / factor;
  const x = decimateClean(reference, Math.round(windowSeconds * sampleRate), factor);
  const d0 = Math.round(coarseSeconds * rate);
  const span = Math.ceil(searchSeconds * rate);
  const y = decimateClean(
    candidate,
    Math.round((windowSeconds + searchSeconds) * sampleRate) + Math.max(0, d0) * factor,
    factor,
  );
  const block = Math.round(BLOCK_SECONDS * rate);
  const n = nextPowerOfTwo(block + 2 * span + 1);
  const band: [number, number] = [
    Math.floor((BAND_HZ[0] / rate) * n),
    Math.ceil((Math.min(BAND_HZ[1], rate / 2) / rate) * n),
  ];
  const lags: BlockLag[] = [];
  for (let s = 0; s + block <= x.length; s += block) {
    const c0 = s + d0 - span;
    if (power(x, s, s + block) < SILENT_POWER || power(y, c0, c0 + block + 2 * span) < SILENT_POWER) continue;
    const xb = new Float64Array(n);
    const yb = new Float64Array(n);
    xb.set(x.subarray(s, s + block));
    for (let i = 0; i < block + 2 * span; i++) yb[i] = y[c0 + i] ?? 0;
    lags.push(blockLag(xb, yb, n, band, span));
  }
  const lag = weightedMedian(lags);
  return lag === undefined ? undefined : (d0 + lag) / rate;
}
