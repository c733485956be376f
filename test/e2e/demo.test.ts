/**
 * The demo's steps are for people: no raw JSON log line among them (issue 27 item 5). With the npm-bundled
 * ffmpeg (no ffmpeg on PATH) the demo says so once for this LIPSYNC_HOME, in words, with the way to a
 * current one (FFMPEG_PATH); a second run does not repeat it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../helpers/spawn.js';

const JSON_LINE = /^\s*\{"level"/m;

test('the demo with the bundled ffmpeg: readable steps, the old-build note once, in words', async () => {
  const root = mkdtempSync(join(tmpdir(), 'lipsync-demo-words-'));
  // No ffmpeg (nor espeak-ng) on PATH: the bundled build is the one found.
  const env = { HOME: root, PATH: join(root, 'empty-path'), LIPSYNC_HOME: join(root, 'home') };
  try {
    const first = await runCli(['demo'], env);
    assert.equal(first.code, 0, first.stderr);
    assert.doesNotMatch(first.stdout + first.stderr, JSON_LINE, 'no JSON log line in the demo');
    const notes = first.stdout.match(/bundled ffmpeg/g) ?? [];
    assert.equal(notes.length, 1, first.stdout);
    assert.match(first.stdout, /FFMPEG_PATH/);
    const second = await runCli(['demo'], env);
    assert.equal(second.code, 0, second.stderr);
    assert.doesNotMatch(second.stdout + second.stderr, JSON_LINE);
    assert.doesNotMatch(second.stdout + second.stderr, /bundled ffmpeg/, 'said once for this LIPSYNC_HOME');
    assert.match(second.stdout, /reused: true/);
  } finally {
    rmSync(root, { recursive: true, force: true, maxRetries: 5 });
  }
});
