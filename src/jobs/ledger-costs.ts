/**
 * The ledger's cost records, for both backends: one row per paid claim, written as an estimate in the
 * claim's own transaction (`insertEstimate`, from the claim's steps) and replaced by a better figure
 * when one is known. Spend caps and reports read them; rejected claims (nothing was created) never count.
 */
import type { ProviderName } from '../providers/provider.js';
import { bool, type Dialect, type Executor, one, type Row, type Steps, type Stmt } from './ledger-sql.js';
import type { CostRow, CostStore, SpendTotal } from './store.js';

export type { CostRow, SpendTotal };

/** The estimate, written by the claim's steps right after the task row. */
export function insertEstimate(
  taskId: string,
  provider: string,
  c: { amount: number | null; unit: string; paid: boolean },
  now: number,
): Stmt {
  return {
    sql: `INSERT INTO costs (task_id, provider, amount, unit, source, paid, created_at, updated_at)
          VALUES (?, ?, ?, ?, 'estimate', ?, ?, ?)`,
    args: [taskId, provider, c.amount, c.unit, Number(c.paid), now, now],
  };
}

/**
 * Spend of tasks claimed at or after `since` (ms), per provider and unit (inside a claim, or alone);
 * only `principal`'s tasks when given (per-user caps).
 */
export function* totalsSince(d: Dialect, since: number, principal?: string): Steps<SpendTotal[]> {
  const mine = principal === undefined ? '' : ' AND t.principal = ?';
  const rows = yield {
    sql: `SELECT c.provider AS provider, c.unit AS unit, COALESCE(SUM(c.amount), 0) AS amount,
                 SUM(CASE WHEN c.amount IS NULL THEN 1 ELSE 0 END) AS unknown,
                 SUM(CASE WHEN c.paid THEN 1 ELSE 0 END) AS paid
          FROM costs c JOIN tasks t ON t.id = c.task_id
          WHERE ${d.live('t.')} AND c.created_at >= ?${mine} GROUP BY c.provider, c.unit ORDER BY c.provider, c.unit`,
    args: principal === undefined ? [since] : [since, principal],
  };
  return rows.map((r) => ({
    provider: r.provider as ProviderName,
    unit: r.unit as string,
    amount: Number(r.amount),
    unknown: Number(r.unknown),
    paidCreates: Number(r.paid),
  }));
}

function toCost(r: Row): CostRow {
  return {
    taskId: r.task_id as string,
    provider: r.provider as ProviderName,
    amount: r.amount as number | null,
    unit: r.unit as string,
    source: r.source as string,
    paid: bool(r.paid),
    createdAt: r.created_at as number,
    updatedAt: r.updated_at as number,
  };
}

const count = async (x: Executor, sql: string, args: (string | number)[]) =>
  Number((await x.run(one({ sql: `SELECT COUNT(*) AS n FROM tasks WHERE ${sql}`, args })))[0]?.n ?? 0);

/** The `CostStore` of a ledger. */
export function costStore(d: Dialect, x: Executor): CostStore {
  return {
    async record(taskId, patch, now) {
      const sql =
        'UPDATE costs SET amount = ?, source = ?, paid = COALESCE(?, paid), updated_at = ? WHERE task_id = ?';
      const paid = patch.paid === undefined ? null : Number(patch.paid);
      await x.run(one({ sql, args: [patch.amount, patch.source, paid, now, taskId] }));
    },
    totalsSince: (since, principal) => x.run(totalsSince(d, since, principal)),
    async list(since, until = Number.MAX_SAFE_INTEGER, taskIds) {
      const filter = taskIds ? ` AND c.task_id IN (${taskIds.map(() => '?').join(', ') || "''"})` : '';
      const sql = `SELECT c.* FROM costs c JOIN tasks t ON t.id = c.task_id
        WHERE ${d.live('t.')} AND c.created_at >= ? AND c.created_at < ?${filter} ORDER BY c.created_at, c.${d.seq}`;
      return (await x.run(one({ sql, args: [since, until, ...(taskIds ?? [])] }))).map(toCost);
    },
    async markBalanceBefore(taskId, balance, at) {
      const sql = 'UPDATE costs SET balance_before = ?, balance_at = ? WHERE task_id = ?';
      await x.run(one({ sql, args: [balance, at, taskId] }));
    },
    async balanceBefore(taskId) {
      const sql =
        "SELECT balance_before AS b, balance_at AS at FROM costs WHERE task_id = ? AND source = 'estimate' AND balance_before IS NOT NULL";
      const [r] = await x.run(one({ sql, args: [taskId] }));
      return r ? { balance: r.b as number, at: Number(r.at) } : undefined;
    },
    /** Other tasks of this provider whose life overlaps [from, to] (they may have spent from the same balance). */
    othersOverlapping: (provider, exceptId, from, to) =>
      count(
        x,
        `provider = ? AND id <> ? AND ${d.live()} AND created_at <= ?
         AND (completed_at IS NULL OR completed_at >= ?) AND kind <> 'render'`,
        [provider, exceptId, to, from],
      ),
    /** Other tasks of this provider claimed since `since` or still being submitted (a balance delta needs none). */
    othersActiveSince: (provider, exceptId, since) =>
      count(x, `provider = ? AND id <> ? AND ${d.live()} AND (created_at >= ? OR status = 'submitting')`, [
        provider,
        exceptId,
        since,
      ]),
  };
}
