import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { FileHasher, sha256File } from '../../../src/media/hash.js';
import { resolveInput } from '../../../src/media/inputs.js';

const dir = mkdtempSync(join(tmpdir(), 'lipsync-hash-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const policy = { allowedDirs: [dir], maxBytes: 1 << 30, homeDir: dir, cwd: dir };
const OLD = 1_600_000_000; // a fixed mtime (seconds) that the test restores after each edit

/** Writes `content` in place (same inode) and sets the mtime back to OLD, as `touch -r` would. */
function editInPlace(path: string, content: string): void {
  writeFileSync(path, content, { flag: 'r+' });
  utimesSync(path, OLD, OLD);
}

describe('file hashing', () => {
  test('an in-place edit that keeps size and mtime gets the new sha256 (resolveInput)', async () => {
    const p = join(dir, 'voice.wav');
    writeFileSync(p, 'AAAA-first-take');
    utimesSync(p, OLD, OLD);
    const first = await resolveInput(p, 'audio', policy);
    assert.equal(first.type === 'file' && first.sha256, sha('AAAA-first-take'));
    const ino = statSync(p).ino;
    editInPlace(p, 'BBBB-other-take');
    assert.equal(statSync(p).ino, ino);
    assert.equal(statSync(p).mtimeMs, OLD * 1000);
    const second = await resolveInput(p, 'audio', policy);
    assert.equal(second.type === 'file' && second.sha256, sha('BBBB-other-take'));
  });

  test('a cached (settled) file edited in place with its mtime restored is read again', async () => {
    // The hasher's clock is 10 s ahead, so the file counts as settled and its hash is cached.
    const hasher = new FileHasher({ now: () => Date.now() + 10_000 });
    const p = join(dir, 'settled.mp4');
    writeFileSync(p, 'CCCC-video-v1');
    utimesSync(p, OLD, OLD);
    assert.equal((await hasher.hash(p)).sha256, sha('CCCC-video-v1'));
    assert.equal((await hasher.hash(p)).sha256, sha('CCCC-video-v1'));
    assert.deepEqual(hasher.stats, { hits: 1, reads: 1 });
    const ctimeBefore = statSync(p, { bigint: true }).ctimeNs;
    // Wait for the file system's clock to move on (it ticks coarsely): the event, not a delay.
    editInPlace(p, 'DDDD-video-v2');
    while (statSync(p, { bigint: true }).ctimeNs === ctimeBefore) {
      await tick();
      editInPlace(p, 'DDDD-video-v2');
    }
    assert.equal(statSync(p).size, 13);
    assert.equal((await hasher.hash(p)).sha256, sha('DDDD-video-v2'));
    assert.equal(hasher.stats.reads, 2);
  });

  test('a file changed within the racy window is hashed but not cached', async () => {
    const hasher = new FileHasher({ now: () => Date.now() });
    const p = join(dir, 'fresh.wav');
    writeFileSync(p, 'fresh');
    await hasher.hash(p);
    await hasher.hash(p);
    assert.deepEqual(hasher.stats, { hits: 0, reads: 2 });
  });

  test('a renamed or copied file keeps its cache entry only when it is the same inode', async () => {
    const hasher = new FileHasher({ now: () => Date.now() + 10_000 });
    const a = join(dir, 'a.bin');
    const b = join(dir, 'b.bin');
    writeFileSync(a, 'same bytes');
    writeFileSync(b, 'same bytes');
    assert.equal((await hasher.hash(a)).sha256, (await hasher.hash(b)).sha256);
    assert.deepEqual(hasher.stats, { hits: 0, reads: 2 });
  });

  test('sha256File reads multi-chunk files through one buffer and returns the right digest', async () => {
    const p = join(dir, 'big.bin');
    const data = Buffer.alloc(3 * (1 << 20) + 12345);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31 + 7) & 0xff;
    writeFileSync(p, data);
    assert.equal(await sha256File(p), sha(data));
    const [x, y] = await Promise.all([sha256File(p), new FileHasher().hash(p)]);
    assert.equal(x, sha(data));
    assert.deepEqual(y, { sha256: sha(data), size: data.length });
    writeFileSync(p, '');
    assert.equal(await sha256File(p), sha(''));
  });
});
