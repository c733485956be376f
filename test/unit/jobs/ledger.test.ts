import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Ledger, type NewTask } from '../../../src/jobs/ledger.js';
import { openDatabase } from '../../../src/jobs/sqlite.js';

const hasBuiltin = openDatabase(':memory:', 100).driver === 'node:sqlite';
const major = Number(process.versions.node.split('.')[0]);
/**
 * better-sqlite3 is not installed by `npm ci` (an optional peer): tested where it was added and loads,
 * below Node 24 only (12.x aborts at exit on Node >= 24, which is why the built-in driver is used there).
 */
const hasBetter = (() => {
  if (major >= 24) return false;
  try {
    openDatabase(':memory:', 100, 'better-sqlite3').close();
    return true;
  } catch {
    return false;
  }
})();
const drivers: ('node:sqlite' | 'better-sqlite3')[] = [
  ...(hasBuiltin ? (['node:sqlite'] as const) : []),
  ...(hasBetter ? (['better-sqlite3'] as const) : []),
];

function task(id: string, fp: string, now: number): NewTask {
  return {
    id,
    fingerprint: fp,
    provider: 'jogg',
    kind: 'lip_sync',
    request: { params: {} },
    warnings: [],
    ownerPid: process.pid,
    ownerHost: 'here',
    leaseUntil: now + 1000,
    now,
  };
}

for (const driver of drivers) {
  describe(`ledger on ${driver}`, () => {
    test('claim: create once, reuse after, force only recreates terminal tasks, dead owners are taken over', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'ledger-'));
      const l = new Ledger(join(dir, 'l.sqlite'), driver);
      try {
        const alive = { force: false, isOwnerAlive: () => true };
        const a = await l.claim(task('t1', 'fp', 1000), alive);
        assert.equal(a.kind, 'created');
        assert.equal(a.row.status, 'submitting');
        assert.equal(a.row.phase, 'preparing');
        assert.equal((await l.claim(task('t2', 'fp', 1001), alive)).kind, 'reused');
        assert.equal(
          (await l.claim(task('t3', 'fp', 1001), { ...alive, force: true })).kind,
          'reused',
          'force does not recreate an in-flight claim',
        );
        // The owner died and its lease ran out: the next caller takes it over.
        const dead = await l.claim(task('t4', 'fp', 5000), { force: false, isOwnerAlive: () => false });
        assert.equal(dead.kind, 'taken_over');
        assert.equal(dead.row.id, 't1');
        await l.update('t1', { status: 'failed', phase: null, completedAt: 6000 }, 6000);
        assert.equal(
          (await l.claim(task('t5', 'fp', 7000), alive)).row.id,
          't1',
          'a failed task is returned',
        );
        // A free provider's failed task is just run again (no force needed); a paid one never is.
        const free = await l.claim(task('f1', 'fp-free', 7000), alive);
        await l.update(free.row.id, { status: 'failed' }, 7000);
        assert.equal((await l.claim(task('f2', 'fp-free', 7001), alive)).row.id, 'f1');
        assert.equal(
          (await l.claim(task('f3', 'fp-free', 7002), { ...alive, recreateFailed: true })).kind,
          'created',
        );
        const forced = await l.claim(task('t6', 'fp', 7000), { ...alive, force: true });
        assert.equal(forced.kind, 'created');
        assert.equal(forced.row.id, 't6');
        // Rejected claims are history, never reused.
        await l.update('t6', { status: 'failed', rejected: true }, 7100);
        assert.equal((await l.claim(task('t7', 'fp', 7200), alive)).row.id, 't1');
        assert.deepEqual((await l.page({ limit: 10 })).rows.map((r) => r.id).sort(), ['f1', 'f3', 't1']);
        await l.uploadStore('jogg', '', 'abc', 3, 'https://x/a', { k: 1 }, 1);
        assert.deepEqual(await l.uploadLookup('jogg', '', 'abc', 3), { url: 'https://x/a', meta: { k: 1 } });
        assert.equal(await l.uploadLookup('jogg', 'other-scope', 'abc', 3), undefined);
      } finally {
        await l.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}

test('one claim across concurrent processes (IMMEDIATE transactions on a shared file)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ledger-mp-'));
  const file = join(dir, 'l.sqlite');
  const script = `
    const { Ledger } = await import(${JSON.stringify(new URL('../../../src/jobs/ledger.js', import.meta.url).href)});
    const l = new Ledger(${JSON.stringify(file)});
    const kinds = [];
    for (let i = 0; i < 25; i++) {
      const now = Date.now();
      kinds.push((await l.claim({ id: 'p' + process.pid + '-' + i, fingerprint: 'fp' + i, provider: 'jogg', kind: 'lip_sync', request: {}, warnings: [], ownerPid: process.pid, ownerHost: 'here', leaseUntil: now + 60000, now }, { force: false, isOwnerAlive: () => true })).kind);
    }
    await l.close();
    process.stdout.write(JSON.stringify(kinds));`;
  try {
    const outs = await Promise.all(
      Array.from(
        { length: 4 },
        () =>
          new Promise<string[]>((resolve, reject) => {
            const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
              stdio: ['ignore', 'pipe', 'inherit'],
            });
            let out = '';
            child.stdout.on('data', (d) => {
              out += d;
            });
            child.on('error', reject);
            child.on('close', (code) =>
              code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`exit ${code}`)),
            );
          }),
      ),
    );
    for (let i = 0; i < 25; i++) {
      assert.equal(outs.filter((o) => o[i] === 'created').length, 1, `fingerprint ${i} created exactly once`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
