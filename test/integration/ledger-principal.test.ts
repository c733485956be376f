/**
 * Issue 29 in both ledgers: a task records its principal (null: the local one); pages, completion and
 * spend totals can be narrowed to one principal; a claim's guard reads that principal's totals in the
 * same transaction (the per-user cap). Kept apart from ledger-contract.test.ts on purpose (the ledgers
 * are being rewritten in parallel; this file is what the rewrite must keep passing).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { Ledger } from '../../src/jobs/ledger.js';
import { PgLedger } from '../../src/jobs/ledger-pg.js';
import { openDatabase } from '../../src/jobs/sqlite.js';
import type { ClaimOptions, LedgerStore, NewTask, SpendTotal } from '../../src/jobs/store.js';
import { pgSkip, pgTestDatabase } from '../helpers/pg.js';

const BACKENDS: {
  name: string;
  skip: string | false;
  open(): Promise<{ l: LedgerStore; drop(): Promise<void> }>;
}[] = [
  {
    name: 'sqlite',
    skip: false,
    async open() {
      const dir = mkdtempSync(join(tmpdir(), 'ledger-principal-'));
      const l = new Ledger(join(dir, 'ledger.sqlite'), undefined, { debounceMs: 5, safetyMs: 200 });
      return { l, drop: async () => rmSync(dir, { recursive: true, force: true }) };
    },
  },
  {
    name: 'postgres',
    skip: pgSkip,
    async open() {
      const db = await pgTestDatabase('principal');
      return { l: await PgLedger.open(db.url, { poolSize: 4 }), drop: db.drop };
    },
  },
];

const task = (fp: string, now: number, principal?: string): NewTask => ({
  id: `ls_${randomUUID().replace(/-/g, '').slice(0, 20)}`,
  fingerprint: fp,
  provider: 'jogg',
  kind: 'lip_sync',
  request: { params: {} },
  warnings: [],
  ownerPid: process.pid,
  ownerHost: 'host-a',
  leaseUntil: now + 1000,
  now,
  ...(principal === undefined ? {} : { principal }),
});

const paid = { amount: 1, unit: 'credits', paid: true };

for (const backend of BACKENDS) {
  describe(`ledger principal: ${backend.name}`, { skip: backend.skip }, () => {
    let l: LedgerStore;
    let drop: () => Promise<void>;
    beforeEach(async () => {
      ({ l, drop } = await backend.open());
    });
    afterEach(async () => {
      await l.close();
      await drop();
    });

    test('a task stores its principal; pages and completion narrow to one (null: the local one)', async () => {
      const alive: ClaimOptions = { force: false, isOwnerAlive: () => true };
      const a = (await l.claim(task('fa', 1000, 'iss#alice'), alive)).row;
      const b = (await l.claim(task('fb', 1001, 'iss#bob'), alive)).row;
      const local = (await l.claim(task('fl', 1002), alive)).row;
      assert.deepEqual([a.principal, b.principal, local.principal], ['iss#alice', 'iss#bob', null]);
      assert.equal((await l.get(a.id))?.principal, 'iss#alice');
      const ids = async (principal?: string | null) =>
        (await l.page({ limit: 10, ...(principal === undefined ? {} : { principal }) })).rows.map(
          (r) => r.id,
        );
      assert.deepEqual(await ids('iss#alice'), [a.id]);
      assert.deepEqual(await ids(null), [local.id]);
      assert.deepEqual(await ids(), [local.id, b.id, a.id]);
      assert.deepEqual((await l.idsStartingWith('ls_', 10, 'iss#bob')).ids, [b.id]);
      assert.equal((await l.idsStartingWith('ls_', 10)).total, 3);
    });

    test("a claim's guard reads the principal's own totals in the same transaction", async () => {
      const seen: { all: number; own: number | undefined }[] = [];
      const sum = (t: SpendTotal[] | undefined) => t?.reduce((s, x) => s + x.paidCreates, 0);
      const claim = (fp: string, principal: string) =>
        l.claim(task(fp, 2000, principal), {
          force: false,
          isOwnerAlive: () => true,
          cost: paid,
          guard: {
            since: 0,
            principal,
            check: (totals, own) => {
              seen.push({ all: sum(totals) ?? 0, own: sum(own) });
            },
          },
        });
      await claim('g1', 'iss#alice');
      await claim('g2', 'iss#alice');
      await claim('g3', 'iss#bob');
      assert.deepEqual(seen, [
        { all: 0, own: 0 },
        { all: 1, own: 1 },
        { all: 2, own: 0 },
      ]);
      assert.equal(sum(await l.spend.totalsSince(0, 'iss#alice')), 2);
      assert.equal(sum(await l.spend.totalsSince(0)), 3);
    });
  });
}

test('sqlite: a ledger file from before principals (user_version 3) gains the column; its tasks are the local principal’s', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ledger-principal-v3-'));
  const file = join(dir, 'ledger.sqlite');
  try {
    const first = new Ledger(file, undefined, { debounceMs: 5, safetyMs: 200 });
    const old = (await first.claim(task('old', 1000), { force: false, isOwnerAlive: () => true })).row;
    await first.close();
    // Back to version 3 as it was: no principal column, no index on it.
    const db = openDatabase(file, 10_000);
    db.exec(
      'DROP INDEX tasks_page_principal; ALTER TABLE tasks DROP COLUMN principal; PRAGMA user_version = 3',
    );
    db.close();
    const again = new Ledger(file, undefined, { debounceMs: 5, safetyMs: 200 });
    try {
      assert.equal((await again.get(old.id))?.principal, null);
      const mine = (
        await again.claim(task('new', 2000, 'iss#alice'), { force: false, isOwnerAlive: () => true })
      ).row;
      assert.deepEqual(
        (await again.page({ limit: 10, principal: 'iss#alice' })).rows.map((r) => r.id),
        [mine.id],
      );
    } finally {
      await again.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
