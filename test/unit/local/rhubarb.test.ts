/**
 * Mouth cues in Rhubarb Lip Sync's formats. Rhubarb's TSV export writes one `start<TAB>shape` line per
 * cue and always closes with `<end time><TAB>X`, also when the last cue is already X; its JSON carries
 * `metadata.duration` = the sound's decoded length.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { toRhubarbTsv } from '../../../src/providers/local/mouth.js';
import { concatPcm, makeAudio, makeSpeechLike, makeVideo, tempDir } from '../../helpers/media.js';
import { runLocal } from './run-job.js';

let dir = '';
let cleanup = async () => {};
before(async () => {
  ({ dir, cleanup } = await tempDir());
});
after(() => cleanup());

test('TSV always ends with "<end>\\tX", also when the last cue is X', () => {
  const endsX = toRhubarbTsv([
    { start: 0, end: 1, value: 'X' },
    { start: 1, end: 2, value: 'B' },
    { start: 2, end: 3.25, value: 'X' },
  ]);
  assert.equal(endsX, '0.00\tX\n1.00\tB\n2.00\tX\n3.25\tX\n');
  const endsB = toRhubarbTsv([
    { start: 0, end: 1, value: 'X' },
    { start: 1, end: 2.5, value: 'C' },
  ]);
  assert.equal(endsB, '0.00\tX\n1.00\tC\n2.50\tX\n');
});

test('mp3 audio: cues and output last as long as the decoded sound, not the padded container', async () => {
  const video = await makeVideo({ file: `${dir}/v.mp4`, seconds: 2, width: 160, height: 120 });
  // 2.5 s of sound that ends in speech, so a too-long duration shows as a too-long last cue.
  const pcm = concatPcm(new Float32Array(24_000), makeSpeechLike(3, 2, 48_000));
  const mp3 = await makeAudio({ file: `${dir}/voice.mp3`, pcm, sampleRate: 48_000 });
  const r = await runLocal({ video, audio: mp3, workDir: `${dir}/out` });
  assert.equal(r.final.status, 'success', JSON.stringify(r.final.error));
  const json = JSON.parse(await readFile(String(r.final.extra?.mouth_cues_json), 'utf8'));
  const tsv = await readFile(String(r.final.extra?.mouth_cues_tsv), 'utf8');
  const last = Number(tsv.trim().split('\n').at(-1)?.split('\t')[0]);
  for (const [what, value] of [
    ['metadata.duration', json.metadata.duration],
    ['last cue end', json.mouthCues.at(-1).end],
    ['TSV end line', last],
  ] as const) {
    assert.ok(Math.abs(Number(value) - 2.5) <= 0.015, `${what}: ${value} vs 2.5 decoded seconds`);
  }
  assert.ok(Math.abs((r.final.durationSeconds ?? 0) - 2.5) <= 0.03, `output ${r.final.durationSeconds}`);
});
