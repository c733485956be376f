/**
 * The ledger's cost records: one row per paid claim, written as an estimate in the claim's own
 * transaction and replaced by a better figure when one is known. Spend caps and reports read them;
 * rejected claims (nothing was created) never count.
 */
import type { ProviderName } from '../providers/provider.js';
import type { SqlDatabase } from './sqlite.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS costs (
  task_id TEXT PRIMARY KEY,
  provider TEXT NOT NULL,
  amount REAL,
  unit TEXT NOT NULL,
  source TEXT NOT NULL,
  paid INTEGER NOT NULL DEFAULT 1,
  balance_before REAL,
  balance_at INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS costs_time ON costs(created_at);
`;

/** What a task cost (or is expected to cost), as the ledger keeps it. */
export interface CostRow {
  taskId: string;
  provider: ProviderName;
  /** Null when not known (e.g. NemoVideo before the job ends). */
  amount: number | null;
  unit: string;
  /** `provider` (its own figure), `balance` (a free balance read before and after), `estimate`, `reused` (nothing paid). */
  source: string;
  /** Counts as a paid create (false when the provider already had the task). */
  paid: boolean;
  createdAt: number;
  updatedAt: number;
}

/** Spend since a point in time, per provider and unit. */
export interface SpendTotal {
  provider: ProviderName;
  unit: string;
  /** Sum of the known amounts. */
  amount: number;
  /** Tasks whose cost is not known. */
  unknown: number;
  paidCreates: number;
}

interface RawCost {
  task_id: string;
  provider: string;
  amount: number | null;
  unit: string;
  source: string;
  paid: number;
  created_at: number;
  updated_at: number;
}

export class CostBook {
  constructor(private readonly db: SqlDatabase) {
    db.exec(SCHEMA);
  }

  /** Called by `Ledger.claim` inside its transaction, right after the task row. */
  insertEstimate(
    taskId: string,
    provider: string,
    c: { amount: number | null; unit: string; paid: boolean },
    now: number,
  ): void {
    this.db
      .prepare(
        `INSERT INTO costs (task_id, provider, amount, unit, source, paid, created_at, updated_at)
         VALUES (?, ?, ?, ?, 'estimate', ?, ?, ?)`,
      )
      .run(taskId, provider, c.amount, c.unit, c.paid ? 1 : 0, now, now);
  }

  /** Replaces what a task cost (a better figure than the estimate: the provider's, or a balance delta). */
  record(taskId: string, patch: { amount: number | null; source: string; paid?: boolean }, now: number) {
    this.db
      .prepare(
        'UPDATE costs SET amount = ?, source = ?, paid = COALESCE(?, paid), updated_at = ? WHERE task_id = ?',
      )
      .run(patch.amount, patch.source, patch.paid === undefined ? null : patch.paid ? 1 : 0, now, taskId);
  }

  /** Spend of tasks claimed at or after `since` (ms), per provider and unit. */
  totalsSince(since: number, principal?: string): SpendTotal[] {
    const mine = principal === undefined ? '' : ' AND t.principal = ?';
    const rows = this.db
      .prepare(
        `SELECT c.provider AS provider, c.unit AS unit, COALESCE(SUM(c.amount), 0) AS amount,
                SUM(CASE WHEN c.amount IS NULL THEN 1 ELSE 0 END) AS unknown, SUM(c.paid) AS paid
         FROM costs c JOIN tasks t ON t.id = c.task_id
         WHERE t.rejected = 0 AND c.created_at >= ?${mine} GROUP BY c.provider, c.unit`,
      )
      .all(...(principal === undefined ? [since] : [since, principal])) as {
      provider: string;
      unit: string;
      amount: number;
      unknown: number;
      paid: number;
    }[];
    return rows.map((r) => ({
      provider: r.provider as ProviderName,
      unit: r.unit,
      amount: r.amount,
      unknown: r.unknown,
      paidCreates: r.paid,
    }));
  }

  /** Cost records of tasks claimed in [since, until), oldest first; only `taskIds` when given. */
  list(since: number, until = Number.MAX_SAFE_INTEGER, taskIds?: string[]): CostRow[] {
    const filter = taskIds ? ` AND c.task_id IN (${taskIds.map(() => '?').join(', ') || "''"})` : '';
    const rows = this.db
      .prepare(
        `SELECT c.* FROM costs c JOIN tasks t ON t.id = c.task_id
         WHERE t.rejected = 0 AND c.created_at >= ? AND c.created_at < ?${filter} ORDER BY c.created_at, c.rowid`,
      )
      .all(since, until, ...(taskIds ?? [])) as RawCost[];
    return rows.map((r) => ({
      taskId: r.task_id,
      provider: r.provider as ProviderName,
      amount: r.amount,
      unit: r.unit,
      source: r.source,
      paid: r.paid === 1,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
    }));
  }

  /** Remembers the balance read just before the paid request (for a delta when the job ends). */
  markBalanceBefore(taskId: string, balance: number, at: number): void {
    this.db
      .prepare('UPDATE costs SET balance_before = ?, balance_at = ? WHERE task_id = ?')
      .run(balance, at, taskId);
  }

  /** The balance before a job whose cost is still an estimate, if one was read. */
  balanceBefore(taskId: string): { balance: number; at: number } | undefined {
    const r = this.db
      .prepare(
        "SELECT balance_before AS b, balance_at AS at FROM costs WHERE task_id = ? AND source = 'estimate' AND balance_before IS NOT NULL",
      )
      .get(taskId) as { b: number; at: number } | undefined;
    return r ? { balance: r.b, at: r.at } : undefined;
  }

  /** Other tasks of this provider whose life overlaps [from, to] (they may have spent from the same balance). */
  othersOverlapping(provider: string, exceptId: string, from: number, to: number): number {
    const r = this.db
      .prepare(
        `SELECT COUNT(*) AS n FROM tasks WHERE provider = ? AND id != ? AND rejected = 0 AND created_at <= ?
         AND (completed_at IS NULL OR completed_at >= ?) AND kind != 'render'`,
      )
      .get(provider, exceptId, to, from) as { n: number };
    return r.n;
  }

  /** Other tasks of this provider claimed since `since` or still being submitted (a balance delta needs none). */
  othersActiveSince(provider: string, exceptId: string, since: number): number {
    const r = this.db
      .prepare(
        `SELECT COUNT(*) AS n FROM tasks WHERE provider = ? AND id != ? AND rejected = 0
         AND (created_at >= ? OR status = 'submitting')`,
      )
      .get(provider, exceptId, since) as { n: number };
    return r.n;
  }
}
