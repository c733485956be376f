/**
 * The seam between the one ledger (ledger-core.ts) and its two SQL backends (SQLite: ledger.ts,
 * PostgreSQL: ledger-pg.ts). Every ledger operation is written once, as a generator that yields
 * statements and receives their rows (`Steps`); a backend runs it synchronously (SQLite: no event-loop
 * turn inside BEGIN IMMEDIATE, so nothing else in the process interleaves with a claim) or
 * asynchronously (PostgreSQL: one awaited query at a time, on one connection inside a transaction).
 *
 * Why a seam of our own and not a query builder (Kysely was weighed, issue 28): the SQL the two share
 * is plain (SQLite 3.39+ speaks RETURNING, ON CONFLICT DO UPDATE and IS NOT DISTINCT FROM), and what
 * differs is five fragments (`Dialect`). Kysely is async-only, so the SQLite claim would hold the
 * write lock across event-loop turns, and would need a wrapper for node:sqlite (its SqliteDialect
 * expects better-sqlite3); it adds 160 KB minified to the bundle (0.28; 0.29 needs Node 22, we
 * support 20); and its migrator keeps its own tables, where existing files count `user_version` and
 * PostgreSQL databases `schema_migrations`.
 */
import type { PageKey } from './store.js';

/** A value a statement binds: both drivers take these (booleans are bound as 1 / 0: PostgreSQL reads '1' as true). */
export type SqlArg = string | number | null;

/** One statement: `?` placeholders (the PostgreSQL runner numbers them), and their values in order. */
export interface Stmt {
  sql: string;
  args: SqlArg[];
}

export type Row = Record<string, unknown>;

/** A ledger operation: yields statements, receives each one's rows (RETURNING rows for writes). */
export type Steps<T> = Generator<Stmt, T, Row[]>;

/** What the two SQL dialects write differently; everything else is one text. */
export interface Dialect {
  /** The column that orders rows created in the same millisecond: SQLite's rowid, PostgreSQL's identity `seq`. */
  readonly seq: 'rowid' | 'seq';
  /** Rows not rejected (of table alias `t`), spelled as the backend's partial indexes say it: the planner matches text. */
  live(t?: string): string;
  /** LIKE ignoring ASCII case: SQLite's LIKE does (and has a NOCASE index); PostgreSQL needs ILIKE. */
  readonly likeNoCase: 'LIKE' | 'ILIKE';
  /** The keyset bound "before `key`" in page order, as each backend's index can search it. */
  before(key: PageKey): Stmt;
  /**
   * Taken before a claim reads spend totals, so that two claims cannot both pass a cap: nothing on
   * SQLite (BEGIN IMMEDIATE already lets one writer in at a time); an advisory lock on PostgreSQL.
   */
  readonly spendLock: Stmt | undefined;
}

/**
 * How a backend runs `Steps`. Each backend's concurrency primitive is in its `claim` and `write`,
 * in its own file, and nowhere else.
 */
export interface Executor {
  /** Reads, and writes that depend on nothing they read. */
  run<T>(steps: Steps<T>): Promise<T>;
  /** A compare-and-set: one statement whose WHERE is the condition; of concurrent callers one wins. */
  write<T>(steps: Steps<T>): Promise<T>;
  /** A claim: `steps` run alone among all claims of `fingerprint`, on every process and instance. */
  claim<T>(fingerprint: string, steps: Steps<T>): Promise<T>;
}

/** Runs `steps` to the end, synchronously (SQLite). */
export function driveSync<T>(steps: Steps<T>, rows: (s: Stmt) => Row[]): T {
  for (let r = steps.next(); ; r = steps.next(rows(r.value))) if (r.done) return r.value;
}

/** Runs `steps` to the end, one awaited statement at a time (PostgreSQL). */
export async function driveAsync<T>(steps: Steps<T>, rows: (s: Stmt) => Promise<Row[]>): Promise<T> {
  for (let r = steps.next(); ; r = steps.next(await rows(r.value))) if (r.done) return r.value;
}

/** One statement as `Steps` (its rows). */
export function* one(s: Stmt): Steps<Row[]> {
  return yield s;
}

/** `?` placeholders as PostgreSQL's `$1, $2, …` (the ledger's SQL has no `?` in literals or operators). */
export function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

/** A boolean or 0/1 column as a boolean, from either driver. */
export function bool(v: unknown): boolean {
  return v === true || v === 1;
}
