/**
 * Re-recording scenes for the alignment tests (issue 27 item 7): a voice, the same voice recorded
 * again (another microphone, a room's reverb, a clock that drifts), and music under one of the two.
 * Everything is generated from seeded PRNGs, so each case is the same on every machine.
 */
import { fft, nextPowerOfTwo } from '../../src/providers/local/fft.js';
import { rng } from './media.js';

/** Root-mean-square level over the samples that carry sound (|x| above a small floor). */
export function activeRms(pcm: Float32Array): number {
  let e = 0;
  let n = 0;
  for (const v of pcm) {
    if (Math.abs(v) < 1e-3) continue;
    e += v * v;
    n++;
  }
  return Math.sqrt(e / Math.max(1, n));
}

/** A two-pole resonator (centre `f` Hz, bandwidth `bw` Hz) applied to one sample, state in `s`. */
function resonate(x: number, f: number, bw: number, rate: number, s: Float64Array): number {
  const r = Math.exp((-Math.PI * bw) / rate);
  const y = (1 - r) * x + 2 * r * Math.cos((2 * Math.PI * f) / rate) * s[0]! - r * r * s[1]!;
  s[1] = s[0]!;
  s[0] = y;
  return y;
}

/**
 * A voice made of noise and glottal pulses through three moving formants, amplitude-modulated at a
 * syllable rate, with words and pauses: no tools needed, and unlike helpers/media.ts's additive voice
 * its excitation is a pulse train, so it has speech's sharp onsets and broad spectrum.
 */
export function formantVoice(seed: number, seconds: number, rate: number): Float32Array {
  const rand = rng(seed);
  const out = new Float32Array(Math.round(seconds * rate));
  const states = [new Float64Array(2), new Float64Array(2), new Float64Array(2)];
  let t = 0.2 + rand() * 0.3;
  let phase = 0;
  while (t < seconds - 0.4) {
    const syllables = 1 + Math.floor(rand() * 4);
    for (let s = 0; s < syllables; s++) {
      const len = 0.12 + rand() * 0.2;
      const start = Math.round(t * rate);
      const n = Math.min(Math.round(len * rate), out.length - start);
      const voiced = rand() > 0.2;
      const f0 = 95 + rand() * 130;
      const from = [250 + rand() * 600, 800 + rand() * 1400, 2200 + rand() * 900];
      const to = [250 + rand() * 600, 800 + rand() * 1400, 2200 + rand() * 900];
      const amp = 0.2 + rand() * 0.3;
      for (let i = 0; i < n; i++) {
        const k = i / n;
        // Syllable-rate AM: a fast rise, a slower fall.
        const env = Math.min(1, k * 8) * (1 - k) ** 0.8;
        phase += (f0 * (1 + 0.04 * Math.sin((2 * Math.PI * 5 * (start + i)) / rate))) / rate;
        const pulse = phase >= 1 ? 1 : 0;
        if (phase >= 1) phase -= 1;
        const x = voiced ? pulse * 3 + (rand() - 0.5) * 0.15 : (rand() - 0.5) * 1.2;
        let y = 0;
        for (let f = 0; f < 3; f++) {
          const fc = from[f]! + (to[f]! - from[f]!) * k;
          y += resonate(x, fc, 80 + 40 * f, rate, states[f]!) / (f + 1);
        }
        out[start + i] = amp * env * y;
      }
      t += len + 0.02 + rand() * 0.06;
    }
    t += 0.15 + rand() * 0.5;
  }
  return normalize(out, 0.1);
}

/** Scales to an active RMS of `level`. */
export function normalize(pcm: Float32Array, level: number): Float32Array {
  const g = level / (activeRms(pcm) || 1);
  return pcm.map((v) => v * g);
}

/**
 * Music: chords of three or four harmonic tones (six partials each, with attack and decay) changing
 * every 0.5-2 s over a bass note, scaled to `rms`.
 */
