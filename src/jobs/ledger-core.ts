/**
 * The task ledger's logic, written once for both backends (store.ts says what it promises; the
 * backends are ledger.ts, SQLite, and ledger-pg.ts, PostgreSQL; ledger-sql.ts is the seam).
 *
 * Row states: `submitting` (claimed; `phase` says whether the paid request may have left: `preparing`
 * = not yet, `sent` = maybe) -> `pending | processing` -> `success | failed`, or `unknown` (sent, answer
 * lost). `rejected` marks a claim whose paid request provably never created anything; such rows are
 * history only and never reused. JSON columns are TEXT on both backends, so a row reads back exactly
 * as written; times are epoch milliseconds.
 */
import { AppError, type UserError } from '../errors.js';
import type { JsonObject, ProviderName, Snapshot, TaskKind } from '../providers/provider.js';
import { costStore, insertEstimate, totalsSince } from './ledger-costs.js';
import {
  bool,
  type Dialect,
  type Executor,
  one,
  type Row,
  type SqlArg,
  type Steps,
  type Stmt,
} from './ledger-sql.js';
import { streamStore } from './ledger-streams.js';
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
  StreamStore,
  TaskPatch,
  TaskRow,
} from './store.js';
import { claimReplaces, MAX_PREFIX, TASK_COLUMNS } from './store.js';

const byId = (id: string): Stmt => ({ sql: 'SELECT * FROM tasks WHERE id = ?', args: [id] });

const latest = (d: Dialect, fingerprint: string): Stmt => ({
  sql: `SELECT * FROM tasks WHERE fingerprint = ? AND ${d.live()} ORDER BY created_at DESC, ${d.seq} DESC LIMIT 1`,
  args: [fingerprint],
});

/**
 * The compare-and-set on a claim's owner: the row changes hands only if it is still `submitting` and
 * still owned by `expected`, so of any number of callers exactly one wins a dead owner's claim.
 */
const takeOverStmt = (
  id: string,
  expected: { pid: number | null; host: string | null },
  owner: { pid: number; host: string; leaseUntil: number },
  now: number,
): Stmt => ({
  sql: `UPDATE tasks SET owner_pid = ?, owner_host = ?, lease_until = ?, updated_at = ?
        WHERE id = ? AND status = 'submitting' AND owner_pid IS NOT DISTINCT FROM ?
        AND owner_host IS NOT DISTINCT FROM ? RETURNING *`,
  args: [owner.pid, owner.host, owner.leaseUntil, now, id, expected.pid, expected.host],
});

/**
 * Reuse-before-create: the latest non-rejected row with this fingerprint is reused unless `force` and
 * it is terminal or unknown; a `submitting` row whose owner is gone is taken over. Run by each
 * backend's claim primitive (`Executor.claim`), alone among the claims of this fingerprint.
 */
