/**
 * Issue 28: the two ledgers became one, with one list of migrations. A ledger the code before wrote
 * (test/fixtures/ledger-before-28.ts: SQLite at user_version 3, PostgreSQL at migration 2) opens,
 * gains exactly the steps appended since (and no step that shipped runs again), and its tasks are
 * there; and a fresh ledger today has exactly the schema of that fixture plus those steps.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import pg from 'pg';
import { Ledger } from '../../src/jobs/ledger.js';
import { PgLedger } from '../../src/jobs/ledger-pg.js';
import { stepsOf } from '../../src/jobs/migrations.js';
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

/** The steps appended to the list after the fixture's (SQLite after 3, PostgreSQL after 2), in order. */
const appended = (backend: 'sqlite' | 'postgres', after: number) =>
  stepsOf(backend).filter((s) => s.version > after);

/** What a ledger written before must show through today's contract. */
async function seesTheOldTasks(l: LedgerStore): Promise<void> {
  const done = await l.get('ls_old_done');
  assert.deepEqual(
    [done?.status, done?.request, done?.providerTaskId, done?.rejected, done?.principal],
    ['success', { params: { a: 1 } }, 'p-1', false, null],
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

test('SQLite: a ledger at user_version 3, written before, opens upgraded by the appended steps only, and its tasks are there', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ledger-legacy-'));
  const file = join(dir, 'old.sqlite');
  const expectedFile = join(dir, 'expected.sqlite');
  try {
    const later = appended('sqlite', 3);
    assert.ok(later.length > 0, 'the principal column (issue 29) is a step appended after 3');
    for (const [f, steps] of [
      [file, []],
      [expectedFile, later],
    ] as const) {
      const old = openDatabase(f, 1000);
      old.exec('PRAGMA journal_mode = WAL');
      old.exec(SQLITE_V3);
      for (const sql of ROWS) old.exec(sql);
      // The fixture as the appended steps alone make it: what opening it today must give, no more.
      for (const step of steps) old.exec(step.sql);
      if (steps.length) old.exec(`PRAGMA user_version = ${steps[steps.length - 1]!.version}`);
      old.close();
    }
    assert.equal(sqliteSchema(file).version, 3);
    const expected = sqliteSchema(expectedFile);

    const l = new Ledger(file);
    try {
      assert.deepEqual(sqliteSchema(file), expected, 'only the appended steps ran, nothing else was added');
      await seesTheOldTasks(l);
    } finally {
      l.closeSync();
    }

    const fresh = join(dir, 'fresh.sqlite');
    new Ledger(fresh).closeSync();
    assert.deepEqual(
      sqliteSchema(fresh),
      expected,
      'a fresh file has the old schema plus the appended steps',
    );
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
  test('a database at migration 2, written before, opens upgraded by the appended migrations only, and its tasks are there', async () => {
    const old = await pgTestDatabase('legacy');
    const fresh = await pgTestDatabase('legacy_fresh');
    const expectedDb = await pgTestDatabase('legacy_expected');
    try {
      const later = appended('postgres', 2);
      assert.ok(later.length > 0, 'the principal column (issue 29) is a migration appended after 2');
      for (const [url, steps] of [
        [old.url, []],
        [expectedDb.url, later],
      ] as const) {
        const c = new pg.Client({ connectionString: url });
        await c.connect();
        try {
          for (const sql of [...POSTGRES_V2, ...ROWS]) await c.query(sql);
          // The fixture as the appended migrations alone make it: what opening it today must give.
          for (const step of steps) {
            await c.query(step.sql);
            await c.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, 0)', [
              step.version,
              step.name,
            ]);
          }
        } finally {
          await c.end();
        }
      }
      const expected = await pgSchema(expectedDb.url);
      const l = await PgLedger.open(old.url);
      try {
        assert.deepEqual(await pgSchema(old.url), expected, 'only the appended migrations ran');
        await seesTheOldTasks(l);
      } finally {
        await l.close();
      }
      await (await PgLedger.open(fresh.url)).close();
      const made = (await pgSchema(fresh.url)) as { migrations: unknown };
      assert.deepEqual(made, expected, 'a fresh database has the old schema plus the appended migrations');
    } finally {
      await old.drop();
      await fresh.drop();
      await expectedDb.drop();
    }
  });
});
