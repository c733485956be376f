/**
 * The SQLite driver under the ledger. Node's built-in `node:sqlite` where the runtime has it (22.13+
 * without a flag; the supported floor, see package.json `engines`), else better-sqlite3, which the
 * package no longer installs: it is an optional peer dependency, so that installing lipsync-mcp compiles
 * nothing on a current Node (issue 27 item 6). On Node 20 (end of life April 2026) a person installs it
 * beside lipsync-mcp (`npm i -g lipsync-mcp better-sqlite3`); without it the ledger says so, with that
 * fix, and `doctor` lists it as a problem. Why not better-sqlite3 everywhere: its 12.x line (the last
 * one that supports Node 20) aborts the process at exit on Node 24 (`Assertion failed: (env) != nullptr`
 * in a Statement destructor), and it builds from source (about 100 s, a C++ toolchain) wherever no
 * prebuilt binary can be fetched. Both drivers are synchronous; this file narrows them to the few calls
 * the ledger makes.
 */
import { createRequire } from 'node:module';
import { AppError } from '../errors.js';

export type SqlValue = string | number | null | bigint | Uint8Array;

export interface SqlStatement {
  /** better-sqlite3: false for a statement that returns no rows (its `all` throws); node:sqlite has none (`all` gives []). */
  readonly reader?: boolean;
  get(...params: SqlValue[]): unknown;
  all(...params: SqlValue[]): unknown[];
  run(...params: SqlValue[]): unknown;
}

export interface SqlDatabase {
  readonly driver: 'node:sqlite' | 'better-sqlite3';
  exec(sql: string): void;
  prepare(sql: string): SqlStatement;
  /** Runs `fn` inside BEGIN IMMEDIATE ... COMMIT (ROLLBACK on throw): one writer at a time, across processes. */
  immediate<T>(fn: () => T): T;
  close(): void;
}

interface NodeSqliteModule {
  DatabaseSync: new (
    path: string,
    opts?: { timeout?: number },
  ) => {
    exec(sql: string): void;
    prepare(sql: string): SqlStatement;
    close(): void;
  };
}

const require = createRequire(import.meta.url);

