/**
 * The durable task ledger (SQLite, WAL). Every process on the machine shares it; claims are made in
 * IMMEDIATE transactions so that one fingerprint yields one paid create across processes.
 *
 * Row states: `submitting` (claimed; `phase` says whether the paid request may have left: `preparing`
 * = not yet, `sent` = maybe) -> `pending | processing` -> `success | failed`, or `unknown` (sent, answer
 * lost). `rejected = 1` marks a claim whose paid request provably never created anything; such rows
 * are history only and never reused.
 */
import { type FSWatcher, mkdirSync, watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { UserError } from '../errors.js';
import type { JsonObject, ProviderName, Snapshot, TaskKind } from '../providers/provider.js';
import { HASHES_SCHEMA, type HashStore, hashStore } from './hash-store.js';
import { CostBook } from './ledger-costs.js';
import { openDatabase, retryWhileBusy, type SqlDatabase, type SqlValue } from './sqlite.js';
import type {
  ClaimDecision,
  ClaimOptions,
  CostStore,
  LedgerStore,
  ListOptions,
  NewTask,
  PageKey,
  Phase,
  RowStatus,
  TaskPatch,
  TaskRow,
} from './store.js';
import { claimReplaces, MAX_PREFIX, TASK_COLUMNS } from './store.js';

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

interface RawRow {
  id: string;
  fingerprint: string;
  provider: string;
  kind: string;
  status: string;
  phase: string | null;
  rejected: number;
  provider_task_id: string | null;
  request: string;
  prepared: string | null;
  operation: string | null;
  snapshot: string | null;
  warnings: string | null;
  error: string | null;
  provider_status: string | null;
  unchanged_polls: number;
  polls: number;
  owner_pid: number | null;
  owner_host: string | null;
  lease_until: number | null;
  created_at: number;
  updated_at: number;
  completed_at: number | null;
  principal?: string | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS tasks (
  id TEXT PRIMARY KEY,
  fingerprint TEXT NOT NULL,
  provider TEXT NOT NULL,
  kind TEXT NOT NULL,
  status TEXT NOT NULL,
  phase TEXT,
  rejected INTEGER NOT NULL DEFAULT 0,
  provider_task_id TEXT,
  request TEXT NOT NULL,
  prepared TEXT,
  operation TEXT,
  snapshot TEXT,
  warnings TEXT,
  error TEXT,
  provider_status TEXT,
  unchanged_polls INTEGER NOT NULL DEFAULT 0,
  polls INTEGER NOT NULL DEFAULT 0,
  owner_pid INTEGER,
  owner_host TEXT,
  lease_until INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  completed_at INTEGER
);
CREATE INDEX IF NOT EXISTS tasks_fp ON tasks(fingerprint, created_at);
CREATE INDEX IF NOT EXISTS tasks_status ON tasks(status);
CREATE INDEX IF NOT EXISTS tasks_ptid ON tasks(provider, provider_task_id);
CREATE TABLE IF NOT EXISTS uploads (
  provider TEXT NOT NULL,
  scope TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  size INTEGER NOT NULL,
  url TEXT NOT NULL,
  meta TEXT,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (provider, scope, sha256, size)
);
CREATE TABLE IF NOT EXISTS downloads (
  task_id TEXT NOT NULL,
  path TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  size INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (task_id, path)
);
`;

const SCHEMA_VERSION = 4;

/** v4 (issue 29): who created each task (null: the local principal), and its own listing index. */
const V4 = `
ALTER TABLE tasks ADD COLUMN principal TEXT;
CREATE INDEX IF NOT EXISTS tasks_page_principal ON tasks(principal, created_at) WHERE rejected = 0;
`;

/** How many task changes `task_changes` keeps: a watcher further behind re-reads what it watches. */
const CHANGES_KEPT = 4096;

/**
 * v3. Pages read along an index in order (`pageQuery`): all tasks, one provider's, unfinished ones.
 * Completion counts ids by prefix on a case-blind index (LIKE ignores ASCII case). Every insert or
 * update of a task logs its id in `task_changes` (a trigger: no write path can forget, and older
 * processes on the same file log too), so that a watcher in another process reads which tasks changed
 * instead of re-reading every task it watches; the log keeps the last CHANGES_KEPT entries.
 */
const V3 = `
CREATE INDEX IF NOT EXISTS tasks_page ON tasks(created_at) WHERE rejected = 0;
CREATE INDEX IF NOT EXISTS tasks_page_provider ON tasks(provider, created_at) WHERE rejected = 0;
CREATE INDEX IF NOT EXISTS tasks_unfinished ON tasks(created_at)
  WHERE rejected = 0 AND status NOT IN ('success', 'failed');
CREATE INDEX IF NOT EXISTS tasks_id_nocase ON tasks(id COLLATE NOCASE) WHERE rejected = 0;
CREATE TABLE IF NOT EXISTS task_changes (seq INTEGER PRIMARY KEY, task_id TEXT NOT NULL);
CREATE TRIGGER IF NOT EXISTS tasks_log_insert AFTER INSERT ON tasks
  BEGIN INSERT INTO task_changes (task_id) VALUES (NEW.id); END;
CREATE TRIGGER IF NOT EXISTS tasks_log_update AFTER UPDATE ON tasks
  BEGIN INSERT INTO task_changes (task_id) VALUES (NEW.id); END;
CREATE TRIGGER IF NOT EXISTS task_changes_bound AFTER INSERT ON task_changes
  BEGIN DELETE FROM task_changes WHERE seq <= NEW.seq - ${CHANGES_KEPT}; END;
`;

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

/**
 * The embedded backend: SQLite in WAL mode, shared by every process on the machine. Its drivers are
 * synchronous; the `LedgerStore` methods answer from those calls (a rejected promise on error).
 */
export class Ledger implements LedgerStore {
  readonly backend = 'sqlite' as const;
  private readonly db: SqlDatabase;
  /** What each task cost (spend caps and reports), synchronously (inside claims, and tests). */
  readonly costs: CostBook;
  readonly spend: CostStore;

  /** `driver` forces one SQLite driver (tests run both); by default the runtime's built-in one if any. */
  constructor(
    private readonly file: string,
    driver?: 'node:sqlite' | 'better-sqlite3',
    private readonly timing: WatchTiming = {},
  ) {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    // The busy timeout is set on open: switching to WAL takes a lock another process may hold right now.
    this.db = openDatabase(file, 10_000, driver);
    // Processes opening a new file together can still get SQLITE_BUSY at once (no busy wait where
    // SQLite sees a possible deadlock): every step here is idempotent, so it is retried.
    retryWhileBusy(() => this.init(), 10_000);
    this.costs = retryWhileBusy(() => new CostBook(this.db), 10_000);
    this.spend = asyncCosts(this.costs);
  }

  private init(): void {
    this.db.exec('PRAGMA journal_mode = WAL');
    this.db.exec('PRAGMA synchronous = NORMAL');
    this.db.exec(SCHEMA);
    this.migrate();
    this.db.exec(HASHES_SCHEMA);
  }

  describe(): string {
    return `SQLite ${this.file}`;
  }

  /** Schema versions after the first: each step runs once, inside one writer transaction. */
  private migrate(): void {
    const version = () =>
      Number((this.db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version);
    if (version() >= SCHEMA_VERSION) return;
    this.db.immediate(() => {
      const v = version();
      if (v >= SCHEMA_VERSION) return;
      const cols = this.db.prepare('PRAGMA table_info(tasks)').all() as { name: string }[];
      // v2: the owner's host, so that a pid is only ever compared on its own machine.
      if (!cols.some((c) => c.name === 'owner_host'))
        this.db.exec('ALTER TABLE tasks ADD COLUMN owner_host TEXT');
      // v3: listing indexes (keyset pages in order, no sort) and the change log of task ids.
      if (v < 3) this.db.exec(V3);
      if (!cols.some((c) => c.name === 'principal')) this.db.exec(V4);
      this.db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
    });
  }

  async close(): Promise<void> {
    this.closeSync();
  }

  closeSync(): void {
    for (const stop of this.watchers) stop();
    this.db.close();
  }

  /**
   * Reuse-before-create, atomically: the latest non-rejected row with this fingerprint is reused unless
   * `force` and it is terminal or unknown; a `submitting` row whose owner is gone is taken over.
   */
  async claim(task: NewTask, opts: ClaimOptions): Promise<ClaimDecision> {
    return this.claimSync(task, opts);
  }

  claimSync(task: NewTask, opts: ClaimOptions): ClaimDecision {
    return this.db.immediate((): ClaimDecision => {
      const latest = this.latestSync(task.fingerprint);
      if (latest) {
        const row = latest;
        if (row.status === 'submitting') {
          // A claim whose owner is known dead is taken over at once, lease or not.
          if (!opts.isOwnerAlive(row)) {
            this.db
              .prepare(
                'UPDATE tasks SET owner_pid = ?, owner_host = ?, lease_until = ?, updated_at = ? WHERE id = ?',
              )
              .run(task.ownerPid, task.ownerHost, task.leaseUntil, task.now, row.id);
            return { kind: 'taken_over', row: this.getSync(row.id)! };
          }
          return { kind: 'reused', row };
        }
        if (!claimReplaces(row, opts)) return { kind: 'reused', row };
      }
      if (opts.guard) {
        const { since, principal } = opts.guard;
        const own = principal === undefined ? undefined : this.costs.totalsSince(since, principal);
        opts.guard.check(this.costs.totalsSince(since), own);
      }
      this.db
        .prepare(
          `INSERT INTO tasks (id, fingerprint, provider, kind, status, phase, request, warnings, owner_pid, owner_host, lease_until, created_at, updated_at, principal)
           VALUES (?, ?, ?, ?, 'submitting', 'preparing', ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          task.id,
          task.fingerprint,
          task.provider,
          task.kind,
          JSON.stringify(task.request),
          JSON.stringify(task.warnings),
          task.ownerPid,
          task.ownerHost,
          task.leaseUntil,
          task.now,
          task.now,
          task.principal ?? null,
        );
      if (opts.cost) this.costs.insertEstimate(task.id, task.provider, opts.cost, task.now);
      return { kind: 'created', row: this.getSync(task.id)! };
    });
  }

  async takeOver(
    id: string,
    expected: { pid: number | null; host: string | null },
    owner: { pid: number; host: string; leaseUntil: number },
    now: number,
  ): Promise<TaskRow | undefined> {
    return this.db.immediate(() => {
      const r = this.db
        .prepare(
          `UPDATE tasks SET owner_pid = ?, owner_host = ?, lease_until = ?, updated_at = ?
           WHERE id = ? AND status = 'submitting' AND owner_pid IS ? AND owner_host IS ?`,
        )
        .run(owner.pid, owner.host, owner.leaseUntil, now, id, expected.pid, expected.host) as {
        changes: number | bigint;
      };
      return Number(r.changes) === 1 ? this.getSync(id) : undefined;
    });
  }

  async markSent(
    id: string,
    owner: { pid: number; host: string },
    now: number,
  ): Promise<TaskRow | undefined> {
    return this.db.immediate(() => {
      const r = this.db
        .prepare(
          `UPDATE tasks SET phase = 'sent', updated_at = ?
           WHERE id = ? AND status = 'submitting' AND owner_pid IS ? AND (owner_host IS ? OR owner_host IS NULL)`,
        )
        .run(now, id, owner.pid, owner.host) as { changes: number | bigint };
      return Number(r.changes) === 1 ? this.getSync(id) : undefined;
    });
  }

  async get(id: string): Promise<TaskRow | undefined> {
    return this.getSync(id);
  }

  getSync(id: string): TaskRow | undefined {
    const raw = this.db.prepare('SELECT * FROM tasks WHERE id = ?').get(id) as RawRow | undefined;
    return raw ? toRow(raw) : undefined;
  }

  /** The newest non-rejected task with this fingerprint (a read-only preview of what a claim would reuse). */
  async latest(fingerprint: string): Promise<TaskRow | undefined> {
    return this.latestSync(fingerprint);
  }

  private latestSync(fingerprint: string): TaskRow | undefined {
    const raw = this.db
      .prepare(
        'SELECT * FROM tasks WHERE fingerprint = ? AND rejected = 0 ORDER BY created_at DESC, rowid DESC LIMIT 1',
      )
      .get(fingerprint) as RawRow | undefined;
    return raw ? toRow(raw) : undefined;
  }

  /** Provider task ids already recorded for this fingerprint (what a forced request replaces). */
  async providerTaskIds(fingerprint: string): Promise<string[]> {
    const rows = this.db
      .prepare(
        'SELECT DISTINCT provider_task_id AS id FROM tasks WHERE fingerprint = ? AND provider_task_id IS NOT NULL',
      )
      .all(fingerprint) as { id: string }[];
    return rows.map((r) => r.id);
  }

  async findByProviderTaskId(provider: string, providerTaskId: string): Promise<TaskRow | undefined> {
    const raw = this.db
      .prepare(
        'SELECT * FROM tasks WHERE provider = ? AND provider_task_id = ? ORDER BY created_at DESC LIMIT 1',
      )
      .get(provider, providerTaskId) as RawRow | undefined;
    return raw ? toRow(raw) : undefined;
  }

  /** Newest first, keyset-paged: `after` is the previous page's `next` (stable under inserts). */
  async page(opts: ListOptions & { after?: PageKey }): Promise<{ rows: TaskRow[]; next?: PageKey }> {
    const q = pageQuery(opts);
    const raws = this.db.prepare(q.sql).all(...q.args) as (RawRow & { row_key: number })[];
    const more = raws.length > opts.limit;
    const kept = raws.slice(0, opts.limit);
    const last = kept[kept.length - 1];
    return {
      rows: kept.map(toRow),
      next: more && last ? { createdAt: last.created_at, rowid: Number(last.row_key) } : undefined,
    };
  }

  /** Rows that a recovery pass must look at: unfinished and not rejected. */
  async unfinished(): Promise<TaskRow[]> {
    const rows = this.db
      .prepare(
        "SELECT * FROM tasks WHERE rejected = 0 AND status NOT IN ('success', 'failed') ORDER BY created_at",
      )
      .all() as RawRow[];
    return rows.map(toRow);
  }

  /** Applies a partial update. JSON columns are serialized here. */
  async update(id: string, patch: TaskPatch, now: number): Promise<TaskRow> {
    return this.updateSync(id, patch, now);
  }

  updateSync(id: string, patch: TaskPatch, now: number): TaskRow {
    const cols: string[] = [];
    const args: SqlValue[] = [];
    const set = (col: string, v: unknown) => {
      cols.push(`${col} = ?`);
      args.push(v === undefined ? null : typeof v === 'boolean' ? (v ? 1 : 0) : (v as SqlValue));
    };
    for (const [k, v] of Object.entries(patch)) {
      const col = TASK_COLUMNS[k as keyof typeof TASK_COLUMNS];
      if (!col) continue;
      set(col.name, col.json ? (v === null || v === undefined ? null : JSON.stringify(v)) : v);
    }
    set('updated_at', now);
    this.db.prepare(`UPDATE tasks SET ${cols.join(', ')} WHERE id = ?`).run(...args, id);
    const row = this.getSync(id);
    if (!row) throw new Error(`task ${id} is not in the ledger`);
    return row;
  }

  async uploadLookup(
    provider: string,
    scope: string,
    sha256: string,
    size: number,
  ): Promise<{ url: string; meta: JsonObject | null } | undefined> {
    const r = this.db
      .prepare('SELECT url, meta FROM uploads WHERE provider = ? AND scope = ? AND sha256 = ? AND size = ?')
      .get(provider, scope, sha256, size) as { url: string; meta: string | null } | undefined;
    return r ? { url: r.url, meta: r.meta ? (JSON.parse(r.meta) as JsonObject) : null } : undefined;
  }

  async uploadStore(
    provider: string,
    scope: string,
    sha256: string,
    size: number,
    url: string,
    meta: JsonObject | undefined,
    now: number,
  ): Promise<void> {
    this.db
      .prepare(
        'INSERT OR REPLACE INTO uploads (provider, scope, sha256, size, url, meta, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      )
      .run(provider, scope, sha256, size, url, meta ? JSON.stringify(meta) : null, now);
  }

  /** Input hashes by file identity, kept across processes (hash-store.ts). Machine-local, synchronous. */
  hashCache(maxRows?: number): HashStore {
    return hashStore(this.db, maxRows);
  }

  async recordDownload(
    taskId: string,
    path: string,
    sha256: string,
    size: number,
    now: number,
  ): Promise<void> {
    this.db
      .prepare(
        'INSERT OR REPLACE INTO downloads (task_id, path, sha256, size, created_at) VALUES (?, ?, ?, ?, ?)',
      )
      .run(taskId, path, sha256, size, now);
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

  /** Task ids starting with `prefix` (ASCII case ignored), newest first, and how many there are (completion). */
  async idsStartingWith(
    prefix: string,
    limit: number,
    principal?: string | null,
  ): Promise<{ ids: string[]; total: number }> {
    // No task id is this long; a longer prefix would only be a pattern SQLite refuses as too complex.
    if (prefix.length > MAX_PREFIX) return { ids: [], total: 0 };
    const pattern = `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    const mine = principal === undefined ? '' : ' AND principal IS ?';
    const where = `rejected = 0 AND id LIKE ? ESCAPE '\\'${mine}`;
    const args: SqlValue[] = principal === undefined ? [pattern] : [pattern, principal];
    const rows = this.db
      .prepare(`SELECT id FROM tasks WHERE ${where} ORDER BY created_at DESC, rowid DESC LIMIT ?`)
      .all(...args, limit) as { id: string }[];
    const total =
      rows.length < limit
        ? rows.length
        : Number(
            (this.db.prepare(`SELECT count(*) AS n FROM tasks WHERE ${where}`).get(...args) as { n: number })
              .n,
          );
    return { ids: rows.map((r) => r.id), total };
  }
}

/** The statement behind `page` (exported for the query-plan test): one row more than `limit`. */
export function pageQuery(opts: ListOptions & { after?: PageKey }): {
  sql: string;
  args: (string | number | null)[];
} {
  const where: string[] = ['rejected = 0'];
  const args: (string | number | null)[] = [];
  if (opts.principal !== undefined) {
    where.push('principal IS ?');
    args.push(opts.principal);
  }
  if (opts.unfinishedOnly) where.push("status NOT IN ('success', 'failed')");
  if (opts.provider) {
    where.push('provider = ?');
    args.push(opts.provider);
  }
  if (opts.after) {
    // A range on the index's first column, then the tie-break on the rowid it carries.
    where.push('created_at <= ? AND (created_at < ? OR rowid < ?)');
    args.push(opts.after.createdAt, opts.after.createdAt, opts.after.rowid);
  }
  args.push(opts.limit + 1);
  return {
    sql: `SELECT rowid AS row_key, * FROM tasks WHERE ${where.join(' AND ')} ORDER BY created_at DESC, rowid DESC LIMIT ?`,
    args,
  };
}

/** The cost book behind the async `CostStore` contract. */
function asyncCosts(book: CostBook): CostStore {
  return {
    record: async (taskId, patch, now) => book.record(taskId, patch, now),
    totalsSince: async (since, principal) => book.totalsSince(since, principal),
    list: async (since, until, taskIds) => book.list(since, until, taskIds),
    markBalanceBefore: async (taskId, balance, at) => book.markBalanceBefore(taskId, balance, at),
    balanceBefore: async (taskId) => book.balanceBefore(taskId),
    othersOverlapping: async (provider, exceptId, from, to) =>
      book.othersOverlapping(provider, exceptId, from, to),
    othersActiveSince: async (provider, exceptId, since) => book.othersActiveSince(provider, exceptId, since),
  };
}

function parse<T>(s: string | null): T | null {
  if (s === null) return null;
  try {
    return JSON.parse(s) as T;
  } catch {
    return null;
  }
}

function toRow(r: RawRow): TaskRow {
  return {
    id: r.id,
    fingerprint: r.fingerprint,
    provider: r.provider as ProviderName,
    kind: r.kind as TaskKind,
    status: r.status as RowStatus,
    phase: r.phase as Phase | null,
    rejected: r.rejected === 1,
    providerTaskId: r.provider_task_id,
    request: parse<JsonObject>(r.request) ?? {},
    prepared: parse<JsonObject>(r.prepared),
    operation: parse<JsonObject>(r.operation),
    snapshot: parse<Snapshot>(r.snapshot),
    warnings: parse<string[]>(r.warnings) ?? [],
    error: parse<UserError>(r.error),
    providerStatus: r.provider_status,
    unchangedPolls: r.unchanged_polls,
    polls: r.polls,
    ownerPid: r.owner_pid,
    ownerHost: r.owner_host ?? null,
    leaseUntil: r.lease_until,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    completedAt: r.completed_at,
    principal: r.principal ?? null,
  };
}
