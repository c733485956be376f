/**
 * The ledger contract (src/jobs/store.ts), one list of cases run against every backend. Each case gets
 * a fresh, empty ledger; `open()` makes one more instance on it (another process on SQLite's file,
 * another server with its own pool on PostgreSQL), for the races that must hold across instances.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import pg from 'pg';
import { PgLedger } from '../../src/jobs/ledger-pg.js';
import { openDatabase } from '../../src/jobs/sqlite.js';
import type {
  ClaimOptions,
  LedgerStore,
  NewTask,
  SpendTotal,
  TaskPatch,
  TaskRow,
} from '../../src/jobs/store.js';
import { pgListens, pgSkip, pgTestDatabase } from '../helpers/pg.js';
import { Heard } from '../helpers/wait.js';

interface Shared {
  /** Another instance on the same ledger. */
  open(): Promise<LedgerStore>;
  /** The download records as stored (the contract has no reader: the product only writes them). */
  downloads(): Promise<DownloadRecord[]>;
  dispose(): Promise<void>;
}

interface DownloadRecord {
  task_id: string;
  path: string;
  sha256: string;
  size: number;
  created_at: number;
}

interface Backend {
  name: string;
  skip: string | false;
  /** Whether `watch` hands over the task id (the contract allows a bare "something changed"). */
  watchIds: boolean;
  fresh(): Promise<Shared>;
}

/** Closes every instance a case opened, then removes the ledger. */
function shared(
  open: () => Promise<LedgerStore>,
  remove: () => Promise<void>,
  downloads: () => Promise<DownloadRecord[]>,
): Shared {
  const opened: LedgerStore[] = [];
  return {
    downloads,
    async open() {
      const l = await open();
      opened.push(l);
      return l;
    },
    async dispose() {
      await Promise.all(opened.map((l) => l.close()));
      await remove();
    },
  };
}

import * as sqlite from '../../src/jobs/ledger.js';

const DOWNLOADS_SQL = 'SELECT task_id, path, sha256, size, created_at FROM downloads ORDER BY path';

const BACKENDS: Backend[] = [
  {
    name: 'sqlite',
    skip: false,
    watchIds: true,
    async fresh() {
      const dir = mkdtempSync(join(tmpdir(), 'ledger-contract-'));
      const file = join(dir, 'ledger.sqlite');
      return shared(
        async () => new sqlite.Ledger(file, undefined, { debounceMs: 5, safetyMs: 200 }),
        async () => rmSync(dir, { recursive: true, force: true }),
        async () => {
          const db = openDatabase(file, 10_000);
          try {
            return db.prepare(DOWNLOADS_SQL).all() as DownloadRecord[];
          } finally {
            db.close();
          }
        },
      );
    },
  },
  {
    name: 'postgres',
    skip: pgSkip,
    watchIds: true,
    async fresh() {
      const db = await pgTestDatabase('contract');
      return shared(
        () => PgLedger.open(db.url, { poolSize: 10 }),
        db.drop,
        async () => {
          const c = new pg.Client({ connectionString: db.url });
          await c.connect();
          try {
            const r = await c.query(DOWNLOADS_SQL);
            return r.rows.map((x) => ({ ...x, size: Number(x.size), created_at: Number(x.created_at) }));
          } finally {
            await c.end();
          }
        },
      );
    },
  },
];

const HOST = 'host-a';

function task(fingerprint: string, now: number, over: Partial<NewTask> = {}): NewTask {
  return {
    id: `ls_${randomUUID().replace(/-/g, '').slice(0, 20)}`,
    fingerprint,
    provider: 'jogg',
    kind: 'lip_sync',
    request: { params: {} },
    warnings: [],
    ownerPid: process.pid,
    ownerHost: HOST,
    leaseUntil: now + 1000,
    now,
    ...over,
  };
}

const alive: ClaimOptions = { force: false, isOwnerAlive: () => true };

