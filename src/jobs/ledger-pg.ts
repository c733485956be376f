/**
 * The task ledger on PostgreSQL (`LIPSYNC_DATABASE_URL`): several instances, on several machines, share
 * it with the semantics of the SQLite ledger (ledger.ts), statement for statement; store.ts says what
 * both promise. Where SQLite has one writer at a time (IMMEDIATE transactions), this ledger serialises
 * only what must be: claims of one fingerprint (an advisory lock keyed by the fingerprint), and claims
 * that check a spend cap (one more advisory lock). Input hashes stay in each machine's SQLite file.
 */
import { AppError, type UserError } from '../errors.js';
import type { JsonObject, ProviderName, Snapshot, TaskKind } from '../providers/provider.js';
import { insertEstimate, PgCostBook, totalsSince } from './ledger-pg-costs.js';
import { describeTarget, LOCK_SPACE, LOCK_SPEND, PgDb, type PgOptions, pgTarget } from './pg-db.js';
import { migrate, TASKS_CHANNEL } from './pg-migrations.js';
import { PgChangeFeed } from './pg-watch.js';
import type {
  ClaimDecision,
  ClaimOptions,
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

interface RawRow {
  id: string;
  seq: number;
  fingerprint: string;
  provider: string;
  kind: string;
  status: string;
  phase: string | null;
  rejected: boolean;
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

const LATEST =
  'SELECT * FROM tasks WHERE fingerprint = $1 AND NOT rejected ORDER BY created_at DESC, seq DESC LIMIT 1';

export class PgLedger implements LedgerStore {
  readonly backend = 'postgres' as const;
  readonly spend: PgCostBook;
  private readonly feed: PgChangeFeed;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly db: PgDb,
    opts: PgOptions,
  ) {
    this.spend = new PgCostBook(db);
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

  /**
   * Reuse-before-create, atomically (ledger.ts `claim`, rule for rule). One READ COMMITTED transaction:
   * its first statement waits for the fingerprint's advisory lock, held until COMMIT or ROLLBACK, so
   * claims of one fingerprint run one after another on every instance, also while no row exists yet
   * (where a row lock would have nothing to lock). Each later statement takes a fresh snapshot, so it
   * sees what the previous holder committed (REPEATABLE READ would keep the snapshot taken before the
   * wait and miss it); nothing stricter is needed, as every write here happens under the lock.
   */
  claim(task: NewTask, opts: ClaimOptions): Promise<ClaimDecision> {
    return this.db.tx(async (c): Promise<ClaimDecision> => {
      await c.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [task.fingerprint]);
      const [latest] = (await c.query<RawRow>(LATEST, [task.fingerprint])).rows;
      if (latest) {
        const row = toRow(latest);
        if (row.status === 'submitting') {
          // A claim whose owner is known dead is taken over at once, lease or not.
          if (!opts.isOwnerAlive(row)) {
            // Conditional, like `takeOver`: a recovery pass elsewhere does not take the fingerprint's
            // lock, and may have taken the claim over since it was read; then it is that owner's.
            const { rows } = await c.query<RawRow>(
              `UPDATE tasks SET owner_pid = $1, owner_host = $2, lease_until = $3, updated_at = $4
               WHERE id = $5 AND status = 'submitting' AND owner_pid IS NOT DISTINCT FROM $6
               AND owner_host IS NOT DISTINCT FROM $7 RETURNING *`,
              [task.ownerPid, task.ownerHost, task.leaseUntil, task.now, row.id, row.ownerPid, row.ownerHost],
            );
            if (rows[0]) return { kind: 'taken_over', row: toRow(rows[0]) };
            const [now] = (await c.query<RawRow>('SELECT * FROM tasks WHERE id = $1', [row.id])).rows;
            return { kind: 'reused', row: now ? toRow(now) : row };
          }
          return { kind: 'reused', row };
        }
        if (!claimReplaces(row, opts)) return { kind: 'reused', row };
      }
      if (opts.guard) {
        // Claims that check a cap run one at a time (after their fingerprint lock: always in that
        // order, so no deadlock), each reading the totals its predecessors committed.
        await c.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_SPACE, LOCK_SPEND]);
        const { since, principal } = opts.guard;
        const own = principal === undefined ? undefined : await totalsSince(c, since, principal);
        opts.guard.check(await totalsSince(c, since), own);
      }
      const { rows } = await c.query<RawRow>(
        `INSERT INTO tasks (id, fingerprint, provider, kind, status, phase, request, warnings, owner_pid, owner_host, lease_until, created_at, updated_at, principal)
         VALUES ($1, $2, $3, $4, 'submitting', 'preparing', $5, $6, $7, $8, $9, $10, $10, $11) RETURNING *`,
        [
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
          task.principal ?? null,
        ],
      );
      if (opts.cost) await insertEstimate(c, task.id, task.provider, opts.cost, task.now);
      return { kind: 'created', row: toRow(rows[0]!) };
    });
  }

  /** Compare-and-set: of concurrent callers, the first UPDATE wins; the others re-check the row and miss. */
  async takeOver(
    id: string,
    expected: { pid: number | null; host: string | null },
    owner: { pid: number; host: string; leaseUntil: number },
    now: number,
  ): Promise<TaskRow | undefined> {
    const [raw] = await this.db.query<RawRow>(
      `UPDATE tasks SET owner_pid = $4, owner_host = $5, lease_until = $6, updated_at = $7
       WHERE id = $1 AND status = 'submitting' AND owner_pid IS NOT DISTINCT FROM $2 AND owner_host IS NOT DISTINCT FROM $3
       RETURNING *`,
      [id, expected.pid, expected.host, owner.pid, owner.host, owner.leaseUntil, now],
    );
    return raw ? toRow(raw) : undefined;
  }

  async markSent(
    id: string,
    owner: { pid: number; host: string },
    now: number,
  ): Promise<TaskRow | undefined> {
    const [raw] = await this.db.query<RawRow>(
      `UPDATE tasks SET phase = 'sent', updated_at = $2
       WHERE id = $1 AND status = 'submitting' AND owner_pid = $3 AND (owner_host = $4 OR owner_host IS NULL)
       RETURNING *`,
      [id, now, owner.pid, owner.host],
    );
    return raw ? toRow(raw) : undefined;
  }

  async get(id: string): Promise<TaskRow | undefined> {
    const [raw] = await this.db.query<RawRow>('SELECT * FROM tasks WHERE id = $1', [id]);
    return raw ? toRow(raw) : undefined;
  }

  async latest(fingerprint: string): Promise<TaskRow | undefined> {
    const [raw] = await this.db.query<RawRow>(LATEST, [fingerprint]);
    return raw ? toRow(raw) : undefined;
  }

  async providerTaskIds(fingerprint: string): Promise<string[]> {
    const rows = await this.db.query<{ id: string }>(
      'SELECT DISTINCT provider_task_id AS id FROM tasks WHERE fingerprint = $1 AND provider_task_id IS NOT NULL',
      [fingerprint],
    );
    return rows.map((r) => r.id);
  }

  async findByProviderTaskId(provider: string, providerTaskId: string): Promise<TaskRow | undefined> {
    const [raw] = await this.db.query<RawRow>(
      'SELECT * FROM tasks WHERE provider = $1 AND provider_task_id = $2 ORDER BY created_at DESC, seq DESC LIMIT 1',
      [provider, providerTaskId],
    );
    return raw ? toRow(raw) : undefined;
  }

  async page(opts: ListOptions & { after?: PageKey }): Promise<{ rows: TaskRow[]; next?: PageKey }> {
    const q = pgPageQuery(opts);
    const raws = await this.db.query<RawRow>(q.sql, q.args);
    const more = raws.length > opts.limit;
    const kept = raws.slice(0, opts.limit);
    const last = kept[kept.length - 1];
    return {
      rows: kept.map(toRow),
      next: more && last ? { createdAt: Number(last.created_at), rowid: Number(last.seq) } : undefined,
    };
  }

  async unfinished(): Promise<TaskRow[]> {
    const rows = await this.db.query<RawRow>(
      "SELECT * FROM tasks WHERE NOT rejected AND status NOT IN ('success', 'failed') ORDER BY created_at, seq",
    );
    return rows.map(toRow);
  }

  async update(id: string, patch: TaskPatch, now: number): Promise<TaskRow> {
    const sets: string[] = [];
    const args: unknown[] = [];
    const set = (col: string, v: unknown) => sets.push(`${col} = $${args.push(v === undefined ? null : v)}`);
    for (const [k, v] of Object.entries(patch)) {
      const col = TASK_COLUMNS[k as keyof typeof TASK_COLUMNS];
      if (!col) continue;
      set(col.name, col.json ? (v === null || v === undefined ? null : JSON.stringify(v)) : v);
    }
    set('updated_at', now);
    const [raw] = await this.db.query<RawRow>(
      `UPDATE tasks SET ${sets.join(', ')} WHERE id = $${args.push(id)} RETURNING *`,
      args,
    );
    if (!raw)
      throw new AppError('not_found', `Task ${id} is not in the ledger.`, { details: { task_id: id } });
    return toRow(raw);
  }

  async uploadLookup(
    provider: string,
    scope: string,
    sha256: string,
    size: number,
  ): Promise<{ url: string; meta: JsonObject | null } | undefined> {
    const [r] = await this.db.query<{ url: string; meta: string | null }>(
      'SELECT url, meta FROM uploads WHERE provider = $1 AND scope = $2 AND sha256 = $3 AND size = $4',
      [provider, scope, sha256, size],
    );
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
    await this.db.query(
      `INSERT INTO uploads (provider, scope, sha256, size, url, meta, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (provider, scope, sha256, size) DO UPDATE SET url = EXCLUDED.url, meta = EXCLUDED.meta, created_at = EXCLUDED.created_at`,
      [provider, scope, sha256, size, url, meta ? JSON.stringify(meta) : null, now],
    );
  }

  async recordDownload(
    taskId: string,
    path: string,
    sha256: string,
    size: number,
    now: number,
  ): Promise<void> {
    await this.db.query(
      `INSERT INTO downloads (task_id, path, sha256, size, created_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (task_id, path) DO UPDATE SET sha256 = EXCLUDED.sha256, size = EXCLUDED.size, created_at = EXCLUDED.created_at`,
      [taskId, path, sha256, size, now],
    );
  }

  /** ILIKE: SQLite's LIKE ignores ASCII case, and task ids are ASCII. */
  async idsStartingWith(
    prefix: string,
    limit: number,
    principal?: string | null,
  ): Promise<{ ids: string[]; total: number }> {
    if (prefix.length > MAX_PREFIX) return { ids: [], total: 0 };
    const pattern = `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    const mine = principal === undefined ? '' : ' AND principal IS NOT DISTINCT FROM $3';
    const where = `NOT rejected AND id ILIKE $1 ESCAPE '\\'${mine}`;
    const extra = principal === undefined ? [] : [principal];
    const rows = await this.db.query<{ id: string }>(
      `SELECT id FROM tasks WHERE ${where} ORDER BY created_at DESC, seq DESC LIMIT $2`,
      [pattern, limit, ...extra],
    );
    if (rows.length < limit) return { ids: rows.map((r) => r.id), total: rows.length };
    const countWhere = where.replace('$3', '$2');
    const [n] = await this.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM tasks WHERE ${countWhere}`,
      [pattern, ...extra],
    );
    return { ids: rows.map((r) => r.id), total: n?.n ?? rows.length };
  }

  /** Every task insert or update, by any instance (this one too), arrives with its id. */
  watch(listener: (taskId?: string) => void): () => void {
    return this.feed.add(listener);
  }
}

