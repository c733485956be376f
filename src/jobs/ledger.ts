/**
 * The embedded ledger backend: SQLite in WAL mode, shared by every process on the machine. The ledger's
 * logic is ledger-core.ts (one for both backends); this file opens the file, runs the migrations
 * (migrations.ts) and watches other processes' commits.
 *
 * The concurrency primitive: every claim and every compare-and-set runs inside BEGIN IMMEDIATE
 * (`SqlDatabase.immediate`), which takes the file's one write lock before the first read, across
 * processes, so one fingerprint yields one paid create. The drivers are synchronous and the steps run
 * to the end inside it (`driveSync`): no event-loop turn, so nothing else in this process interleaves.
 */
import { type FSWatcher, mkdirSync, watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import { HASHES_SCHEMA, type HashStore, hashStore } from './hash-store.js';
import { pageStatement, SqlLedger } from './ledger-core.js';
import { type Dialect, driveSync, type Executor, type Row, type Stmt } from './ledger-sql.js';
import { CHANGES_KEPT, stepsOf } from './migrations.js';
import { openDatabase, retryWhileBusy, type SqlDatabase } from './sqlite.js';
import type { ListOptions, PageKey } from './store.js';

export type {
  ClaimDecision,
  ClaimOptions,
  CostRow,
  LedgerStore,
  ListOptions,
  NewTask,
  PageKey,
  Phase,
  RowStatus,
  SpendTotal,
  TaskPatch,
  TaskRow,
} from './store.js';

const SQLITE: Dialect = {
  seq: 'rowid',
  live: (t = '') => `${t}rejected = 0`,
  likeNoCase: 'LIKE',
  // A range on the index's first column, then the tie-break on the rowid it carries.
  before: (k) => ({
    sql: 'created_at <= ? AND (created_at < ? OR rowid < ?)',
    args: [k.createdAt, k.createdAt, k.rowid],
  }),
  spendLock: undefined, // BEGIN IMMEDIATE: claims already run one at a time
};

/** The statement behind `page` (exported for the query-plan test). */
export function pageQuery(opts: ListOptions & { after?: PageKey }): Stmt {
  return pageStatement(SQLITE, opts);
}

/** Runs steps on `db`: reads outside a transaction, claims and compare-and-sets inside BEGIN IMMEDIATE. */
function executor(db: SqlDatabase): Executor {
  const rows = (s: Stmt): Row[] => {
    const st = db.prepare(s.sql);
    if (st.reader === false) {
      st.run(...s.args);
      return [];
    }
    return st.all(...s.args) as Row[];
  };
  return {
    run: async (steps) => driveSync(steps, rows),
    write: async (steps) => db.immediate(() => driveSync(steps, rows)),
    claim: async (_fingerprint, steps) => db.immediate(() => driveSync(steps, rows)),
  };
}

/**
 * This connection's own entries in `task_changes` (a TEMP trigger fires for this connection's writes
 * only), so that a watcher skips them; as bounded as the log itself.
 */
const OWN_CHANGES = `
CREATE TEMP TABLE IF NOT EXISTS own_changes (seq INTEGER PRIMARY KEY);
CREATE TEMP TRIGGER IF NOT EXISTS own_changes_log AFTER INSERT ON main.task_changes BEGIN
  INSERT INTO own_changes (seq) VALUES (NEW.seq);
  DELETE FROM own_changes WHERE seq <= NEW.seq - ${CHANGES_KEPT};
END;
`;

/** How the SQLite ledger notices other processes' commits (see `watch`). */
export interface WatchTiming {
  /** Quiet time after a file event before the check (ms). */
  debounceMs?: number;
  /** A check this often even without file events (ms; 0 = never): some file systems send none. */
  safetyMs?: number;
}

/** The steps of migrations.ts a file lacks, inside one writer transaction (each runs once). */
function migrate(db: SqlDatabase): void {
  const steps = stepsOf('sqlite');
  const latest = steps[steps.length - 1]!.version;
  const version = () =>
    Number((db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version);
  if (version() >= latest) return;
  db.immediate(() => {
    const v = version();
    for (const step of steps) {
      if (step.version <= v) continue;
      if (!step.unless || !db.prepare(step.unless).get()) db.exec(step.sql);
    }
    if (v < latest) db.exec(`PRAGMA user_version = ${latest}`);
  });
}

export class Ledger extends SqlLedger {
  readonly backend = 'sqlite' as const;
  private readonly db: SqlDatabase;
  private readonly file: string;
  private readonly timing: WatchTiming;

  /** `driver` forces one SQLite driver (tests run both); by default the runtime's built-in one if any. */
  constructor(file: string, driver?: 'node:sqlite' | 'better-sqlite3', timing: WatchTiming = {}) {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    // The busy timeout is set on open: switching to WAL takes a lock another process may hold right now.
    const db = openDatabase(file, 10_000, driver);
    // Processes opening a new file together can still get SQLITE_BUSY at once (no busy wait where
    // SQLite sees a possible deadlock): every step here is idempotent, so it is retried.
    retryWhileBusy(() => {
      db.exec('PRAGMA journal_mode = WAL');
      db.exec('PRAGMA synchronous = NORMAL');
      migrate(db);
      db.exec(HASHES_SCHEMA);
    }, 10_000);
    super(SQLITE, executor(db));
    this.db = db;
    this.file = file;
    this.timing = timing;
  }

  describe(): string {
    return `SQLite ${this.file}`;
  }

  async close(): Promise<void> {
    this.closeSync();
  }

  closeSync(): void {
    for (const stop of this.watchers) stop();
    this.db.close();
  }

  /** Input hashes by file identity, kept across processes (hash-store.ts). Machine-local, synchronous. */
  hashCache(maxRows?: number): HashStore {
    return hashStore(this.db, maxRows);
  }

  // --- Change feed and browsing (MCP resources): read-only, additive. ---

  /**
   * SQLite's `data_version`: changes when another connection (another process) commits to the file.
   * Cheap; the watcher checks it on file-system events instead of polling rows.
   */
  dataVersion(): number {
    const r = this.db.prepare('PRAGMA data_version').get() as { data_version: number | bigint };
    return Number(r.data_version);
  }

  private readonly watchers = new Set<() => void>();

  /**
   * Other processes' commits: a watch on the ledger's folder (its `-wal` changes on every commit),
   * debounced, then `data_version`; plus a slow safety check for file systems without events.
   */
  watch(listener: (taskId?: string) => void): () => void {
    if (this.file === ':memory:') return () => undefined;
    this.db.exec(OWN_CHANGES);
    let version = this.dataVersion();
    let seen = this.lastChange();
    let debounce: NodeJS.Timeout | undefined;
    let watcher: FSWatcher | undefined;
    const check = () => {
      let changed: { seq: number; ids: string[] | undefined };
      try {
        const v = this.dataVersion();
        if (v === version) return;
        version = v;
        changed = this.changesSince(seen);
      } catch {
        return; // closing
      }
      seen = changed.seq;
      if (!changed.ids) listener();
      else for (const id of changed.ids) listener(id);
    };
    const name = basename(this.file);
    try {
      watcher = watch(dirname(this.file), { persistent: false }, (_event, changed) => {
        if (changed && !String(changed).startsWith(name)) return;
        clearTimeout(debounce);
        debounce = setTimeout(check, this.timing.debounceMs ?? 40);
      });
      watcher.on('error', () => undefined);
    } catch {
      // No file events here (some network file systems): the safety check below still notices.
    }
    const safetyMs = this.timing.safetyMs ?? 5000;
    const safety = safetyMs > 0 ? setInterval(check, safetyMs) : undefined;
    safety?.unref();
    const stop = () => {
      this.watchers.delete(stop);
      watcher?.close();
      clearTimeout(debounce);
      clearInterval(safety);
    };
    this.watchers.add(stop);
    return stop;
  }

  private lastChange(): number {
    const r = this.db.prepare('SELECT max(seq) AS seq FROM task_changes').get() as { seq: number | null };
    return Number(r.seq ?? 0);
  }

  /**
   * The ids of tasks changed after log entry `after` (each once), and the newest entry; `ids` is
   * undefined when entries were dropped meanwhile (the watcher fell more than CHANGES_KEPT behind).
   */
  private changesSince(after: number): { seq: number; ids: string[] | undefined } {
    const rows = this.db
      .prepare(
        `SELECT c.seq, c.task_id, o.seq IS NOT NULL AS own FROM task_changes c
         LEFT JOIN temp.own_changes o ON o.seq = c.seq WHERE c.seq > ? ORDER BY c.seq LIMIT ?`,
      )
      .all(after, CHANGES_KEPT + 1) as { seq: number | bigint; task_id: string; own: number | bigint }[];
    const first = rows[0];
    if (!first) return { seq: after, ids: [] };
    const last = Number(rows[rows.length - 1]!.seq);
    // Entries are numbered without gaps (one writer at a time; only the oldest are ever deleted).
    const lost = Number(first.seq) !== after + 1 || rows.length > CHANGES_KEPT;
    // This process's own writes are not news: the job core told its listeners already.
    const ids = new Set(rows.filter((r) => !Number(r.own)).map((r) => r.task_id));
    return { seq: last, ids: lost ? undefined : [...ids] };
  }
}
