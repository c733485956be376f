import assert from 'node:assert/strict';
import { test } from 'node:test';
import { analyzeFrames, findPauses } from '../../../src/providers/local/activity.js';
import { estimateOffset } from '../../../src/providers/local/align.js';
import { fft } from '../../../src/providers/local/fft.js';
import {
  estimateMouthCues,
  MIN_CUE_SECONDS,
  toRhubarbJson,
  toRhubarbTsv,
} from '../../../src/providers/local/mouth.js';
import {
  planBounce,
  planBounceByAudio,
  planFrames,
  type Segment,
} from '../../../src/providers/local/plan.js';
import { addNoise, concatPcm, makeSpeechLike, makeVowel, rng, shiftPcm } from '../../helpers/media.js';

const RATE = 16_000;

function sequence(plan: Segment[]): number[] {
  const out: number[] = [];
  for (const s of plan) for (let i = 0; i < s.count; i++) out.push(s.first + s.dir * i);
  return out;
}

test('fft matches a naive DFT and inverts', () => {
  const n = 64;
  const rand = rng(1);
  const xr = Float64Array.from({ length: n }, () => rand() - 0.5);
  const xi = Float64Array.from({ length: n }, () => rand() - 0.5);
  const re = xr.slice();
  const im = xi.slice();
  fft(re, im);
  for (let k = 0; k < n; k++) {
    let sr = 0;
    let si = 0;
    for (let t = 0; t < n; t++) {
      const a = (-2 * Math.PI * k * t) / n;
      sr += xr[t]! * Math.cos(a) - xi[t]! * Math.sin(a);
      si += xr[t]! * Math.sin(a) + xi[t]! * Math.cos(a);
    }
    assert.ok(Math.abs(sr - re[k]!) < 1e-9 && Math.abs(si - im[k]!) < 1e-9, `bin ${k}`);
  }
  fft(re, im, true);
  for (let t = 0; t < n; t++) assert.ok(Math.abs(re[t]! / n - xr[t]!) < 1e-12);
  assert.throws(() => fft(new Float64Array(6), new Float64Array(6)));
});

test('GCC-PHAT finds known offsets in noisy speech, and refuses unrelated audio', () => {
  const speech = makeSpeechLike(5, 10, RATE);
  const reference = addNoise(speech, 0.02, 1);
  for (const shift of [-700, -120, 40, 350, 4000]) {
    const candidate = addNoise(shiftPcm(speech, shift, RATE), 0.08, 2);
    const est = estimateOffset(reference, candidate, RATE);
    assert.equal(est.aligned, true, `shift ${shift}: ${est.note}`);
    // The fix for content running `shift` ms late is to move it `shift` ms earlier.
    assert.ok(Math.abs(est.offsetMs + shift) <= 20, `shift ${shift} -> offset ${est.offsetMs}`);
  }
  const unrelated = estimateOffset(reference, addNoise(makeSpeechLike(99, 10, RATE), 0.02, 3), RATE);
  assert.equal(unrelated.aligned, false);
  assert.equal(unrelated.offsetMs, 0);
  assert.ok(unrelated.confidence < 0.4);
  assert.match(unrelated.note, /not aligned/);

  const silent = estimateOffset(new Float32Array(RATE * 5), speech, RATE);
  assert.equal(silent.aligned, false);
  assert.match(silent.note, /silent/);
});

test('bounce plans fill the output exactly and never repeat a turnaround frame', () => {
  assert.deepEqual(sequence(planBounce(4, 11)), [0, 1, 2, 3, 2, 1, 0, 1, 2, 3, 2]);
  for (const [v, out] of [
    [25, 78],
    [2, 9],
    [100, 30],
  ] as const) {
    const plan = planBounce(v, out);
    assert.equal(planFrames(plan), out);
    const seq = sequence(plan);
    for (let i = 1; i < seq.length; i++) assert.equal(Math.abs(seq[i]! - seq[i - 1]!), 1);
    assert.ok(seq.every((f) => f >= 0 && f < v));
  }
  assert.deepEqual(sequence(planBounce(1, 3)), [0, 0, 0]);
});