export function chordMusic(seed: number, seconds: number, rate: number, rms: number): Float32Array {
  const rand = rng(seed);
  const out = new Float32Array(Math.round(seconds * rate));
  let i = 0;
  while (i < out.length) {
    const len = Math.round((0.5 + rand() * 1.5) * rate);
    const root = 110 * 2 ** (Math.floor(rand() * 12) / 12);
    const notes = [root / 2, root, root * 2 ** (4 / 12), root * 2 ** (7 / 12)];
    if (rand() > 0.5) notes.push(root * 2);
    for (let k = 0; k < len && i + k < out.length; k++) {
      const t = (i + k) / rate;
      const env = Math.min(1, k / (0.02 * rate)) * Math.exp(-k / (1.2 * rate));
      let v = 0;
      for (const f of notes)
        for (let h = 1; h <= 6 && h * f < rate / 2; h++) v += Math.sin(2 * Math.PI * h * f * t) / h;
      out[i + k] = env * v;
    }
    i += len;
  }
  return normalize(out, rms);
}

/** Linear convolution by FFT. */
function convolve(x: Float32Array, h: Float32Array): Float32Array {
  const n = nextPowerOfTwo(x.length + h.length);
  const xr = new Float64Array(n);
  const xi = new Float64Array(n);
  const hr = new Float64Array(n);
  const hi = new Float64Array(n);
  xr.set(x);
  hr.set(h);
  fft(xr, xi);
  fft(hr, hi);
  for (let k = 0; k < n; k++) {
    const r = xr[k]! * hr[k]! - xi[k]! * hi[k]!;
    xi[k] = xr[k]! * hi[k]! + xi[k]! * hr[k]!;
    xr[k] = r;
  }
  fft(xr, xi, true);
  const out = new Float32Array(x.length);
  for (let i = 0; i < out.length; i++) out[i] = xr[i]! / n;
  return out;
}

/** A room: the direct sound, then a decaying noise tail from 5 ms on (`rt60` seconds to -60 dB). */
export function reverb(pcm: Float32Array, seed: number, rate: number, rt60 = 0.45): Float32Array {
  const rand = rng(seed);
  const h = new Float32Array(Math.round(rt60 * rate));
  h[0] = 1;
  const tau = rt60 / 6.9;
  for (let i = Math.round(0.005 * rate); i < h.length; i++)
    h[i] = (rand() - 0.5) * 0.35 * Math.exp(-i / rate / tau);
  return convolve(pcm, h);
}

/** Another microphone: a one-pole high-pass near 150 Hz and a one-pole low-pass near 5 kHz. */
export function otherMicrophone(pcm: Float32Array, rate: number): Float32Array {
  const a = Math.exp((-2 * Math.PI * 150) / rate);
  const b = Math.exp((-2 * Math.PI * 5000) / rate);
  const out = new Float32Array(pcm.length);
  let prevX = 0;
  let hp = 0;
  let lp = 0;
  for (let i = 0; i < pcm.length; i++) {
    hp = a * (hp + pcm[i]! - prevX);
    prevX = pcm[i]!;
    lp = (1 - b) * hp + b * lp;
    out[i] = lp;
  }
  return out;
}

/** Plays `pcm` `factor` times slower (1.0005 = a clock 0.05 % slow), by linear interpolation. */
export function drift(pcm: Float32Array, factor: number): Float32Array {
  const out = new Float32Array(Math.floor(pcm.length * factor));
  for (let i = 0; i < out.length; i++) {
    const x = i / factor;
    const j = Math.floor(x);
    const a = pcm[j] ?? 0;
    out[i] = a + ((pcm[j + 1] ?? 0) - a) * (x - j);
  }
  return out;
}

/** `a` plus `b` (as long as `a`). */
export function mix(a: Float32Array, b: Float32Array): Float32Array {
  return a.map((v, i) => v + (b[i] ?? 0));
}
