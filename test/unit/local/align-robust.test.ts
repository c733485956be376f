/**
 * Alignment under real re-recording conditions: background music, noise, room reverb and a small
 * tempo drift (0.1 %). Every related pair must be aligned (within 30 ms of the truth); unrelated audio
 * under the same conditions must never be shifted. All media generated from seeded PRNGs.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { estimateOffset } from '../../../src/providers/local/align.js';
import { addNoise, makeSpeechLike, rng, shiftPcm } from '../../helpers/media.js';

const RATE = 16_000;
const SECONDS = 20;

/** Chords of sustained tones changing every 1-2 s (a stand-in for background music). */
function music(seed: number, seconds: number, level: number): Float32Array {
  const rand = rng(seed);
  const out = new Float32Array(seconds * RATE);
  let i = 0;
  while (i < out.length) {
    const len = Math.round((1 + rand()) * RATE);
    const notes = [0, 1, 2].map(() => 110 * 2 ** (Math.floor(rand() * 24) / 12));
    for (let k = 0; k < len && i + k < out.length; k++) {
      const t = (i + k) / RATE;
      let v = 0;
      for (const f of notes) v += Math.sin(2 * Math.PI * f * t) + 0.3 * Math.sin(4 * Math.PI * f * t);
      out[i + k] = (level * v) / 4;
    }
    i += len;
  }
  return out;
}

/** A small room: the dry sound plus decaying noise-like echoes over 200 ms. */
function reverb(pcm: Float32Array, seed: number): Float32Array {
  const rand = rng(seed);
  const taps = Array.from({ length: 24 }, () => {
    const d = Math.round((0.005 + rand() * 0.2) * RATE);
    return { d, g: (rand() - 0.5) * 0.8 * Math.exp(-d / (0.08 * RATE)) };
  });
  const out = Float32Array.from(pcm);
  for (const { d, g } of taps) for (let i = d; i < out.length; i++) out[i] = out[i]! + g * pcm[i - d]!;
  return out;
}

/** Plays `pcm` `factor` times slower (1.001 = 0.1 % drift), by linear interpolation. */
function stretch(pcm: Float32Array, factor: number): Float32Array {
  const out = new Float32Array(Math.floor(pcm.length * factor));
  for (let i = 0; i < out.length; i++) {
    const x = i / factor;
    const j = Math.floor(x);
    const a = pcm[j] ?? 0;
    out[i] = a + ((pcm[j + 1] ?? 0) - a) * (x - j);
  }
  return out;
}

const mix = (a: Float32Array, b: Float32Array) => a.map((v, i) => v + (b[i] ?? 0));

test('re-recorded audio with music, noise, reverb and 0.1 % drift is aligned near the truth', () => {
  const failures: string[] = [];
  for (let seed = 1; seed <= 12; seed++) {
    const speech = makeSpeechLike(100 + seed, SECONDS, RATE);
    const reference = addNoise(speech, 0.01, seed);
    const shiftMs = Math.round((rng(seed)() - 0.5) * 1600);
    const drift = seed % 2 ? 1.001 : 0.999;
    const wet = stretch(reverb(shiftPcm(speech, shiftMs, RATE), seed), drift);
    const candidate = addNoise(mix(wet, music(seed, SECONDS + 1, 0.15)), 0.03, seed + 50);
    const est = estimateOffset(reference, candidate, RATE);
    // 0.1 % drift over the window moves the content by up to 20 ms and early echoes pull the peak a
    // little: 30 ms is under one frame at 30 fps.
    if (!est.aligned || Math.abs(est.offsetMs + shiftMs) > 30)
      failures.push(`seed ${seed}: truth ${-shiftMs} ms, got ${est.measuredMs} ms, ${est.note}`);
  }
  assert.deepEqual(failures, []);
});

test('unrelated audio under the same conditions is never shifted', () => {
  for (let seed = 1; seed <= 12; seed++) {
    const reference = addNoise(makeSpeechLike(100 + seed, SECONDS, RATE), 0.01, seed);
    const other = stretch(reverb(makeSpeechLike(500 + seed, SECONDS, RATE), seed), 1.001);
    const candidate = addNoise(mix(other, music(seed, SECONDS + 1, 0.15)), 0.03, seed + 50);
    const est = estimateOffset(reference, candidate, RATE);
    assert.equal(est.aligned, false, `seed ${seed}: ${est.note}`);
    assert.equal(est.offsetMs, 0);
  }
});
