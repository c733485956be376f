import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { FileHasher } from '../../src/media/hash.js';
import { testEnv, writeBytes } from '../helpers/app.js';
import { ManualClock } from '../helpers/clock.js';
import { captureStream } from '../helpers/log.js';

/** An app as a new CLI process would build it: its own in-memory hasher, the same ledger home. */
async function freshApp(env: Record<string, string>, hasher: FileHasher) {
  const config = loadConfig({ env });
  return createApp(config, {
    media: {},
    preflight: false,
    clock: new ManualClock(),
    logStream: captureStream().stream,
    cwd: env.HOME,
    hasher,
  });
}

test('a new app on the same home resolves an unchanged file from the ledger, without reading it', async () => {
  const env = testEnv();
  try {
    const file = writeBytes(join(env.work, 'talk.mp4'), 'persisted-hash', 256 * 1024);
    // The file was just written: a hasher whose clock is 10 s ahead does not treat it as racy.
    const later = () => Date.now() + 10_000;
    const first = new FileHasher({ now: later });
    const a = await freshApp(env.env, first);
    const r1 = await a.jobs.resolveInputs({ video: file });
    await a.close();
    assert.equal(first.stats.reads, 1);

    const second = new FileHasher({ now: later });
    const b = await freshApp(env.env, second);
    const r2 = await b.jobs.resolveInputs({ video: file });
    assert.equal(second.stats.reads, 0, 'the second process must not read the file');
    assert.equal(r2.video?.type === 'file' && r2.video.sha256, r1.video?.type === 'file' && r1.video.sha256);

    // An in-place edit (same size) moves the ctime: the stored hash no longer applies.
    writeFileSync(file, Buffer.alloc(256 * 1024, 7));
    const r3 = await b.jobs.resolveInputs({ video: file });
    assert.notEqual(
      r3.video?.type === 'file' && r3.video.sha256,
      r1.video?.type === 'file' && r1.video.sha256,
    );
    assert.equal(second.stats.reads, 1);
    await b.close();
  } finally {
    env.cleanup();
  }
});

test('a racy file (changed within the clock tick) is not stored in the ledger', async () => {
  const env = testEnv();
  try {
    const file = writeBytes(join(env.work, 'fresh.mp4'), 'racy', 8192);
    const now = () => Date.now();
    const a = await freshApp(env.env, new FileHasher({ now }));
    await a.jobs.resolveInputs({ video: file });
    await a.close();
    const second = new FileHasher({ now: () => Date.now() + 10_000 });
    const b = await freshApp(env.env, second);
    await b.jobs.resolveInputs({ video: file });
    assert.equal(second.stats.reads, 1);
    await b.close();
  } finally {
    env.cleanup();
  }
});
