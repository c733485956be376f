/**
 * The public folder's rules (issue 30): the exposed bytes are the fingerprinted bytes (a swap after
 * resolution is refused, nothing is left behind); only names the publisher made are ever served; old
 * copies are swept (bounded, on the injected clock); the generated signing key is made once, mode 0600.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  existsSync,
  readdirSync,
  statSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { isAppError } from '../../../src/errors.js';
import { loadOrCreateKey, Publisher } from '../../../src/media/publish.js';
import type { ResolvedInput } from '../../../src/media/types.js';
import { tempDir } from '../../helpers/media.js';

let dir = '';
let cleanup = async () => {};
before(async () => {
  ({ dir, cleanup } = await tempDir());
});
after(() => cleanup());

type FileInput = Extract<ResolvedInput, { type: 'file' }>;

function input(path: string, bytes: Buffer): FileInput {
  writeFileSync(path, bytes);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  return { type: 'file', path, filename: 'clip.mp4', mime: 'video/mp4', size: bytes.length, sha256 };
}

function publisher(now: { t: number }, sub: string, maxSweep?: number) {
  return new Publisher({
    dir: join(dir, sub, 'public'),
    baseUrl: 'https://media.example.test/files',
    ownersDir: join(dir, sub, 'owners'),
    key: Buffer.from('k'.repeat(43)),
    ttlMs: 3600_000,
    maxBytes: 1 << 20,
    now: () => now.t,
    maxSweep,
  });
}

test('a file changed after it was resolved is refused, and no copy is left in the folder', async () => {
  const p = publisher({ t: Date.UTC(2026, 0, 1) }, 'swap');
  const src = join(dir, 'swap.mp4');
  const checked = input(src, Buffer.from('original bytes'));
  writeFileSync(src, Buffer.from('swapped in bytes'));
  await assert.rejects(p.publish(checked, 'video', 'task-1'), (e) => {
    assert.ok(isAppError(e) && e.code === 'invalid_input' && /changed after it was checked/.test(e.message));
    return true;
  });
  // A symlink put where the checked file was is not followed either.
  const other = join(dir, 'other.mp4');
  writeFileSync(other, Buffer.from('original bytes'));
  unlinkSync(src);
  symlinkSync(other, src);
  await assert.rejects(p.publish(checked, 'video', 'task-1'), /changed after it was checked|cannot open/);
  assert.deepEqual(readdirSync(p.dir), []);
});

test('only a signed, unexpired name the publisher made resolves', async () => {
  const now = { t: Date.UTC(2026, 0, 1) };
  const p = publisher(now, 'names');
  const { url } = await p.publish(input(join(dir, 'n.mp4'), Buffer.from('n bytes')), 'video', 'task-2');
  const u = new URL(url);
  const name = u.pathname.split('/').at(-1) ?? '';
  const exp = u.searchParams.get('exp');
  assert.ok(await p.resolve(name, exp, u.searchParams.get('sig')));
  // A name outside the pattern is refused even with a valid signature for it.
  for (const bad of ['../owners/task-2.list', `${name}/..`, 'x.mp4']) {
    assert.equal(await p.resolve(bad, exp, p.sign(bad, Number(exp))), undefined, bad);
  }
  now.t += 3600_000;
  assert.equal(await p.resolve(name, exp, u.searchParams.get('sig')), undefined, 'expired');
});

test('release removes a task’s copies; the sweep removes old ones only, within its bound', async () => {
  const now = { t: Date.UTC(2026, 0, 1) };
  const p = publisher(now, 'sweep', 3);
  const a = await p.publish(input(join(dir, 'a.mp4'), Buffer.from('a bytes')), 'video', 'task-a');
  await p.publish(input(join(dir, 'b.mp4'), Buffer.from('b bytes')), 'video', 'task-b');
  assert.equal(readdirSync(p.dir).length, 2);
  assert.equal(await p.release('task-a'), 1);
  assert.ok(!readdirSync(p.dir).some((n) => a.url.includes(n)));
  // Someone else's file in the folder is never touched.
  writeFileSync(join(p.dir, 'index.html'), 'mine');
  now.t += 3600_001;
  await p.publish(input(join(dir, 'c.mp4'), Buffer.from('c bytes')), 'video', 'task-c');
  const removed = await p.sweep();
  assert.equal(removed, 2, 'task-b copy and its record');
  assert.deepEqual(readdirSync(p.dir).filter((n) => n !== 'index.html').length, 1);
  assert.ok(existsSync(join(p.dir, 'index.html')));
  // Bounded: with more old entries than maxSweep, one pass looks at maxSweep of them.
  for (const s of ['d', 'e', 'f', 'g', 'h']) {
    await p.publish(input(join(dir, `${s}.mp4`), Buffer.from(`${s} bytes`)), 'video', `task-${s}`);
  }
  for (const n of readdirSync(p.dir)) utimesSync(join(p.dir, n), 0, 0);
  const copies = () => readdirSync(p.dir).filter((n) => n !== 'index.html').length;
  assert.equal(copies(), 6);
  const swept = await p.sweep();
  assert.ok(swept >= 1 && swept <= 3, `one pass looks at 3 entries, removed ${swept}`);
  assert.equal(copies(), 6 - swept);
});

test('the generated key is made once, mode 0600; a set key wins', async () => {
  const file = join(dir, 'home', 'public-url.key');
  const k1 = await loadOrCreateKey(file, undefined);
  const k2 = await loadOrCreateKey(file, undefined);
  assert.ok(k1.equals(k2));
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.equal((await loadOrCreateKey(file, 'set-by-user')).toString(), 'set-by-user');
});