/** The statement behind `page` (exported for the query-plan test): one row more than `limit`. */
export function pgPageQuery(opts: ListOptions & { after?: PageKey }): {
  sql: string;
  args: (string | number | null)[];
} {
  const where: string[] = ['NOT rejected'];
  const args: (string | number | null)[] = [];
  const arg = (v: string | number | null) => `$${args.push(v)}`;
  // `=` and `IS NULL` (not IS NOT DISTINCT FROM): both can walk tasks_page_principal.
  if (opts.principal === null) where.push('principal IS NULL');
  else if (opts.principal !== undefined) where.push(`principal = ${arg(opts.principal)}`);
  if (opts.unfinishedOnly) where.push("status NOT IN ('success', 'failed')");
  if (opts.provider) where.push(`provider = ${arg(opts.provider)}`);
  if (opts.after) where.push(`(created_at, seq) < (${arg(opts.after.createdAt)}, ${arg(opts.after.rowid)})`);
  return {
    sql: `SELECT * FROM tasks WHERE ${where.join(' AND ')} ORDER BY created_at DESC, seq DESC LIMIT ${arg(opts.limit + 1)}`,
    args,
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
    rejected: r.rejected,
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
    ownerHost: r.owner_host,
    leaseUntil: r.lease_until,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    completedAt: r.completed_at,
    principal: r.principal ?? null,
  };
}