for (const backend of BACKENDS) {
  describe(`ledger contract: ${backend.name}`, { skip: backend.skip }, () => {
    let store: Shared;
    let l: LedgerStore;
    beforeEach(async () => {
      store = await backend.fresh();
      l = await store.open();
    });
    afterEach(() => store.dispose());

    /** A task claimed, then patched into a state. */
    async function seed(fp: string, now: number, patch: TaskPatch = {}, over: Partial<NewTask> = {}) {
      const d = await l.claim(task(fp, now, over), alive);
      assert.equal(d.kind, 'created');
      return Object.keys(patch).length ? l.update(d.row.id, patch, now) : d.row;
    }

    test('claim: created, then reused; a submitting claim is reused even with force', async () => {
      const a = await l.claim(task('fp', 1000), alive);
      assert.equal(a.kind, 'created');
      assert.equal(a.row.status, 'submitting');
      assert.equal(a.row.phase, 'preparing');
      assert.equal(a.row.ownerHost, HOST);
      assert.equal(a.row.rejected, false);
      assert.deepEqual(await l.get(a.row.id), a.row, 'the row as stored');
      const b = await l.claim(task('fp', 1001), alive);
      assert.deepEqual([b.kind, b.row.id], ['reused', a.row.id]);
      const c = await l.claim(task('fp', 1002), { ...alive, force: true });
      assert.deepEqual([c.kind, c.row.id], ['reused', a.row.id], 'force never recreates an in-flight claim');
    });

    test('claim: a submitting claim whose owner is gone is taken over, with the new owner stored', async () => {
      const a = await l.claim(task('fp', 1000), alive);
      const seen: TaskRow[] = [];
      const next = task('fp', 5000, { ownerPid: 4242, ownerHost: 'host-b', leaseUntil: 9000 });
      const d = await l.claim(next, {
        force: false,
        isOwnerAlive: (row) => {
          seen.push(row);
          return false;
        },
      });
      assert.equal(d.kind, 'taken_over');
      assert.equal(d.row.id, a.row.id);
      assert.deepEqual([d.row.ownerPid, d.row.ownerHost, d.row.leaseUntil], [4242, 'host-b', 9000]);
      assert.deepEqual(await l.get(a.row.id), d.row, 'the taken-over row is returned as stored');
      assert.equal(seen[0]?.id, a.row.id, 'isOwnerAlive is asked about the row');
      assert.equal(seen[0]?.ownerHost, HOST);
      assert.equal(await l.get(next.id), undefined, 'nothing new is inserted');
    });

    for (const status of ['success', 'failed', 'unknown'] as const)
      test(`claim: force recreates after ${status}; without force the task is reused`, async () => {
        const first = await seed(`fp-${status}`, 1000, { status, phase: null });
        const reused = await l.claim(task(`fp-${status}`, 2000), alive);
        assert.deepEqual([reused.kind, reused.row.id], ['reused', first.id]);
        const again = await l.claim(task(`fp-${status}`, 3000), { ...alive, force: true });
        assert.equal(again.kind, 'created');
        assert.notEqual(again.row.id, first.id);
        assert.equal((await l.latest(`fp-${status}`))?.id, again.row.id);
      });

    test('claim: force does not recreate pending or processing tasks', async () => {
      for (const status of ['pending', 'processing'] as const) {
        const first = await seed(`fp-${status}`, 1000, { status, phase: null });
        const d = await l.claim(task(`fp-${status}`, 2000), { ...alive, force: true });
        assert.deepEqual([d.kind, d.row.id], ['reused', first.id]);
      }
    });

    test('claim: recreateFailed runs a failed task again, and nothing else', async () => {
      const failed = await seed('fp-f', 1000, { status: 'failed' });
      const d = await l.claim(task('fp-f', 2000), { ...alive, recreateFailed: true });
      assert.equal(d.kind, 'created');
      assert.notEqual(d.row.id, failed.id);
      const ok = await seed('fp-s', 1000, { status: 'success' });
      const s = await l.claim(task('fp-s', 2000), { ...alive, recreateFailed: true });
      assert.deepEqual([s.kind, s.row.id], ['reused', ok.id]);
    });

    test('rejected rows are never reused nor listed', async () => {
      const r = await seed('fp', 1000, { rejected: true, status: 'failed' });
      const d = await l.claim(task('fp', 2000), alive);
      assert.equal(d.kind, 'created');
      assert.notEqual(d.row.id, r.id);
      assert.equal((await l.latest('fp'))?.id, d.row.id);
      assert.equal((await l.get(r.id))?.rejected, true, 'still in the ledger, as history');
      await l.update(d.row.id, { rejected: true }, 3000);
      assert.equal(await l.latest('fp'), undefined);
      assert.deepEqual((await l.page({ limit: 10 })).rows, []);
      assert.deepEqual(await l.unfinished(), []);
      assert.deepEqual(await l.idsStartingWith('ls_', 10), { ids: [], total: 0 });
    });

    test('50 concurrent claims of one fingerprint on 5 instances: exactly one is created', async () => {
      const instances = [l, ...(await Promise.all([1, 2, 3, 4].map(() => store.open())))];
      const decisions = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          instances[i % instances.length]!.claim(task('fp-race', 1000 + i), alive),
        ),
      );
      assert.equal(decisions.filter((d) => d.kind === 'created').length, 1);
      assert.equal(new Set(decisions.map((d) => d.row.id)).size, 1, 'everyone got the same task');
      assert.equal((await l.page({ limit: 100 })).rows.length, 1);
    });

    test('a refusing guard inserts nothing and its error object passes through', async () => {
      const boom = new Error('cap reached: timeout of the day');
      let seen: SpendTotal[] | undefined;
      const t = task('fp', 1000);
      await assert.rejects(
        l.claim(t, {
          ...alive,
          cost: { amount: 5, unit: 'credits', paid: true },
          guard: {
            since: 0,
            check(totals) {
              seen = totals;
              throw boom;
            },
          },
        }),
        (err) => err === boom,
      );
      assert.deepEqual(seen, []);
      assert.equal(await l.get(t.id), undefined);
      assert.deepEqual(await l.spend.list(0), []);
      // The guard is asked only before an insert, never on a reuse.
      const first = await seed('fp2', 1000);
      let asked = false;
      const d = await l.claim(task('fp2', 2000), {
        ...alive,
        guard: {
          since: 0,
          check: () => {
            asked = true;
          },
        },
      });
      assert.deepEqual([d.kind, d.row.id, asked], ['reused', first.id, false]);
    });

    test('concurrent guarded claims on several instances cannot both pass a cap of 1', async () => {
      const instances = [l, ...(await Promise.all([1, 2, 3].map(() => store.open())))];
      const cap = new Error('cap');
      const settled = await Promise.allSettled(
        Array.from({ length: 12 }, (_, i) =>
          instances[i % instances.length]!.claim(task(`fp-${i}`, 1000 + i), {
            ...alive,
            cost: { amount: 1, unit: 'credits', paid: true },
            guard: {
              since: 0,
              check(totals) {
                if (totals.reduce((n, t) => n + t.paidCreates, 0) >= 1) throw cap;
              },
            },
          }),
        ),
      );
      assert.equal(settled.filter((s) => s.status === 'fulfilled').length, 1);
      assert.ok(settled.every((s) => s.status === 'fulfilled' || s.reason === cap));
      assert.equal((await l.spend.list(0)).length, 1);
    });

    test('the cost estimate is written with the claim, and only then', async () => {
      const d = await l.claim(task('fp', 1000, { provider: 'nemovideo' }), {
        ...alive,
        cost: { amount: 2.5, unit: 'credits', paid: true },
      });
      await l.claim(task('fp', 2000), { ...alive, cost: { amount: 9, unit: 'credits', paid: true } });
      assert.deepEqual(await l.spend.list(0), [
        {
          taskId: d.row.id,
          provider: 'nemovideo',
          amount: 2.5,
          unit: 'credits',
          source: 'estimate',
          paid: true,
          createdAt: 1000,
          updatedAt: 1000,
        },
      ]);
    });

    test('markSent only for the owner: a claim taken over meanwhile is not sent by its old owner', async () => {
      const a = await seed('fp-sent', 1000, {}, { ownerPid: 100, ownerHost: 'h1' });
      await l.takeOver(a.id, { pid: 100, host: 'h1' }, { pid: 200, host: 'h2', leaseUntil: 9000 }, 2000);
      assert.equal(
        await l.markSent(a.id, { pid: 100, host: 'h1' }, 2100),
        undefined,
        'the old owner may not send',
      );
      assert.equal((await l.get(a.id))?.phase, 'preparing');
      const sent = await l.markSent(a.id, { pid: 200, host: 'h2' }, 2200);
      assert.equal(sent?.phase, 'sent');
      assert.equal(sent?.updatedAt, 2200);
      assert.equal(await l.markSent(a.id, { pid: 200, host: 'h3' }, 2300), undefined, 'same pid, other host');
    });

    test('takeOver is a compare-and-set: of two concurrent callers exactly one wins', async () => {
      const a = await seed('fp', 1000, {}, { ownerPid: 100, ownerHost: 'h1' });
      const other = await store.open();
      const expected = { pid: 100, host: 'h1' };
      const [x, y] = await Promise.all([
        l.takeOver(a.id, expected, { pid: 200, host: 'h2', leaseUntil: 5000 }, 2000),
        other.takeOver(a.id, expected, { pid: 300, host: 'h3', leaseUntil: 6000 }, 2000),
      ]);
      const winners = [x, y].filter(Boolean) as TaskRow[];
      assert.equal(winners.length, 1);
      assert.deepEqual(await l.get(a.id), winners[0]);
      assert.equal(winners[0]!.updatedAt, 2000);
      // A stale expectation, or a claim that is no longer submitting, loses.
      assert.equal(await l.takeOver(a.id, expected, { pid: 1, host: 'h', leaseUntil: 1 }, 3000), undefined);
      const w = winners[0]!;
      await l.update(a.id, { status: 'pending' }, 3000);
      assert.equal(
        await l.takeOver(
          a.id,
          { pid: w.ownerPid, host: w.ownerHost },
          { pid: 1, host: 'h', leaseUntil: 1 },
          3000,
        ),
        undefined,
      );
      // A claim without a recorded owner matches an expectation of none.
      const b = await seed('fp-b', 1000, { ownerPid: null, ownerHost: null });
      const t = await l.takeOver(
        b.id,
        { pid: null, host: null },
        { pid: 7, host: 'h7', leaseUntil: 8 },
        4000,
      );
      assert.deepEqual([t?.ownerPid, t?.ownerHost, t?.leaseUntil], [7, 'h7', 8]);
      assert.equal(
        await l.takeOver('ls_missing', { pid: null, host: null }, { pid: 7, host: 'h', leaseUntil: 8 }, 1),
        undefined,
      );
    });

    test('update round-trips every column: JSON (key order kept), booleans, numbers, nulls', async () => {
      const a = await seed('fp', 1000);
      const full: TaskPatch = {
        status: 'success',
        phase: 'sent',
        rejected: false,
        providerTaskId: 'ptid-1',
        request: { zeta: 1, alpha: { nested: [1, 'two', null, true] }, text: 'ünïcødé ✓ "quoted"' },
        prepared: { uploads: [{ url: 'https://x/y.mp4' }] },
        operation: { id: 'op', api: 'video' },
        snapshot: { status: 'success', progress: 1, resultUrl: 'https://r/1.mp4', extra: { b: 2, a: 1 } },
        warnings: ['w1', 'w2'],
        error: { code: 'provider_failed', message: 'it broke', hint: 'retry' },
        providerStatus: '3',
        unchangedPolls: 4,
        polls: 17,
        ownerPid: 123456,
        ownerHost: 'machine-7',
        leaseUntil: 1_800_000_000_123,
        completedAt: 1_800_000_000_456,
        provider: 'nemovideo',
        kind: 'generate_video',
      };
      const u = await l.update(a.id, full, 1_800_000_000_789);
      const expected: TaskRow = { ...a, ...(full as TaskRow), updatedAt: 1_800_000_000_789 };
      assert.deepEqual(u, expected);
      assert.deepEqual(await l.get(a.id), expected);
      assert.deepEqual(Object.keys(u.request), ['zeta', 'alpha', 'text'], 'JSON reads back as written');
      assert.equal(typeof u.createdAt, 'number');
      const cleared = await l.update(
        a.id,
        {
          phase: null,
          providerTaskId: null,
          prepared: null,
          operation: null,
          snapshot: null,
          warnings: null as unknown as string[],
          error: null,
          providerStatus: null,
          ownerPid: null,
          ownerHost: null,
          leaseUntil: null,
          completedAt: null,
          rejected: true,
        },
        1_800_000_001_000,
      );
      assert.deepEqual(cleared, {
        ...expected,
        phase: null,
        providerTaskId: null,
        prepared: null,
        operation: null,
        snapshot: null,
        warnings: [],
        error: null,
        providerStatus: null,
        ownerPid: null,
        ownerHost: null,
        leaseUntil: null,
        completedAt: null,
        rejected: true,
        updatedAt: 1_800_000_001_000,
      });
      // Fields that are not columns `update` may write are ignored.
      const same = await l.update(a.id, { createdAt: 1, fingerprint: 'x' } as TaskPatch, 1_800_000_002_000);
      assert.deepEqual([same.createdAt, same.fingerprint], [1000, 'fp']);
    });

    test('page: newest first, keyset paging stable under inserts, filters', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 7; i++) {
        // Two tasks share each creation time: the row sequence orders them.
        const r = await seed(`fp${i}`, 1000 + Math.floor(i / 2), i === 3 ? { status: 'success' } : {}, {
          provider: i === 5 ? 'nemovideo' : 'jogg',
        });
        ids.push(r.id);
      }
      const newestFirst = [...ids].reverse();
      const p1 = await l.page({ limit: 3 });
      assert.deepEqual(
        p1.rows.map((r) => r.id),
        newestFirst.slice(0, 3),
      );
      assert.ok(p1.next);
      // New tasks arrive between pages: they do not shift what follows.
      await seed('fp-new1', 5000);
      await seed('fp-new2', 1003);
      const p2 = await l.page({ limit: 3, after: p1.next });
      const p3 = await l.page({ limit: 3, after: p2.next });
      assert.deepEqual(
        [...p2.rows, ...p3.rows].map((r) => r.id),
        newestFirst.slice(3),
      );
      assert.equal(p3.next, undefined);
      const unfinished = await l.page({ limit: 10, unfinishedOnly: true });
      assert.ok(!unfinished.rows.some((r) => r.id === ids[3]));
      assert.deepEqual(
        (await l.page({ limit: 10, provider: 'nemovideo' })).rows.map((r) => r.id),
        [ids[5]],
      );
    });

    test('unfinished: not success, failed or rejected; oldest first', async () => {
      const a = await seed('a', 3000);
      const b = await seed('b', 1000, { status: 'unknown' });
      await seed('c', 2000, { status: 'success' });
      await seed('d', 2000, { status: 'failed' });
      await seed('e', 2000, { rejected: true });
      const p = await seed('f', 2000, { status: 'pending' });
      assert.deepEqual(
        (await l.unfinished()).map((r) => r.id),
        [b.id, p.id, a.id],
      );
    });

    test('latest, providerTaskIds, findByProviderTaskId', async () => {
      const a = await seed('fp', 1000, { status: 'failed', providerTaskId: 'p1' });
      const b = (await l.claim(task('fp', 2000), { ...alive, force: true })).row;
      await l.update(b.id, { providerTaskId: 'p2' }, 2000);
      const c = (await l.claim(task('fp', 2000), { ...alive, force: false })).row;
      assert.equal(c.id, b.id);
      assert.equal((await l.latest('fp'))?.id, b.id);
      assert.equal(await l.latest('nope'), undefined);
      assert.deepEqual((await l.providerTaskIds('fp')).sort(), ['p1', 'p2']);
      assert.deepEqual(await l.providerTaskIds('nope'), []);
      assert.equal((await l.findByProviderTaskId('jogg', 'p1'))?.id, a.id);
      assert.equal(await l.findByProviderTaskId('nemovideo', 'p1'), undefined);
    });

    test('uploads: lookup, store, and a second store replaces the first', async () => {
      assert.equal(await l.uploadLookup('jogg', '', 'abc', 10), undefined);
      await l.uploadStore('jogg', '', 'abc', 10, 'https://u/1', undefined, 1000);
      assert.deepEqual(await l.uploadLookup('jogg', '', 'abc', 10), { url: 'https://u/1', meta: null });
      await l.uploadStore('jogg', '', 'abc', 10, 'https://u/2', { b: 1, a: [2] }, 2000);
      assert.deepEqual(await l.uploadLookup('jogg', '', 'abc', 10), {
        url: 'https://u/2',
        meta: { b: 1, a: [2] },
      });
      assert.equal(await l.uploadLookup('jogg', 'session-1', 'abc', 10), undefined, 'scoped');
      assert.equal(await l.uploadLookup('jogg', '', 'abc', 11), undefined, 'by size too');
      await l.uploadStore('jogg', '', 'big', 5_000_000_000, 'https://u/big', undefined, 1);
      assert.equal((await l.uploadLookup('jogg', '', 'big', 5_000_000_000))?.url, 'https://u/big');
    });

    test('recordDownload replaces the record of the same task and path', async () => {
      const a = await seed('fp', 1000);
      await l.recordDownload(a.id, '/out/a.mp4', 'h1', 10, 1000);
      await l.recordDownload(a.id, '/out/a.mp4', 'h2', 20, 2000);
      await l.recordDownload(a.id, '/out/b.mp4', 'h3', 30, 3000);
      // Plain objects: node:sqlite (Node 24) returns rows with a null prototype.
      assert.deepEqual(
        (await store.downloads()).map((r) => ({ ...r })),
        [
          { task_id: a.id, path: '/out/a.mp4', sha256: 'h2', size: 20, created_at: 2000 },
          { task_id: a.id, path: '/out/b.mp4', sha256: 'h3', size: 30, created_at: 3000 },
        ],
      );
    });

    test('idsStartingWith: % and _ in the prefix are literal; ASCII case ignored; newest first; total', async () => {
      const mk = (id: string, now: number) => seed(id, now, {}, { id });
      await mk('ls_a%b1', 1000);
      await mk('ls_a_b2', 1001);
      await mk('ls_axb3', 1002);
      await mk('ls_a%c4', 1003);
      await mk('ls_a\\d5', 1004);
      await seed('rej', 1005, { rejected: true }, { id: 'ls_rejected' });
      const ids = async (prefix: string, limit: number) => (await l.idsStartingWith(prefix, limit)).ids;
      assert.deepEqual(await ids('ls_a%', 10), ['ls_a%c4', 'ls_a%b1']);
      assert.deepEqual(await ids('ls_a_', 10), ['ls_a_b2']);
      assert.deepEqual(await ids('ls_a\\', 10), ['ls_a\\d5']);
      assert.deepEqual(await ids('LS_AX', 10), ['ls_axb3']);
      assert.deepEqual(await l.idsStartingWith('ls_', 2), { ids: ['ls_a\\d5', 'ls_a%c4'], total: 5 });
      assert.deepEqual(await l.idsStartingWith('zz', 10), { ids: [], total: 0 });
    });

    test('spend: record, totalsSince, list, balanceBefore, others overlapping and active', async () => {
      const claim = (
        fp: string,
        now: number,
        provider: NewTask['provider'],
        amount: number | null,
        paid = true,
      ) =>
        l
          .claim(task(fp, now, { provider }), { ...alive, cost: { amount, unit: 'credits', paid } })
          .then((d) => d.row);
      const a = await claim('a', 1000, 'jogg', 2);
      const b = await claim('b', 2000, 'jogg', null);
      const c = await claim('c', 3000, 'nemovideo', 1.5, false);
      const d = await claim('d', 4000, 'jogg', 7);
      await l.update(d.id, { rejected: true }, 4000);
      const sort = (t: SpendTotal[]) => [...t].sort((x, y) => x.provider.localeCompare(y.provider));
      assert.deepEqual(sort(await l.spend.totalsSince(0)), [
        { provider: 'jogg', unit: 'credits', amount: 2, unknown: 1, paidCreates: 2 },
        { provider: 'nemovideo', unit: 'credits', amount: 1.5, unknown: 0, paidCreates: 0 },
      ]);
      assert.deepEqual(sort(await l.spend.totalsSince(2000)), [
        { provider: 'jogg', unit: 'credits', amount: 0, unknown: 1, paidCreates: 1 },
        { provider: 'nemovideo', unit: 'credits', amount: 1.5, unknown: 0, paidCreates: 0 },
      ]);
      await l.spend.record(b.id, { amount: 3.25, source: 'provider' }, 5000);
      await l.spend.record(a.id, { amount: 0, source: 'reused', paid: false }, 5000);
      const rows = await l.spend.list(0);
      assert.deepEqual(
        rows.map((r) => [r.taskId, r.amount, r.source, r.paid, r.updatedAt]),
        [
          [a.id, 0, 'reused', false, 5000],
          [b.id, 3.25, 'provider', true, 5000],
          [c.id, 1.5, 'estimate', false, 3000],
        ],
      );
      assert.deepEqual(
        (await l.spend.list(2000, 3000)).map((r) => r.taskId),
        [b.id],
      );
      assert.deepEqual(
        (await l.spend.list(0, undefined, [c.id, a.id])).map((r) => r.taskId),
        [a.id, c.id],
      );
      assert.deepEqual(await l.spend.list(0, undefined, []), []);
      assert.equal((await l.spend.totalsSince(0)).find((t) => t.provider === 'jogg')?.paidCreates, 1);

      assert.equal(await l.spend.balanceBefore(c.id), undefined);
      await l.spend.markBalanceBefore(c.id, 99.5, 3500);
      assert.deepEqual(await l.spend.balanceBefore(c.id), { balance: 99.5, at: 3500 });
      await l.spend.markBalanceBefore(b.id, 10, 3500);
      assert.equal(await l.spend.balanceBefore(b.id), undefined, 'only while the cost is an estimate');

      await l.update(a.id, { status: 'success', completedAt: 1500 }, 1500);
      await l.update(b.id, { status: 'pending' }, 2000);
      const r = await claim('r', 2500, 'jogg', 1);
      await l.update(r.id, { kind: 'render', status: 'pending' }, 2500);
      // Overlapping [1800, 2600] for jogg, except b: a ended before it, r is a render, d is rejected.
      assert.equal(await l.spend.othersOverlapping('jogg', b.id, 1800, 2600), 0);
      assert.equal(await l.spend.othersOverlapping('jogg', b.id, 1200, 2600), 1);
      assert.equal(await l.spend.othersOverlapping('jogg', a.id, 0, 10_000), 1);
      // Active since 2000 for jogg, except a: b (created at 2000) and r; d is rejected.
      assert.equal(await l.spend.othersActiveSince('jogg', a.id, 2000), 2);
      assert.equal(await l.spend.othersActiveSince('jogg', a.id, 9000), 0);
      const s = await claim('s', 100, 'jogg', 1);
      assert.equal(await l.spend.othersActiveSince('jogg', a.id, 9000), 1, 'a submitting claim counts');
      assert.ok(s);
    });

    test('a task that ended never goes back: a stale write of an earlier status (another poller) changes nothing', async () => {
      const a = await seed('fp', 1000, { status: 'processing', providerTaskId: 'p1' });
      const other = await store.open();
      // Two instances follow the task: one read "processing" from the provider just before the other
      // recorded "success"; its write arrives last.
      await other.update(a.id, { status: 'success', completedAt: 2000 }, 2000);
      const stale = await l.update(a.id, { status: 'processing', polls: 7, completedAt: null }, 2001);
      assert.equal(stale.status, 'success', 'the row as it stands is returned');
      const now = await l.get(a.id);
      assert.deepEqual([now?.status, now?.completedAt, now?.polls], ['success', 2000, a.polls]);
      // Writes that keep it ended, or touch no status, still apply.
      assert.equal((await l.update(a.id, { warnings: ['w'] }, 2002)).warnings[0], 'w');
      assert.equal((await l.update(a.id, { status: 'failed' }, 2003)).status, 'failed');
    });

    test('answer streams: kept per id for another instance, answered once recorded, pruned by age', async () => {
      const other = await store.open();
      const row = (id: string, createdAt: number) => ({
        id,
        principal: id === 's1' ? null : 'iss#alice',
        request: '{"jsonrpc":"2.0","id":1,"method":"tools/list"}',
        headers: '{"mcp-protocol-version":"2025-11-25"}',
        createdAt,
      });
      await l.streams.put(row('s1', 1000), 60_000);
      await l.streams.put(row('s2', 2000), 60_000);
      assert.deepEqual(
        await other.streams.get('s1', 0),
        row('s1', 1000),
        'read back exactly, by another instance',
      );
      assert.equal((await other.streams.get('s2', 0))?.principal, 'iss#alice');
      assert.equal(await other.streams.get('s1', 1001), undefined, 'older than asked: gone');
      assert.equal(await other.streams.get('nope', 0), undefined);
      await other.streams.answered('s2', 2500);
      assert.equal((await l.streams.get('s2', 0))?.answeredAt, 2500);
      // A fresh store prunes on its first insert: rows older than the keep time before it go.
      const pruner = await store.open();
      await pruner.streams.put(row('s3', 100_000), 60_000);
      assert.equal(await l.streams.get('s1', 0), undefined, 'pruned');
      assert.ok(await l.streams.get('s3', 0));
    });

    test('watch: another instance hears of a change, by task id', async () => {
      const watcher = await store.open();
      const heard = new Heard<string | undefined>();
      // SQLite watches its folder from the call on; PostgreSQL's LISTEN starts in the background: the
      // write waits for it (a notification sent before it is not delivered, by design).
      const listens = pgListens();
      const listening = backend.name === 'postgres' ? listens.next('the change feed to LISTEN') : undefined;
      const stop = watcher.watch(heard.push);
      try {
        await listening;
        const a = await seed('fp', 1000);
        if (backend.watchIds) await heard.when((id) => id === a.id, `the watcher to hear ${a.id}`);
        else await heard.when(() => true, 'the watcher to hear of a change');
      } finally {
        stop();
        listens.restore();
      }
    });
  });
}
