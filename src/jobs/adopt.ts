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

/**
 * A task by an id of either kind, for callers that cannot say which it is (the CLI's `--task-id`).
 * Our own ids come first; then, with `provider`, that provider's id (in the ledger, else looked up);
 * without, a task any provider's id already names in the ledger, then every configured provider that can
 * look ids up, in turn. `onFound` hears which provider answered. `not_found` names who was asked.
 */
export async function findAnywhere(
  core: JobCore,
  id: string,
  provider: string | undefined,
  opts: { signal?: AbortSignal; onFound?: (message: string) => void },
): Promise<TaskRow> {
  const ours = await core.d.ledger.get(id);
  if (ours) return ours;
  const candidates = [...core.d.providers.values()].filter((p) => !provider || p.name === provider);
  for (const p of candidates) {
    const known = await core.d.ledger.findByProviderTaskId(p.name, id);
    if (known) return known;
  }
  if (provider) {
    const named = candidates[0];
    const adopted =
      named && (await adoptForeign(core, { provider: named.name, providerTaskId: id }, opts.signal));
    if (adopted) opts.onFound?.(`${named.displayName} has task ${id}; following it as ${adopted.id}`);
    if (adopted) return adopted;
    throw new AppError('not_found', `${named?.displayName ?? provider} cannot look up task ${id}.`, {
      hint: "It is not in this server's ledger either. Use the task_id that `lipsync-mcp run` printed, or list_tasks.",
    });
  }
  const asked: string[] = [];
  const problems: string[] = [];
  for (const p of candidates) {
    if (!p.lookupById || !p.credentials().configured) continue;
    asked.push(p.displayName);
    try {
      const row = await adoptForeign(core, { provider: p.name, providerTaskId: id }, opts.signal);
      if (row) {
        opts.onFound?.(`${p.displayName} has task ${id}; following it as ${row.id}`);
        return row;
      }
    } catch (err) {
      if (err instanceof AppError && err.code === 'not_found') continue;
      problems.push(`${p.displayName}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  const where = asked.length ? ` or at ${asked.join(', ')}` : '';
  throw new AppError('not_found', `No task ${id} in this server's ledger${where}.`, {
    hint: [
      problems.length ? `Could not ask ${problems.join('; ')}.` : '',
      asked.length
        ? 'Name the provider with --provider P if you know it, or check the id.'
        : 'No configured provider can look tasks up by their own id: configure one (lipsync-mcp doctor), or use the task_id that `lipsync-mcp run` printed.',
    ]
      .filter(Boolean)
      .join(' '),
  });
}
