/**
 * media/original and media/result serve regular files only, by the same rules as inputs (issue 24
 * item 6): a FIFO, a character device, a directory, a hidden folder or a symlink out of the allowed
 * folders each answer a clear error at once, and the server keeps answering other requests.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { harness, testEnv } from '../helpers/app.js';
import { seedTask } from './seed.js';

/** A character device named `.mp4` inside the allowed folder (mknod needs root), else why not. */
function charDevice(path: string): string | undefined {
  try {
    execFileSync('mknod', [path, 'c', '1', '5'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'mknod c 1 5 is not permitted here (not root)';
  }
}

test('media/original refuses a FIFO, a device, a directory, a hidden folder and a symlink out, at once', async (t) => {
  const env = testEnv();
  const h = await harness(env.env);
  try {
    const w = env.work;
    const fifos = [1, 2, 3, 4, 5].map((i) => join(w, `pipe${i}.mp4`));
    for (const f of fifos) execFileSync('mkfifo', [f]);
    mkdirSync(join(w, 'dir.mp4'));
    mkdirSync(join(w, '.private'));
    writeFileSync(join(w, '.private', 'talk.mp4'), 'hidden-bytes');
    symlinkSync('/dev/zero', join(w, 'zero.mp4'));
    writeFileSync(join(w, 'good.mp4'), 'good-bytes');
    const device = join(w, 'device.mp4');
    const noDevice = charDevice(device);
    const cases: [string, string, RegExp][] = [
      ...fifos.map((f, i): [string, string, RegExp] => [`fifo-${i}`, f, /not a regular file/]),
      ['dir', join(w, 'dir.mp4'), /is a directory/],
      ['hidden', join(w, '.private', 'talk.mp4'), /hidden/],
      ['escape', join(w, 'zero.mp4'), /outside the folders/],
      ...(noDevice ? [] : [['device', device, /not a regular file/] as [string, string, RegExp]]),
    ];
    const seed = (id: string, path: string) =>
      seedTask(h.app.ledger, id, {
        provider: 'local',
        status: 'success',
        request: { inputs: { video: { type: 'file', path } } },
        snapshot: { status: 'success', resultUrl: 'file:///nowhere.mp4' },
      });
    for (const [id, path] of cases) await seed(id, path);
    await seed('good', join(w, 'good.mp4'));
    // All at once: blocking opens of the FIFOs would take the whole file-system thread pool.
    // The timeout only turns a hang into a failure; nothing here measures time.
    const read = (id: string) =>
      h.client.readResource({ uri: `lipsync://tasks/${id}/media/original` }, { timeout: 30_000 });
    const outcomes = await Promise.allSettled(cases.map(([id]) => read(id)));
    cases.forEach(([id], i) => {
      const o = outcomes[i];
      assert.equal(o?.status, 'rejected', `${id} must be refused`);
      const message = String((o as PromiseRejectedResult).reason?.message);
      assert.match(message, cases[i]?.[2] as RegExp, `${id}: ${message}`);
      assert.doesNotMatch(message, /internal|EISDIR|EINVAL|at \//i, `${id}: no internal error`);
    });
    const good = (await read('good')).contents[0] as { blob: string };
    assert.equal(Buffer.from(good.blob, 'base64').toString(), 'good-bytes');
    const list = await h.client.listResources({}, { timeout: 30_000 });
    assert.ok(list.resources.length > 0, 'listing still answers');
    if (noDevice) t.diagnostic(`character device case left out: ${noDevice}`);
  } finally {
    await h.close();
    env.cleanup();
  }
});
