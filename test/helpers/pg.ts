/**
 * PostgreSQL for tests: a fresh, uniquely named database on the server that LIPSYNC_TEST_DATABASE_URL
 * points at (CI starts one with scripts/pg-test-cluster.sh), dropped afterwards. Without the variable,
 * the PostgreSQL tests skip and say why.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { within } from './wait.js';

/** An administrator's URL (may create databases); tests never write to its own database. */
export const PG_ADMIN_URL = process.env.LIPSYNC_TEST_DATABASE_URL?.trim() || undefined;

/** `skip` for node:test: false when PostgreSQL tests can run, else the reason they do not. */
export const pgSkip: string | false = PG_ADMIN_URL
  ? false
  : 'PostgreSQL tests skipped: set LIPSYNC_TEST_DATABASE_URL (CI sets it; scripts/pg-test-cluster.sh start)';

export interface PgTestDatabase {
  /** The URL of the new database. */
  url: string;
  name: string;
  /** Drops it, ending whatever connections are left. */
  drop(): Promise<void>;
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  if (!PG_ADMIN_URL) throw new Error(pgSkip || 'no PostgreSQL');
  const c = new pg.Client({ connectionString: PG_ADMIN_URL });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** Creates an empty database (the name is safe to quote: letters, digits, underscores). */
export async function pgTestDatabase(label = 'ledger'): Promise<PgTestDatabase> {
  const name = `lipsync_${label.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${process.pid}_${randomBytes(4).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE "${name}"`));
  const u = new URL(PG_ADMIN_URL!);
  u.pathname = `/${name}`;
  return {
    url: u.href,
    name,
    drop: () => admin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => {}),
  };
}

export interface PgTestRole {
  /** A login role without any right of its own (the cluster trusts loopback: no password needed). */
  name: string;
  /** Runs `sql` as the administrator on the database at `url` (a GRANT for this role, say). */
  onDb(url: string, sql: string): Promise<void>;
  drop(): Promise<void>;
}

/** Creates a uniquely named login role; `drop` removes it (drop its databases first). */
export async function pgRole(): Promise<PgTestRole> {
  const name = `lipsync_role_${process.pid}_${randomBytes(4).toString('hex')}`;
  await admin((c) => c.query(`CREATE ROLE ${name} LOGIN`));
  return {
    name,
    async onDb(url, sql) {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        await c.query(sql);
      } finally {
        await c.end();
      }
    },
    drop: () => admin((c) => c.query(`DROP ROLE IF EXISTS ${name}`)).then(() => {}),
  };
}

/**
 * A PostgreSQL change feed's LISTEN, as an event. The product says nothing when its feed starts
 * listening (connecting and LISTEN run in the background after `watch`), and a notification sent
 * before that is not delivered; so the test hears the answer to the `LISTEN` statement on pg's own
 * Client, which the feed uses. `next(what)` resolves once a LISTEN that starts after the call has been
 * answered (by any client in this process), and fails with a message at the hang guard. Call
 * `restore()` when done (in a `finally`).
 */
export function pgListens(): { next(what: string): Promise<void>; restore(): void } {
  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  const waiters = new Set<() => void>();
  proto.query = function (this: unknown, ...args: unknown[]) {
    const out = original.apply(this, args);
    const text = typeof args[0] === 'string' ? args[0] : '';
    if (/^\s*LISTEN\b/i.test(text) && out instanceof Promise) {
      const now = [...waiters];
      void out.then(
        () => {
          for (const w of now) {
            waiters.delete(w);
            w();
          }
        },
        () => undefined,
      );
    }
    return out;
  };
  return {
    next(what) {
      return within(new Promise<void>((r) => waiters.add(r)), what);
    },
    restore() {
      proto.query = original;
    },
  };
}
