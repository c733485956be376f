/**
 * The PostgreSQL ledger's cost records: ledger-costs.ts (SQLite) statement for statement. The estimate
 * is written by `PgLedger.claim` in its own transaction (`insertEstimate`).
 */
import type { ProviderName } from '../providers/provider.js';
import type { PgDb, Queryable } from './pg-db.js';
import type { CostRow, CostStore, SpendTotal } from './store.js';

interface RawCost {
  task_id: string;
  provider: string;
  amount: number | null;
  unit: string;
  source: string;
  paid: boolean;
  created_at: number;
  updated_at: number;
}

const TOTALS = `
SELECT c.provider AS provider, c.unit AS unit, COALESCE(SUM(c.amount), 0)::float8 AS amount,
       (COUNT(*) FILTER (WHERE c.amount IS NULL))::int AS unknown, (COUNT(*) FILTER (WHERE c.paid))::int AS paid
FROM costs c JOIN tasks t ON t.id = c.task_id
WHERE NOT t.rejected AND c.created_at >= $1 GROUP BY c.provider, c.unit ORDER BY c.provider, c.unit`;

/** The same, of one principal's tasks only. */
const OWN_TOTALS = TOTALS.replace('c.created_at >= $1', 'c.created_at >= $1 AND t.principal = $2');

/** Spend since `since` (only `principal`'s when given), read through `q` (the pool, or a claim's transaction). */
export async function totalsSince(q: Queryable, since: number, principal?: string): Promise<SpendTotal[]> {
  const { rows } = await q.query<{
    provider: string;
    unit: string;
    amount: number;
    unknown: number;
    paid: number;
  }>(principal === undefined ? TOTALS : OWN_TOTALS, principal === undefined ? [since] : [since, principal]);
  return rows.map((r) => ({
    provider: r.provider as ProviderName,
    unit: r.unit,
    amount: r.amount,
    unknown: r.unknown,
    paidCreates: r.paid,
  }));
}

/** Called by `PgLedger.claim` inside its transaction, right after the task row. */
export async function insertEstimate(
  q: Queryable,
  taskId: string,
  provider: string,
  c: { amount: number | null; unit: string; paid: boolean },
  now: number,
): Promise<void> {
  await q.query(
    `INSERT INTO costs (task_id, provider, amount, unit, source, paid, created_at, updated_at)
     VALUES ($1, $2, $3, $4, 'estimate', $5, $6, $6)`,
    [taskId, provider, c.amount, c.unit, c.paid, now],
  );
}

export class PgCostBook implements CostStore {
  constructor(private readonly db: PgDb) {}

  async record(
    taskId: string,
    patch: { amount: number | null; source: string; paid?: boolean },
    now: number,
  ): Promise<void> {
    await this.db.query(
      'UPDATE costs SET amount = $1, source = $2, paid = COALESCE($3, paid), updated_at = $4 WHERE task_id = $5',
      [patch.amount, patch.source, patch.paid ?? null, now, taskId],
    );
  }

  async totalsSince(since: number, principal?: string): Promise<SpendTotal[]> {
    return this.db.read((q) => totalsSince(q, since, principal));
  }

  async list(since: number, until = Number.MAX_SAFE_INTEGER, taskIds?: string[]): Promise<CostRow[]> {
    const filter = taskIds ? ' AND c.task_id = ANY($3::text[])' : '';
    const rows = await this.db.query<RawCost>(
      `SELECT c.* FROM costs c JOIN tasks t ON t.id = c.task_id
       WHERE NOT t.rejected AND c.created_at >= $1 AND c.created_at < $2${filter} ORDER BY c.created_at, c.seq`,
      taskIds ? [since, until, taskIds] : [since, until],
    );
    return rows.map((r) => ({
      taskId: r.task_id,
      provider: r.provider as ProviderName,
      amount: r.amount,
      unit: r.unit,
      source: r.source,
      paid: r.paid,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
    }));
  }

  async markBalanceBefore(taskId: string, balance: number, at: number): Promise<void> {
    await this.db.query('UPDATE costs SET balance_before = $1, balance_at = $2 WHERE task_id = $3', [
      balance,
      at,
      taskId,
    ]);
  }

  async balanceBefore(taskId: string): Promise<{ balance: number; at: number } | undefined> {
    const [r] = await this.db.query<{ b: number; at: number }>(
      "SELECT balance_before AS b, balance_at AS at FROM costs WHERE task_id = $1 AND source = 'estimate' AND balance_before IS NOT NULL",
      [taskId],
    );
    return r ? { balance: r.b, at: r.at } : undefined;
  }

  async othersOverlapping(provider: string, exceptId: string, from: number, to: number): Promise<number> {
    const [r] = await this.db.query<{ n: number }>(
      `SELECT COUNT(*)::int AS n FROM tasks WHERE provider = $1 AND id <> $2 AND NOT rejected AND created_at <= $3
       AND (completed_at IS NULL OR completed_at >= $4) AND kind <> 'render'`,
      [provider, exceptId, to, from],
    );
    return r?.n ?? 0;
  }

  async othersActiveSince(provider: string, exceptId: string, since: number): Promise<number> {
    const [r] = await this.db.query<{ n: number }>(
      `SELECT COUNT(*)::int AS n FROM tasks WHERE provider = $1 AND id <> $2 AND NOT rejected
       AND (created_at >= $3 OR status = 'submitting')`,
      [provider, exceptId, since],
    );
    return r?.n ?? 0;
  }
}