test('bounce-by-audio turns inside pauses when one is in reach', () => {
  const fps = 25;
  // Video of 50 frames (2 s); pauses centred at 1.6 s and 2.9 s of the output.
  const plan = planBounceByAudio(50, 150, fps, [
    { start: 1.5, end: 1.7 },
    { start: 2.8, end: 3.0 },
  ]);
  assert.equal(planFrames(plan), 150);
  assert.deepEqual(plan[0], { dir: 1, first: 0, count: 40 }); // turns at 1.6 s, not at the end (2 s)
  assert.equal(plan[1]!.dir, -1);
  assert.equal(plan[1]!.first, 38);
  assert.equal(plan[1]!.count, 33); // turns at 2.92 s (frame 73 -> 73 - 40)
  const seq = sequence(plan);
  for (let i = 1; i < seq.length; i++) assert.equal(Math.abs(seq[i]! - seq[i - 1]!), 1);
  // No usable pause: same as a plain bounce.
  assert.deepEqual(planBounceByAudio(50, 150, fps, []), planBounce(50, 150));
});

test('mouth cues: X in silence, open shapes in a loud vowel, Rhubarb JSON and TSV', () => {
  const pcm = concatPcm(new Float32Array(RATE), makeVowel(1, RATE), new Float32Array(RATE));
  const frames = analyzeFrames(pcm, RATE);
  const cues = estimateMouthCues(frames, 3);
  assert.equal(cues[0]!.start, 0);
  assert.equal(cues.at(-1)!.end, 3);
  for (let i = 1; i < cues.length; i++) assert.equal(cues[i]!.start, cues[i - 1]!.end, 'cues are contiguous');
  const shapeAt = (t: number) => cues.find((c) => c.start <= t && t < c.end)?.value;
  for (const t of [0.1, 0.5, 0.9, 2.1, 2.5, 2.9]) assert.equal(shapeAt(t), 'X', `silence at ${t}`);
  let open = 0;
  for (let t = 1.1; t < 1.9; t += 0.01) if (['C', 'D', 'E'].includes(shapeAt(t) ?? '')) open++;
  assert.ok(open >= 70, `open shapes in ${open}/80 voiced samples`);

  const pauses = findPauses(frames);
  assert.equal(pauses.length, 2);
  assert.ok(Math.abs(pauses[0]!.end - 1) < 0.05 && Math.abs(pauses[1]!.start - 2) < 0.05);

  const json = toRhubarbJson(cues, 'out.mp4', 3);
  assert.deepEqual(json.metadata, { soundFile: 'out.mp4', duration: 3 });
  const tsv = toRhubarbTsv(cues).trim().split('\n');
  assert.equal(tsv[0], '0.00\tX');
  assert.ok(tsv.every((l) => /^\d+\.\d\d\t[A-FX]$/.test(l)));
});

test('mouth cues on speech vary, hold at least 60 ms, and rest in pauses', () => {
  const speech = makeSpeechLike(3, 8, RATE);
  const frames = analyzeFrames(speech, RATE);
  const cues = estimateMouthCues(frames, 8);
  assert.ok(
    cues.every((c) => c.end - c.start >= MIN_CUE_SECONDS - 0.011),
    'min duration',
  );
  const shapes = new Set(cues.map((c) => c.value));
  assert.ok(shapes.has('X') && shapes.size >= 4, `shapes: ${[...shapes].join('')}`);
  for (const p of findPauses(frames, 0.3)) {
    const mid = (p.start + p.end) / 2;
    assert.equal(cues.find((c) => c.start <= mid && mid < c.end)?.value, 'X', `pause at ${mid.toFixed(2)}`);
  }
});
