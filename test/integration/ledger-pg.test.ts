/**
 * What only the PostgreSQL ledger has: migrations shared by instances starting together, connection
 * failures said without the password, a change feed that survives a lost connection. The behaviour it
 * shares with SQLite is in ledger-contract.test.ts.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, test } from 'node:test';
import pg from 'pg';
import { AppError, toUserError } from '../../src/errors.js';
import { PgLedger } from '../../src/jobs/ledger-pg.js';
import { MIGRATIONS } from '../../src/jobs/pg-migrations.js';
import { pgSkip, pgTestDatabase } from '../helpers/pg.js';

const PASSWORD = 'pw-s3cret-Xy9';

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

/** The error as a user, a log line and a developer would see it: none may hold the password. */
function assertNoPassword(err: unknown): void {
  const shown = JSON.stringify(toUserError(err));
  assert.ok(!shown.includes(PASSWORD), shown);
  assert.ok(!String((err as Error).message).includes(PASSWORD));
  assert.ok(!JSON.stringify(err).includes(PASSWORD));
  assert.ok(!String((err as Error).cause ?? '').includes(PASSWORD));
}

describe('PostgreSQL ledger: connection failures', () => {
  test('a refused connection is an AppError naming host and port, with the fix, never the password', async () => {
    const port = await closedPort();
    const err = await PgLedger.open(`postgres://lipsync:${PASSWORD}@127.0.0.1:${port}/ledger`).then(
      () => assert.fail('opened'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof AppError);
    assert.equal(err.code, 'unavailable');
    assert.equal(
      err.message,
      `PostgreSQL at 127.0.0.1:${port} refused the connection: check LIPSYNC_DATABASE_URL and that the server runs.`,
    );
    assert.ok(err.hint);
    assert.equal(err.retryable, true);
    assert.deepEqual(toUserError(err).details, { setting: 'LIPSYNC_DATABASE_URL', transport: 'refused' });
    assertNoPassword(err);
  });

  test('a URL the driver cannot read is refused without echoing it', async () => {
    const err = await PgLedger.open(`postgres://lipsync:${PASSWORD}@db:notaport/ledger`).then(
      () => assert.fail('opened'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof AppError);
    assert.equal(err.code, 'invalid_input');
    assert.equal(err.cause, undefined, "the parser's error holds the URL");
    assertNoPassword(err);
  });
});

describe('PostgreSQL ledger: on a server', { skip: pgSkip }, () => {
  test('5 instances opening a fresh database together apply each migration exactly once', async () => {
    const db = await pgTestDatabase('migrations');
    const ledgers: PgLedger[] = [];
    try {
      ledgers.push(...(await Promise.all([1, 2, 3, 4, 5].map(() => PgLedger.open(db.url)))));
      ledgers.push(await PgLedger.open(db.url));
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      const { rows } = await c.query<{ version: number; n: number }>(
        'SELECT version, COUNT(*)::int AS n FROM schema_migrations GROUP BY version ORDER BY version',
      );
      await c.end();
      assert.deepEqual(
        rows,
        MIGRATIONS.map((m) => ({ version: m.version, n: 1 })),
      );
    } finally {
      await Promise.all(ledgers.map((l) => l.close()));
      await db.drop();
    }
  });

  test('describe() names the server without the password; a missing database is said plainly', async () => {
    const db = await pgTestDatabase('describe');
    const u = new URL(db.url);
    u.password = PASSWORD; // the test cluster trusts loopback: any password is accepted
    const l = await PgLedger.open(u.href);
    try {
      assert.equal(l.describe(), `postgres://${u.username}@${u.hostname}:${u.port}/${db.name}`);
      assert.equal(l.backend, 'postgres');
    } finally {
      await l.close();
      await db.drop();
    }
    u.pathname = '/lipsync_no_such_database';
    const err = await PgLedger.open(u.href).then(
      () => assert.fail('opened'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof AppError);
    assert.equal(err.code, 'invalid_input');
    assert.match(err.message, /lipsync_no_such_database does not exist/);
    assertNoPassword(err);
  });

  test('the change feed reconnects when its connection is killed, and says something may have changed', async () => {
    const db = await pgTestDatabase('feed');
    const a = await PgLedger.open(db.url);
    const b = await PgLedger.open(db.url);
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    try {
      const heard: (string | undefined)[] = [];
      const stop = b.watch((id) => heard.push(id));
      const t = await a.claim(
        {
          id: 'ls_feed',
          fingerprint: 'fp',
          provider: 'jogg',
          kind: 'lip_sync',
          request: {},
          warnings: [],
          ownerPid: 1,
          ownerHost: 'h',
          leaseUntil: 1,
          now: 1,
        },
        { force: false, isOwnerAlive: () => true },
      );
      const hear = async (what: (string | undefined)[]) => {
        for (let i = 0; i < 500 && !what.every((w) => heard.includes(w)); i++) {
          await a.update(t.row.id, { polls: i }, i);
          await new Promise((r) => setTimeout(r, 10));
        }
        assert.ok(
          what.every((w) => heard.includes(w)),
          `heard ${JSON.stringify(heard)}`,
        );
      };
      await hear(['ls_feed']);
      const { rowCount } = await admin.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'lipsync-mcp changes' AND datname = current_database()",
      );
      assert.equal(rowCount, 1);
      heard.length = 0;
      await hear([undefined, 'ls_feed']);
      stop();
    } finally {
      await admin.end();
      await Promise.all([a.close(), b.close()]);
      await db.drop();
    }
  });
});
