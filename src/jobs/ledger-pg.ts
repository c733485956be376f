/**
 * The ledger backend on PostgreSQL (`LIPSYNC_DATABASE_URL`): several instances, on several machines,
 * share it. The ledger's logic is ledger-core.ts, the same as SQLite's; this file opens the pool, runs
 * the migrations (pg-migrations.ts) and listens for changes. Input hashes stay in each machine's SQLite
 * file.
 *
 * The concurrency primitives: where SQLite has one writer at a time (BEGIN IMMEDIATE), this backend
 * serialises only what must be. A claim is one READ COMMITTED transaction whose first statement waits
 * for a transaction-scoped advisory lock keyed by the fingerprint (held until COMMIT or ROLLBACK), so
 * claims of one fingerprint run one after another on every instance, also while no row exists yet
 * (where a row lock would have nothing to lock). Each later statement takes a fresh snapshot, so it
 * sees what the previous holder committed (REPEATABLE READ would keep the snapshot taken before the
 * wait and miss it). Claims that check a spend cap take one more advisory lock (`spendLock`, always
 * after the fingerprint's: no deadlock). A take-over is a compare-and-set on the owner: one UPDATE
 * whose WHERE names the expected owner; PostgreSQL re-checks it on the locked row, so one caller wins.
 */
import { pageStatement, SqlLedger } from './ledger-core.js';
import { type Dialect, driveAsync, type Executor, numbered, type Row, type Stmt } from './ledger-sql.js';
import { TASKS_CHANNEL } from './migrations.js';
import {
  describeTarget,
  LOCK_SPACE,
  LOCK_SPEND,
  PgDb,
  type PgOptions,
  pgTarget,
  type Queryable,
} from './pg-db.js';
import { migrate } from './pg-migrations.js';
import { PgChangeFeed } from './pg-watch.js';
import type { ListOptions, PageKey } from './store.js';

const POSTGRES: Dialect = {
  seq: 'seq',
  live: (t = '') => `NOT ${t}rejected`,
  likeNoCase: 'ILIKE',
  before: (k) => ({ sql: '(created_at, seq) < (?, ?)', args: [k.createdAt, k.rowid] }),
  spendLock: { sql: 'SELECT pg_advisory_xact_lock(?, ?)', args: [LOCK_SPACE, LOCK_SPEND] },
};

/** The statement behind `page`, numbered (exported for the query-plan test). */
export function pgPageQuery(opts: ListOptions & { after?: PageKey }): Stmt {
  const s = pageStatement(POSTGRES, opts);
  return { sql: numbered(s.sql), args: s.args };
}

function executor(db: PgDb): Executor {
  const rows =
    (q: Queryable) =>
    async (s: Stmt): Promise<Row[]> =>
      (await q.query<Row>(numbered(s.sql), s.args)).rows;
  return {
    run: (steps) => db.read((q) => driveAsync(steps, rows(q))),
    // One statement: its WHERE is re-evaluated on the row once locked (READ COMMITTED), so it is the
    // compare-and-set by itself.
    write: (steps) => db.read((q) => driveAsync(steps, rows(q))),
    claim: (fingerprint, steps) =>
      db.tx(async (c) => {
        await c.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [fingerprint]);
        return driveAsync(steps, rows(c));
      }),
  };
}

export class PgLedger extends SqlLedger {
  readonly backend = 'postgres' as const;
  private readonly feed: PgChangeFeed;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly db: PgDb,
    opts: PgOptions,
  ) {
    super(POSTGRES, executor(db));
    this.feed = new PgChangeFeed(db.url, db.target, TASKS_CHANNEL, opts);
  }

  /** Connects, and brings the schema up to date (once, however many instances start together). */
  static async open(url: string, opts: PgOptions = {}): Promise<PgLedger> {
    const db = new PgDb(url, pgTarget(url), opts);
    try {
      await migrate(db);
    } catch (err) {
      await db.end().catch(() => {});
      throw err;
    }
    return new PgLedger(db, opts);
  }

  describe(): string {
    return describeTarget(this.db.target);
  }

  /** Connections of this instance's pool (measurements, `doctor`). */
  poolStats(): { total: number; idle: number; waiting: number } {
    const p = this.db.pool;
    return { total: p.totalCount, idle: p.idleCount, waiting: p.waitingCount };
  }

  close(): Promise<void> {
    this.closing ??= this.feed.close().then(() => this.db.end());
    return this.closing;
  }

  /** Every task insert or update, by any instance (this one too), arrives with its id. */
  watch(listener: (taskId?: string) => void): () => void {
    return this.feed.add(listener);
  }
}
