/**
 * Issue 28: the two ledgers became one, with one list of migrations. A ledger the code before wrote
 * (test/fixtures/ledger-before-28.ts: SQLite at user_version 3, PostgreSQL at migration 2) opens
 * unchanged, schema and records, and its tasks are there; and a fresh ledger today has exactly the
 * schema the code before made.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import pg from 'pg';
import { Ledger } from '../../src/jobs/ledger.js';
import { PgLedger } from '../../src/jobs/ledger-pg.js';
import { openDatabase } from '../../src/jobs/sqlite.js';
import type { LedgerStore } from '../../src/jobs/store.js';
import { POSTGRES_V2, SQLITE_V3 } from '../fixtures/ledger-before-28.js';
import { pgSkip, pgTestDatabase } from '../helpers/pg.js';

/** Rows as the code before wrote them: a finished task with its cost, a claim whose owner died, an upload. */
const ROWS = [
  `INSERT INTO tasks (id, fingerprint, provider, kind, status, phase, request, warnings, owner_pid, owner_host, lease_until, created_at, updated_at, completed_at, provider_task_id)
   VALUES ('ls_old_done', 'fp-done', 'jogg', 'lip_sync', 'success', 'sent', '{"params":{"a":1}}', '[]', 1, 'host-a', 5, 1000, 2000, 2000, 'p-1')`,
  `INSERT INTO tasks (id, fingerprint, provider, kind, status, phase, request, warnings, owner_pid, owner_host, lease_until, created_at, updated_at)
   VALUES ('ls_old_claim', 'fp-claim', 'jogg', 'lip_sync', 'submitting', 'preparing', '{}', '[]', 2, 'host-a', 5, 1500, 1500)`,
  `INSERT INTO costs (task_id, provider, amount, unit, source, created_at, updated_at)
   VALUES ('ls_old_done', 'jogg', 2, 'credits', 'provider', 1000, 2000)`,
  `INSERT INTO uploads (provider, scope, sha256, size, url, meta, created_at)
   VALUES ('jogg', 'k', 'abc', 10, 'https://cdn.example/a', NULL, 1000)`,
];

const claimOf = (fingerprint: string, id: string) => ({
  id,
  fingerprint,
  provider: 'jogg' as const,
  kind: 'lip_sync' as const,
  request: {},
  warnings: [],
  ownerPid: 3,
  ownerHost: 'host-b',
  leaseUntil: 9000,
  now: 3000,
});

/** What a ledger written before must show through today's contract. */
async function seesTheOldTasks(l: LedgerStore): Promise<void> {
  const done = await l.get('ls_old_done');
  assert.deepEqual(
    [done?.status, done?.request, done?.providerTaskId, done?.rejected],
    ['success', { params: { a: 1 } }, 'p-1', false],
  );
  const page = await l.page({ limit: 10 });
  assert.deepEqual(
    page.rows.map((r) => r.id),
    ['ls_old_claim', 'ls_old_done'],
  );
  const reuse = await l.claim(claimOf('fp-done', 'ls_new_1'), { force: false, isOwnerAlive: () => true });
  assert.deepEqual([reuse.kind, reuse.row.id], ['reused', 'ls_old_done']);
  const take = await l.claim(claimOf('fp-claim', 'ls_new_2'), { force: false, isOwnerAlive: () => false });
  assert.deepEqual([take.kind, take.row.id, take.row.ownerHost], ['taken_over', 'ls_old_claim', 'host-b']);
  assert.deepEqual(
    (await l.spend.list(0)).map((c) => [c.taskId, c.amount, c.paid]),
    [['ls_old_done', 2, true]],
  );
  assert.equal((await l.uploadLookup('jogg', 'k', 'abc', 10))?.url, 'https://cdn.example/a');
}

const SQLITE_SCHEMA =
  "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name";

function sqliteSchema(file: string): { schema: unknown[]; version: number } {
  const db = openDatabase(file, 1000);
  try {
    const version = (db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version;
    return {
      schema: db
        .prepare(SQLITE_SCHEMA)
        .all()
        .map((r) => ({ ...(r as object) })),
      version,
    };
  } finally {
    db.close();
  }
}

test('SQLite: a ledger at user_version 3, written before, opens unchanged and its tasks are there', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ledger-legacy-'));
  const file = join(dir, 'old.sqlite');
  try {
    const old = openDatabase(file, 1000);
    old.exec('PRAGMA journal_mode = WAL');
    old.exec(SQLITE_V3);
    for (const sql of ROWS) old.exec(sql);
    old.close();
    const before = sqliteSchema(file);
    assert.equal(before.version, 3);

    const l = new Ledger(file);
    try {
      assert.deepEqual(sqliteSchema(file), before, 'no step ran again, nothing was added');
      await seesTheOldTasks(l);
    } finally {
      l.closeSync();
    }

    const fresh = join(dir, 'fresh.sqlite');
    new Ledger(fresh).closeSync();
    assert.deepEqual(sqliteSchema(fresh), before, 'a fresh file has the schema the code before made');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** The parts of a PostgreSQL schema a ledger depends on, and what `schema_migrations` records. */
async function pgSchema(url: string): Promise<unknown> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const q = async (sql: string) => (await c.query(sql)).rows;
    return {
      columns: await q(
        `SELECT table_name, column_name, data_type, is_nullable, column_default, is_identity FROM information_schema.columns
         WHERE table_schema = 'public' ORDER BY table_name, ordinal_position`,
      ),
      indexes: await q(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY indexname",
      ),
      triggers: await q(
        'SELECT tgname, pg_get_triggerdef(oid) AS def FROM pg_trigger WHERE NOT tgisinternal ORDER BY tgname',
      ),
      functions: await q(
        "SELECT proname, prosrc FROM pg_proc WHERE pronamespace = 'public'::regnamespace ORDER BY proname",
      ),
      migrations: (await q('SELECT version, name FROM schema_migrations ORDER BY version')).map((r) => ({
        version: r.version,
        name: r.name,
      })),
    };
  } finally {
    await c.end();
  }
}

describe('PostgreSQL', { skip: pgSkip }, () => {
  test('a database at migration 2, written before, opens unchanged and its tasks are there', async () => {
    const old = await pgTestDatabase('legacy');
    const fresh = await pgTestDatabase('legacy_fresh');
    try {
      const c = new pg.Client({ connectionString: old.url });
      await c.connect();
      try {
        for (const sql of [...POSTGRES_V2, ...ROWS]) await c.query(sql);
      } finally {
        await c.end();
      }
      const before = await pgSchema(old.url);
      const l = await PgLedger.open(old.url);
      try {
        assert.deepEqual(await pgSchema(old.url), before, 'no migration ran again, nothing was added');
        await seesTheOldTasks(l);
      } finally {
        await l.close();
      }
      await (await PgLedger.open(fresh.url)).close();
      const made = (await pgSchema(fresh.url)) as { migrations: unknown };
      assert.deepEqual(made, before, 'a fresh database has the schema and records the code before made');
    } finally {
      await old.drop();
      await fresh.drop();
    }
  });
});