function builtinSqlite(): NodeSqliteModule | undefined {
  const getBuiltin = (process as unknown as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule;
  if (!getBuiltin) return undefined;
  try {
    return getBuiltin('node:sqlite') as NodeSqliteModule | undefined;
  } catch {
    return undefined;
  }
}

/** Prepared statements kept per connection (the ledger's SQL is a few dozen distinct texts). */
const STATEMENTS_KEPT = 200;

/**
 * Reuses prepared statements by SQL text, the least recently used dropped past STATEMENTS_KEPT.
 * Preparing anew on every call left a native statement behind each time, freed only when V8 collected
 * its wrapper: V8 does not see that memory, so with a small heap it collected late, and 1,000 active
 * tasks held about 50 MB of them (issue 24 item 5). The ledger is synchronous, so a statement is never
 * in use twice at once.
 */
function statementCache(prepare: (sql: string) => SqlStatement): (sql: string) => SqlStatement {
  const kept = new Map<string, SqlStatement>();
  return (sql) => {
    let st = kept.get(sql);
    if (st) kept.delete(sql);
    else {
      st = prepare(sql);
      if (kept.size >= STATEMENTS_KEPT) kept.delete(kept.keys().next().value as string);
    }
    kept.set(sql, st);
    return st;
  };
}

/** What to do on a Node without node:sqlite: the words of the ledger's error and of `doctor`. */
export const SQLITE_FIX =
  'Use Node 22.13 or newer (Node 24 LTS recommended), which has SQLite built in; or, on Node 20, install better-sqlite3 beside lipsync-mcp: `npm i -g lipsync-mcp better-sqlite3` (it compiles for about two minutes and needs python3, make and a C++ compiler), or `npm i --no-save --save-optional better-sqlite3@12` in a clone of the repository.';

function noDriver(cause: unknown, why: string): AppError {
  return new AppError(
    'unavailable',
    `The task ledger needs SQLite: this Node (${process.version}) has no built-in node:sqlite, and better-sqlite3 is not usable (${why}).`,
    { hint: SQLITE_FIX, cause },
  );
}

function isNativeLoadError(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | undefined;
  return (
    e?.code === 'ERR_DLOPEN_FAILED' ||
    (typeof e?.message === 'string' && /NODE_MODULE_VERSION|bindings file|\.node\b/.test(e.message))
  );
}

function loadBetterSqlite(): typeof import('better-sqlite3') {
  try {
    return require('better-sqlite3') as typeof import('better-sqlite3');
  } catch (err) {
    throw noDriver(err, 'it is not installed');
  }
}

/**
 * Why the ledger could not open on this Node, in words with the fix; undefined when a driver is there.
 * Cheap (no file is opened), for `doctor`.
 */
export function sqliteProblem(): string | undefined {
  if (builtinSqlite()) return undefined;
  try {
    new (loadBetterSqlite())(':memory:').close();
    return undefined;
  } catch (err) {
    const e = isNativeLoadError(err) ? noDriver(err, 'its native part does not load on this Node') : err;
    return e instanceof AppError ? `${e.message} ${e.hint ?? ''}`.trim() : String(err);
  }
}

/** Opens (creating if needed) a database file with a busy timeout so concurrent processes wait, not fail. */
export function openDatabase(
  file: string,
  busyTimeoutMs: number,
  prefer?: 'node:sqlite' | 'better-sqlite3',
): SqlDatabase {
  const builtin = prefer === 'better-sqlite3' ? undefined : builtinSqlite();
  if (builtin) {
    const db = new builtin.DatabaseSync(file, { timeout: busyTimeoutMs });
    db.exec(`PRAGMA busy_timeout = ${Math.floor(busyTimeoutMs)}`);
    return {
      driver: 'node:sqlite',
      exec: (sql) => db.exec(sql),
      prepare: statementCache((sql) => db.prepare(sql)),
      immediate(fn) {
        db.exec('BEGIN IMMEDIATE');
        try {
          const out = fn();
          db.exec('COMMIT');
          return out;
        } catch (err) {
          db.exec('ROLLBACK');
          throw err;
        }
      },
      close: () => db.close(),
    };
  }
  const Better = loadBetterSqlite();
  let db: InstanceType<typeof Better>;
  try {
    db = new Better(file, { timeout: busyTimeoutMs });
  } catch (err) {
    // Its JS loads anywhere; its native part only on the Node it was built for.
    if (isNativeLoadError(err)) throw noDriver(err, 'its native part does not load on this Node');
    throw err;
  }
  db.pragma(`busy_timeout = ${Math.floor(busyTimeoutMs)}`);
  return {
    driver: 'better-sqlite3',
    exec: (sql) => {
      db.exec(sql);
    },
    prepare: statementCache((sql) => db.prepare(sql) as unknown as SqlStatement),
    immediate: (fn) => db.transaction(fn).immediate(),
    close: () => db.close(),
  };
}

/** Whether `err` is SQLite's "database is locked" (SQLITE_BUSY and its extended codes), from either driver. */
export function isBusy(err: unknown): boolean {
  const e = err as { code?: unknown; errcode?: unknown; message?: unknown } | undefined;
  if (typeof e?.code === 'string' && e.code.startsWith('SQLITE_BUSY')) return true;
  if (typeof e?.errcode === 'number' && (e.errcode & 0xff) === 5) return true;
  return typeof e?.message === 'string' && /database is locked/i.test(e.message);
}

/**
 * Runs `fn` (idempotent), retrying while SQLite answers busy, for up to `budgetMs`. Needed on open: a
 * journal-mode switch or schema read on a file another process is creating at the same moment can
 * answer SQLITE_BUSY at once, without waiting on the busy timeout (SQLite does not wait where waiting
 * could deadlock). Synchronous like the drivers: the open happens once, before any other work.
 */
export function retryWhileBusy<T>(fn: () => T, budgetMs: number): T {
  const until = Date.now() + budgetMs;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let attempt = 0; ; attempt++) {
    try {
      return fn();
    } catch (err) {
      if (!isBusy(err) || Date.now() >= until) throw err;
      // Jittered backoff (2 ms doubling to 100 ms) so the racing processes do not retry in step.
      const ms = Math.min(100, 2 * 2 ** attempt) * (0.5 + Math.random());
      Atomics.wait(pause, 0, 0, ms);
    }
  }
}
