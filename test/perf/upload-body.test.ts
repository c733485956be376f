import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { systemClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import { createHttpClient } from '../../src/http/client.js';
import { fileBody } from '../../src/http/file-body.js';
import { silentLogger } from '../../src/logger.js';
import { resolveInput } from '../../src/media/inputs.js';
import { createJoggProvider } from '../../src/providers/jogg/index.js';
import { startFakeJogg } from '../fakes/jogg/index.js';
import { testEnv, writeBytes } from '../helpers/app.js';

test('a file body streams through a small ring of reused buffers, however large the file', async () => {
  const env = testEnv();
  try {
    const size = 9 * 1024 * 1024 + 123;
    const file = writeBytes(join(env.work, 'big.mp4'), 'ring', size);
    const seen = new Set<ArrayBufferLike>();
    const hash = createHash('sha256');
    let total = 0;
    for await (const chunk of fileBody(file, size)) {
      seen.add(chunk.buffer);
      hash.update(chunk);
      total += chunk.length;
    }
    assert.equal(total, size);
    assert.equal(hash.digest('hex'), createHash('sha256').update(readFileSync(file)).digest('hex'));
    assert.ok(seen.size <= 4, `distinct buffers: ${seen.size}`);
  } finally {
    env.cleanup();
  }
});

test('the Jogg signed PUT sends the exact bytes through the ring (multi-chunk file)', async () => {
  const env = testEnv();
  const fake = await startFakeJogg();
  const http = createHttpClient({ clock: systemClock, timeoutMs: 60_000 });
  try {
    const size = 7 * 1024 * 1024 + 5;
    const file = writeBytes(join(env.work, 'v.mp4'), 'put-bytes', size);
    const config = loadConfig({
      env: { JOGG_API_KEY: fake.apiKey, JOGG_BASE_URL: fake.url, HOME: env.home },
    });
    const jogg = createJoggProvider({ config: config.jogg, http, clock: systemClock, log: silentLogger() });
    const input = await resolveInput(file, 'video', {
      allowedDirs: [env.work],
      maxBytes: 2 ** 30,
      homeDir: env.home,
      cwd: env.work,
    });
    await jogg.upload?.(input, 'video', undefined, new AbortController().signal);
    const sha = createHash('sha256').update(readFileSync(file)).digest('hex');
    assert.deepEqual(
      fake.puts.map((p) => [p.bytes, p.sha256]),
      [[size, sha]],
    );
  } finally {
    await http.close();
    await fake.close();
    env.cleanup();
  }
});
