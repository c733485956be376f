import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { JobCore, type JobServiceDeps } from '../../../src/jobs/core.js';
import { Ledger } from '../../../src/jobs/ledger.js';
import { openDatabase } from '../../../src/jobs/sqlite.js';

function core(now: number): JobCore {
  const deps = { pid: 4242, host: 'box-a', clock: { now: () => now } } as unknown as JobServiceDeps;
  return new JobCore(deps);
}

test('a claim owner on this host is checked by pid; on another host (shared ledger) by its lease', () => {
  const c = core(10_000);
  const dead = 2 ** 22 + 12_345; // above any pid_max default: no such process
  assert.equal(c.isOwnerAlive({ ownerPid: 4242, ownerHost: 'box-a', leaseUntil: 0 }), true, 'this process');
  assert.equal(
    c.isOwnerAlive({ ownerPid: process.pid, ownerHost: 'box-a', leaseUntil: 0 }),
    true,
    'live pid here',
  );
  assert.equal(
    c.isOwnerAlive({ ownerPid: dead, ownerHost: 'box-a', leaseUntil: 99_999 }),
    false,
    'dead pid here',
  );
  assert.equal(
    c.isOwnerAlive({ ownerPid: dead, ownerHost: null, leaseUntil: 99_999 }),
    false,
    'rows before v2',
  );
  assert.equal(c.isOwnerAlive({ ownerPid: null, ownerHost: 'box-a', leaseUntil: 99_999 }), false, 'no owner');
  // Another machine: its pid means nothing here (not even our own pid number, nor a live local one).
  assert.equal(
    c.isOwnerAlive({ ownerPid: 4242, ownerHost: 'box-b', leaseUntil: 9_999 }),
    false,
    'lease ran out',
  );
  assert.equal(
    c.isOwnerAlive({ ownerPid: dead, ownerHost: 'box-b', leaseUntil: 10_000 }),
    true,
    'lease fresh',
  );
  assert.equal(c.isOwnerAlive({ ownerPid: process.pid, ownerHost: 'box-b', leaseUntil: null }), false);
});

test('a ledger written before owner hosts existed opens, gains the column once, and keeps its rows', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ledger-v1-'));
  const file = join(dir, 'l.sqlite');
  try {
    const old = openDatabase(file, 1000);
    old.exec(`CREATE TABLE tasks (id TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, provider TEXT NOT NULL,
      kind TEXT NOT NULL, status TEXT NOT NULL, phase TEXT, rejected INTEGER NOT NULL DEFAULT 0,
      provider_task_id TEXT, request TEXT NOT NULL, prepared TEXT, operation TEXT, snapshot TEXT, warnings TEXT,
      error TEXT, provider_status TEXT, unchanged_polls INTEGER NOT NULL DEFAULT 0, polls INTEGER NOT NULL DEFAULT 0,
      owner_pid INTEGER, lease_until INTEGER, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
      completed_at INTEGER);
      INSERT INTO tasks (id, fingerprint, provider, kind, status, phase, request, owner_pid, lease_until, created_at, updated_at)
      VALUES ('old1', 'fp', 'jogg', 'lip_sync', 'submitting', 'sent', '{}', 77, 5, 1, 1);
      PRAGMA user_version = 1;`);
    old.close();
    const a = new Ledger(file);
    const b = new Ledger(file); // a second process opening the same file: no second ALTER
    const row = await a.get('old1');
    assert.equal(row?.ownerPid, 77);
    assert.equal(row?.ownerHost, null);
    const taken = await b.takeOver('old1', { pid: 77, host: null }, { pid: 1, host: 'h', leaseUntil: 9 }, 2);
    assert.equal(taken?.ownerHost, 'h');
    assert.equal(
      await a.takeOver('old1', { pid: 77, host: null }, { pid: 2, host: 'h2', leaseUntil: 9 }, 3),
      undefined,
      'the second take-over of the same claim loses',
    );
    await a.close();
    await b.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
