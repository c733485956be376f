import type { LedgerStore } from '../../src/jobs/store.js';
import type { JsonObject, Snapshot } from '../../src/providers/provider.js';

/** Puts a task row straight into the ledger (no provider involved), as a create would. */
export async function seedTask(
  ledger: LedgerStore,
  id: string,
  opts: {
    now?: number;
    provider?: 'jogg' | 'local' | 'director';
    status?: 'processing' | 'success';
    snapshot?: Snapshot;
    request?: JsonObject;
    warnings?: string[];
    /** What the task is expected to cost, recorded with the claim (as a paid create does). */
    cost?: { amount: number | null; unit: string };
  } = {},
): Promise<void> {
  const now = opts.now ?? Date.UTC(2026, 0, 1);
  await ledger.claim(
    {
      id,
      fingerprint: `fp-${id}`,
      provider: opts.provider ?? 'jogg',
      kind: 'lip_sync',
      request: opts.request ?? ({ note: 'seeded' } as JsonObject),
      warnings: opts.warnings ?? [],
      ownerPid: process.pid,
      ownerHost: 'seed',
      leaseUntil: now + 60_000,
      now,
    },
    {
      force: false,
      isOwnerAlive: () => true,
      ...(opts.cost ? { cost: { ...opts.cost, paid: true } } : {}),
    },
  );
  const status = opts.status ?? 'processing';
  await ledger.update(
    id,
    {
      status,
      phase: null,
      ownerPid: null,
      leaseUntil: null,
      providerTaskId: `p-${id}`,
      snapshot: opts.snapshot ?? { status, progress: 0.1 },
      completedAt: status === 'success' ? now : null,
    },
    now,
  );
}
