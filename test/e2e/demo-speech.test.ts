/**
 * `lipsync-mcp demo` with espeak-ng installed: after the main job it dubs the sample offline (speech ->
 * download -> lip sync with that speech -> download), and a second run reuses every task. Skips, saying
 * why, where espeak-ng is not installed (CI installs it).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../helpers/spawn.js';
import { espeakSkip } from '../helpers/system-tools.js';

test('the demo dubs its sample with offline speech, and a second run reuses every task', {
  skip: espeakSkip,
}, async () => {
  const root = mkdtempSync(join(tmpdir(), 'lipsync-demo-'));
  const env = { HOME: root, PATH: process.env.PATH ?? '', LIPSYNC_HOME: join(root, 'home') };
  try {
    const first = await runCli(['demo'], env);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /6\. generate_audio \{ kind: "speech", provider: "local" \}/);
    const saved = [...first.stdout.matchAll(/download_result -> (?:video with the new voice: )?(\S+)/g)].map(
      (m) => m[1] ?? '',
    );
    assert.equal(saved.length, 2, first.stdout);
    assert.match(saved[0] ?? '', /\.wav$/);
    assert.match(saved[1] ?? '', /\.mp4$/);
    for (const f of saved) assert.ok(existsSync(f), f);

    const second = await runCli(['demo'], env);
    assert.equal(second.code, 0, second.stderr);
    assert.equal([...second.stdout.matchAll(/reused: true/g)].length, 3, second.stdout);
    assert.match(second.stdout, /reused the earlier tasks: nothing was processed twice/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
