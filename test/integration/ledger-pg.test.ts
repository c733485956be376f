/**
 * What only the PostgreSQL ledger has: migrations shared by instances starting together, connection
 * failures said without the password, a change feed that survives a lost connection. The behaviour it
 * shares with SQLite is in ledger-contract.test.ts.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import pg from 'pg';
import { AppError, toUserError } from '../../src/errors.js';
import { PgLedger } from '../../src/jobs/ledger-pg.js';
import { grantTables, LEDGER_TABLES, PgDb, pgTarget } from '../../src/jobs/pg-db.js';
import { MIGRATIONS, migrate } from '../../src/jobs/pg-migrations.js';
import { createLogger } from '../../src/logger.js';
import { Redactor } from '../../src/redact.js';
import { PG_ADMIN_URL, pgListens, pgRole, pgSkip, pgTestDatabase } from '../helpers/pg.js';
import { Heard } from '../helpers/wait.js';

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
    const listens = pgListens();
    try {
      const heard = new Heard<string | undefined>();
      // The feed LISTENs in the background (the product says nothing when it does): wait for that, so
      // that one write is enough to be heard.
      const listening = listens.next("b's change feed to LISTEN");
      const stop = b.watch(heard.push);
      await listening;
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
      await heard.when((id) => id === 'ls_feed', 'b to hear the claim of ls_feed');
      heard.seen.length = 0;
      // Asked before the kill: the reconnect's LISTEN cannot come first, however the machine orders things.
      const relistened = listens.next("b's change feed to LISTEN again after its connection was killed");
      const { rowCount } = await admin.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'lipsync-mcp changes' AND datname = current_database()",
      );
      assert.equal(rowCount, 1);
      await relistened;
      await heard.when((id) => id === undefined, 'b to be told that something may have changed');
      await a.update(t.row.id, { polls: 1 }, 1);
      await heard.when((id) => id === 'ls_feed', 'b to hear ls_feed after the reconnect');
      stop();
    } finally {
      listens.restore();
      await admin.end();
      await Promise.all([a.close(), b.close()]);
      await db.drop();
    }
  });

  test('the change feed says when it listens, and says so again, reconnected, after its connection is killed', async () => {
    const db = await pgTestDatabase('feedlog');
    const said = new Heard<{ msg?: string; reconnected?: boolean }>();
    const stream = new Writable({
      write(chunk, _enc, cb) {
        for (const line of String(chunk).split('\n').filter(Boolean)) said.push(JSON.parse(line));
        cb();
      },
    });
    const log = createLogger('info', new Redactor([]), stream);
    const b = await PgLedger.open(db.url, { log });
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    const listening = (m: { msg?: string }) => m.msg === 'PostgreSQL change feed listening';
    try {
      const stop = b.watch(() => undefined);
      const first = await said.when(listening, "b's change feed to say it listens");
      assert.equal(first.reconnected, false);
      const { rowCount } = await admin.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'lipsync-mcp changes' AND datname = current_database()",
      );
      assert.equal(rowCount, 1);
      const again = await said.when(
        (m, i) => listening(m) && i > said.seen.indexOf(first),
        "b's change feed to say it listens again after its connection was killed",
      );
      assert.equal(again.reconnected, true);
      stop();
    } finally {
      await admin.end();
      await b.close();
      await db.drop();
    }
  });

  test('LEDGER_TABLES (what the GRANT hint names) are exactly the tables the migrations create', async () => {
    const db = await pgTestDatabase('tables');
    try {
      await (await PgLedger.open(db.url)).close();
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      const { rows } = await c.query<{ name: string }>(
        "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
      );
      await c.end();
      assert.deepEqual(
        rows.map((r) => r.name),
        [...LEDGER_TABLES].sort(),
      );
    } finally {
      await db.drop();
    }
  });

  test("a user who is not the tables' owner: each refusal at start says the one fix, and after it the ledger works", async () => {
    const db = await pgTestDatabase('rights');
    const role = await pgRole();
    const asUser = new URL(db.url);
    asUser.username = role.name;
    const refusal = async () => {
      const err = await PgLedger.open(asUser.href).then(
        (l) => l.close().then(() => assert.fail('opened')),
        (e: unknown) => e,
      );
      assert.ok(err instanceof AppError, String(err));
      assert.equal(err.code, 'invalid_input');
      return err;
    };
    try {
      // An empty database, and no right to create in schema public (PostgreSQL 15+).
      const none = await refusal();
      assert.match(none.message, /may not create the ledger's tables/);
      assert.match(none.hint ?? '', /run lipsync-mcp once/);
      assert.match(none.hint ?? '', new RegExp(`GRANT CREATE ON SCHEMA public TO ${role.name}`));
      // The owner made them: now the tables, and the one statement that grants all the ledger needs.
      await (await PgLedger.open(db.url)).close();
      const noRights = await refusal();
      const grant = grantTables(role.name);
      assert.ok(noRights.hint?.includes(grant), noRights.hint);
      // Some of the tables only: named at start, not at the first job.
      await role.onDb(db.url, `GRANT SELECT, INSERT, UPDATE ON schema_migrations, tasks TO ${role.name}`);
      const partial = await refusal();
      assert.match(partial.message, /costs, uploads, downloads/);
      assert.ok(partial.hint?.includes(grant), partial.hint);
      // The statement as the hint says it, and nothing else: every kind of write works.
      await role.onDb(db.url, grant);
      const l = await PgLedger.open(asUser.href);
      const other = await PgLedger.open(db.url);
      try {
        const heard = new Heard<string | undefined>();
        const listens = pgListens();
        const listening = listens.next("the owner's change feed to LISTEN");
        const stop = other.watch(heard.push);
        await listening.finally(() => listens.restore());
        const d = await l.claim(
          {
            id: 'ls_granted',
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
          { force: false, isOwnerAlive: () => true, cost: { amount: 1, unit: 'credits', paid: true } },
        );
        assert.equal(d.kind, 'created');
        await l.spend.record('ls_granted', { amount: 2, source: 'provider' }, 2);
        await l.uploadStore('jogg', '', 'sha', 1, 'https://x.test/a', undefined, 2);
        await l.recordDownload('ls_granted', '/out/a.mp4', 'sha', 1, 2);
        assert.ok(await l.markSent('ls_granted', { pid: 1, host: 'h' }, 3));
        await l.update('ls_granted', { polls: 1 }, 4);
        await heard.when((id) => id === 'ls_granted', "the owner's instance to hear this user's writes");
        stop();
        // A new migration (a later version) needs the owner: said so, nothing half-applied.
        const next = {
          version: MIGRATIONS[MIGRATIONS.length - 1]!.version + 1,
          name: 'a later column',
          sql: 'ALTER TABLE tasks ADD COLUMN later INTEGER',
        };
        const pool = new PgDb(asUser.href, pgTarget(asUser.href), {});
        const upgrade = await migrate(pool, [...MIGRATIONS, next]).then(
          () => assert.fail('migrated'),
          (e: unknown) => e,
        );
        await pool.end();
        assert.ok(upgrade instanceof AppError);
        assert.match(upgrade.message, /need an update \(a later column\) that only their owner may make/);
      } finally {
        await Promise.all([l.close(), other.close()]);
      }
    } finally {
      await db.drop();
      await role.drop();
    }
  });

  test('a read-only database is refused at start, also when nothing is left to migrate', async () => {
    const db = await pgTestDatabase('readonly');
    try {
      await (await PgLedger.open(db.url)).close();
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      await c.query(`ALTER DATABASE "${db.name}" SET default_transaction_read_only = on`);
      await c.end();
      const err = await PgLedger.open(db.url).then(
        (l) => l.close().then(() => assert.fail('opened')),
        (e: unknown) => e,
      );
      assert.ok(err instanceof AppError);
      assert.match(err.message, /read-only/);
    } finally {
      await db.drop();
    }
  });
});
