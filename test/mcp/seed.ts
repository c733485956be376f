import type { Ledger } from '../../src/jobs/ledger.js';
import type { JsonObject, Snapshot } from '../../src/providers/provider.js';

/** Puts a task row straight into the ledger (no provider involved), as a create would. */
export function seedTask(
  ledger: Ledger,
  id: string,
  opts: {
    now?: number;
    provider?: 'jogg' | 'local' | 'director';
    status?: 'processing' | 'success';
    snapshot?: Snapshot;
    request?: JsonObject;
  } = {},
): void {
  const now = opts.now ?? Date.UTC(2026, 0, 1);
  ledger.claim(
    {
      id,
      fingerprint: `fp-${id}`,
      provider: opts.provider ?? 'jogg',
      kind: 'lip_sync',
      request: opts.request ?? ({ note: 'seeded' } as JsonObject),
      warnings: [],
      ownerPid: process.pid,
      leaseUntil: now + 60_000,
      now,
    },
    { force: false, isOwnerAlive: () => true },
  );
  const status = opts.status ?? 'processing';
  ledger.update(
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