function* claimSteps(d: Dialect, task: NewTask, opts: ClaimOptions): Steps<ClaimDecision> {
  const [found] = yield latest(d, task.fingerprint);
  if (found) {
    const row = toRow(found);
    if (row.status === 'submitting') {
      // A claim whose owner is known dead is taken over at once, lease or not. Conditional (a recovery
      // pass takes claims over without the fingerprint's lock): if it changed hands since it was read,
      // it is that owner's.
      if (!opts.isOwnerAlive(row)) {
        const expected = { pid: row.ownerPid, host: row.ownerHost };
        const owner = { pid: task.ownerPid, host: task.ownerHost, leaseUntil: task.leaseUntil };
        const [won] = yield takeOverStmt(row.id, expected, owner, task.now);
        if (won) return { kind: 'taken_over', row: toRow(won) };
        const [now] = yield byId(row.id);
        return { kind: 'reused', row: now ? toRow(now) : row };
      }
      return { kind: 'reused', row };
    }
    if (!claimReplaces(row, opts)) return { kind: 'reused', row };
  }
  if (opts.guard) {
    if (d.spendLock) yield d.spendLock;
    const { since, principal } = opts.guard;
    // Per-user caps read the user's own totals in the same transaction as everyone's.
    const own = principal === undefined ? undefined : yield* totalsSince(d, since, principal);
    opts.guard.check(yield* totalsSince(d, since), own);
  }
  const [created] = yield {
    sql: `INSERT INTO tasks (id, fingerprint, provider, kind, status, phase, request, warnings, owner_pid, owner_host, lease_until, created_at, updated_at, principal)
          VALUES (?, ?, ?, ?, 'submitting', 'preparing', ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
    args: [
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
    ],
  };
  if (opts.cost) yield insertEstimate(task.id, task.provider, opts.cost, task.now);
  return { kind: 'created', row: toRow(created!) };
}

/** The statement behind `page`: one row more than `limit`, read along an index in order. */
export function pageStatement(d: Dialect, opts: ListOptions & { after?: PageKey }): Stmt {
  const where: string[] = [d.live()];
  const args: SqlArg[] = [];
  // `=` and `IS NULL` (not IS NOT DISTINCT FROM): both backends walk tasks_page_principal with either.
  if (opts.principal === null) where.push('principal IS NULL');
  else if (opts.principal !== undefined) {
    where.push('principal = ?');
    args.push(opts.principal);
  }
  if (opts.unfinishedOnly) where.push("status NOT IN ('success', 'failed')");
  if (opts.provider) {
    where.push('provider = ?');
    args.push(opts.provider);
  }
  if (opts.after) {
    const bound = d.before(opts.after);
    where.push(bound.sql);
    args.push(...bound.args);
  }
  args.push(opts.limit + 1);
  return {
    sql: `SELECT ${d.seq} AS row_key, * FROM tasks WHERE ${where.join(' AND ')} ORDER BY created_at DESC, ${d.seq} DESC LIMIT ?`,
    args,
  };
}

function updateStmt(id: string, patch: TaskPatch, now: number): Stmt {
  const sets: string[] = [];
  const args: SqlArg[] = [];
  for (const [k, v] of Object.entries(patch)) {
    const col = TASK_COLUMNS[k as keyof typeof TASK_COLUMNS];
    if (!col) continue;
    sets.push(`${col.name} = ?`);
    args.push(
      v === undefined || v === null
        ? null
        : col.json
          ? JSON.stringify(v)
          : typeof v === 'boolean'
            ? Number(v)
            : (v as SqlArg),
    );
  }
  // A task that ended never goes back (a compare-and-set, like takeOver): two instances may follow one
  // task, and a poll that read an earlier status may be written after another recorded the end.
  const backwards = patch.status !== undefined && patch.status !== 'success' && patch.status !== 'failed';
  const ended = backwards ? " AND status NOT IN ('success', 'failed')" : '';
  return {
    sql: `UPDATE tasks SET ${[...sets, 'updated_at = ?'].join(', ')} WHERE id = ?${ended} RETURNING *`,
    args: [...args, now, id],
  };
}

const first = (r: Row[]) => (r[0] ? toRow(r[0]) : undefined);

/** The `LedgerStore` over one dialect and one executor; the backends add opening, closing and watching. */
export abstract class SqlLedger implements LedgerStore {
  abstract readonly backend: 'sqlite' | 'postgres';
  readonly spend: CostStore;
  readonly streams: StreamStore;

  protected constructor(
    private readonly d: Dialect,
    private readonly x: Executor,
  ) {
    this.spend = costStore(d, x);
    this.streams = streamStore(x);
  }

  abstract describe(): string;
  abstract close(): Promise<void>;
  abstract watch(listener: (taskId?: string) => void): () => void;

  claim(task: NewTask, opts: ClaimOptions): Promise<ClaimDecision> {
    return this.x.claim(task.fingerprint, claimSteps(this.d, task, opts));
  }

  async takeOver(
    id: string,
    expected: { pid: number | null; host: string | null },
    owner: { pid: number; host: string; leaseUntil: number },
    now: number,
  ): Promise<TaskRow | undefined> {
    return first(await this.x.write(one(takeOverStmt(id, expected, owner, now))));
  }

  /** Conditional on the owner, like `takeOver`: a frozen owner resuming after a take-over must not send. */
  async markSent(
    id: string,
    owner: { pid: number; host: string },
    now: number,
  ): Promise<TaskRow | undefined> {
    const stmt = {
      sql: `UPDATE tasks SET phase = 'sent', updated_at = ?
            WHERE id = ? AND status = 'submitting' AND owner_pid = ? AND (owner_host = ? OR owner_host IS NULL)
            RETURNING *`,
      args: [now, id, owner.pid, owner.host],
    };
    return first(await this.x.write(one(stmt)));
  }

  async get(id: string): Promise<TaskRow | undefined> {
    return first(await this.x.run(one(byId(id))));
  }

  async latest(fingerprint: string): Promise<TaskRow | undefined> {
    return first(await this.x.run(one(latest(this.d, fingerprint))));
  }

  async providerTaskIds(fingerprint: string): Promise<string[]> {
    const sql =
      'SELECT DISTINCT provider_task_id AS id FROM tasks WHERE fingerprint = ? AND provider_task_id IS NOT NULL';
    return (await this.x.run(one({ sql, args: [fingerprint] }))).map((r) => r.id as string);
  }

  async findByProviderTaskId(provider: string, providerTaskId: string): Promise<TaskRow | undefined> {
    const sql = `SELECT * FROM tasks WHERE provider = ? AND provider_task_id = ? ORDER BY created_at DESC, ${this.d.seq} DESC LIMIT 1`;
    return first(await this.x.run(one({ sql, args: [provider, providerTaskId] })));
  }

  async page(opts: ListOptions & { after?: PageKey }): Promise<{ rows: TaskRow[]; next?: PageKey }> {
    const raws = await this.x.run(one(pageStatement(this.d, opts)));
    const kept = raws.slice(0, opts.limit);
    const last = kept[kept.length - 1];
    return {
      rows: kept.map(toRow),
      next:
        raws.length > opts.limit && last
          ? { createdAt: Number(last.created_at), rowid: Number(last.row_key) }
          : undefined,
    };
  }

  async unfinished(): Promise<TaskRow[]> {
    const sql = `SELECT * FROM tasks WHERE ${this.d.live()} AND status NOT IN ('success', 'failed') ORDER BY created_at, ${this.d.seq}`;
    return (await this.x.run(one({ sql, args: [] }))).map(toRow);
  }

  async update(id: string, patch: TaskPatch, now: number): Promise<TaskRow> {
    // Nothing written when the task had ended and the patch would take it back: the row as it stands.
    const row = first(await this.x.run(one(updateStmt(id, patch, now)))) ?? (await this.get(id));
    if (!row)
      throw new AppError('not_found', `Task ${id} is not in the ledger.`, { details: { task_id: id } });
    return row;
  }

  async uploadLookup(
    provider: string,
    scope: string,
    sha256: string,
    size: number,
  ): Promise<{ url: string; meta: JsonObject | null } | undefined> {
    const sql = 'SELECT url, meta FROM uploads WHERE provider = ? AND scope = ? AND sha256 = ? AND size = ?';
    const [r] = await this.x.run(one({ sql, args: [provider, scope, sha256, size] }));
    return r ? { url: r.url as string, meta: parse<JsonObject>(r.meta as string | null) } : undefined;
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
    const sql = `INSERT INTO uploads (provider, scope, sha256, size, url, meta, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (provider, scope, sha256, size) DO UPDATE SET url = excluded.url, meta = excluded.meta, created_at = excluded.created_at`;
    const args = [provider, scope, sha256, size, url, meta ? JSON.stringify(meta) : null, now];
    await this.x.run(one({ sql, args }));
  }

  async recordDownload(
    taskId: string,
    path: string,
    sha256: string,
    size: number,
    now: number,
  ): Promise<void> {
    const sql = `INSERT INTO downloads (task_id, path, sha256, size, created_at) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (task_id, path) DO UPDATE SET sha256 = excluded.sha256, size = excluded.size, created_at = excluded.created_at`;
    await this.x.run(one({ sql, args: [taskId, path, sha256, size, now] }));
  }

  async idsStartingWith(
    prefix: string,
    limit: number,
    principal?: string | null,
  ): Promise<{ ids: string[]; total: number }> {
    // No task id is this long; a longer prefix would only be a pattern SQLite refuses as too complex.
    if (prefix.length > MAX_PREFIX) return { ids: [], total: 0 };
    const pattern = `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    const mine = principal === undefined ? '' : ' AND principal IS NOT DISTINCT FROM ?';
    const where = `${this.d.live()} AND id ${this.d.likeNoCase} ? ESCAPE '\\'${mine}`;
    const args: SqlArg[] = principal === undefined ? [pattern] : [pattern, principal];
    const sql = `SELECT id FROM tasks WHERE ${where} ORDER BY created_at DESC, ${this.d.seq} DESC LIMIT ?`;
    const ids = (await this.x.run(one({ sql, args: [...args, limit] }))).map((r) => r.id as string);
    if (ids.length < limit) return { ids, total: ids.length };
    const [n] = await this.x.run(one({ sql: `SELECT count(*) AS n FROM tasks WHERE ${where}`, args }));
    return { ids, total: Number(n?.n ?? ids.length) };
  }
}

function parse<T>(s: string | null): T | null {
  if (s === null) return null;
  try {
    return JSON.parse(s) as T;
  } catch {
    return null;
  }
}

/** A task row as either driver returns it. */
interface RawRow {
  id: string;
  fingerprint: string;
  provider: string;
  kind: string;
  status: string;
  phase: string | null;
  rejected: number | boolean;
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
  /** Absent on an instance's rows read before its database gained the column. */
  principal?: string | null;
}

function toRow(raw: Row): TaskRow {
  const r = raw as unknown as RawRow;
  return {
    id: r.id,
    fingerprint: r.fingerprint,
    provider: r.provider as ProviderName,
    kind: r.kind as TaskKind,
    status: r.status as RowStatus,
    phase: r.phase as Phase | null,
    rejected: bool(r.rejected),
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
