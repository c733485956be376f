/** Tasks created elsewhere (the vendor's own runner, a dashboard), found by the provider's own id. */
import { AppError } from '../errors.js';
import type { ProviderName } from '../providers/provider.js';
import { deadline } from '../util/deadline.js';
import type { JobCore } from './core.js';
import { newTaskId, requireConfigured } from './requests.js';
import type { TaskRow } from './store.js';

/**
 * Looks a provider task id up at the provider and records it as an adopted task, followed from then on.
 * Undefined when the provider cannot look tasks up by id; `not_found` when it has no such task.
 */
export async function adoptForeign(
  core: JobCore,
  ref: { provider: string; providerTaskId: string },
  signal?: AbortSignal,
): Promise<TaskRow | undefined> {
  const provider = core.d.providers.get(ref.provider as ProviderName);
  if (!provider?.lookupById) return undefined;
  requireConfigured(provider);
  const cap = deadline(core.d.maxLookMs ?? 15_000, signal);
  const found = await provider
    .lookupById(ref.providerTaskId, { signal: cap.signal, log: core.d.log })
    .finally(() => cap.clear());
  if (!found) {
    throw new AppError('not_found', `${provider.displayName} has no task ${ref.providerTaskId}.`, {
      hint: 'Check the id (and that it belongs to the account of the configured key), or use list_tasks.',
    });
  }
  const now = core.now();
  const decision = await core.d.ledger.claim(
    {
      id: newTaskId(),
      fingerprint: `adopted:${provider.name}:${ref.providerTaskId}`,
      provider: provider.name,
      kind: found.kind,
      request: { adopted: true, provider_task_id: ref.providerTaskId },
      warnings: [],
      ownerPid: core.pid,
      ownerHost: core.host,
      leaseUntil: now + core.d.leaseMs,
      now,
    },
    { force: false, isOwnerAlive: (row) => core.isOwnerAlive(row) },
  );
  if (decision.kind === 'created') await core.adopt(decision.row.id, found, true);
  return core.row(decision.row.id);
}
