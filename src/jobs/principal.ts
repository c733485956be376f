/**
 * Who a task belongs to (issue 29). Over OAuth each user is a principal (`<issuer>#<subject>`); stdio,
 * the CLI and the single-user bearer token act as the local principal — the operator of the machine —
 * whose tasks are stored with no principal (as every task recorded before principals existed), and who
 * sees every task, so their behaviour is unchanged. A user sees only their own tasks; with team reuse
 * on, also a task another user paid for that an identical request of theirs was answered with (they
 * hold its id from that answer; lists and completion still show only their own).
 */
import { createHash } from 'node:crypto';
import { AppError } from '../errors.js';
import type { LedgerStore, TaskRow } from './store.js';

export const LOCAL_PRINCIPAL = 'local';

export interface PrincipalScope {
  /** The principal; LOCAL_PRINCIPAL for the operator. */
  id: string;
  /** What its tasks store and its lists filter by; undefined for the local principal (no filter). */
  owner: string | undefined;
  /** LIPSYNC_TEAM_REUSE: a paid result another user made answers an identical request. */
  team: boolean;
}

export const LOCAL_SCOPE: PrincipalScope = { id: LOCAL_PRINCIPAL, owner: undefined, team: true };

export function scopeOf(id: string, team: boolean): PrincipalScope {
  return id === LOCAL_PRINCIPAL ? LOCAL_SCOPE : { id, owner: id, team };
}

/** Whether `scope` may see `row` when it names it by id (lists: `owns`). */
export function sees(scope: PrincipalScope | undefined, row: TaskRow): boolean {
  return owns(scope, row) || !!scope?.team;
}

/** Whether `row` is one of `scope`'s own tasks (the local principal owns them all). */
export function owns(scope: PrincipalScope | undefined, row: TaskRow): boolean {
  return scope?.owner === undefined || row.principal === scope.owner;
}

/**
 * The fingerprint a principal's request claims under: its own unless team reuse is on, so that one
 * user's identical request never reuses (nor waits on) another's paid task.
 */
export function fingerprintFor(scope: PrincipalScope | undefined, fp: string): string {
  if (scope?.owner === undefined || scope.team) return fp;
  return createHash('sha256').update(`${fp}\0${scope.owner}`).digest('hex');
}

/** What a task another principal may not see answers: the same as a task that does not exist. */
export function notFound(): AppError {
  return new AppError('not_found', "No such task in this server's ledger.", {
    hint: 'Use the task_id returned by create_lip_sync (or list_tasks to see recent ones).',
  });
}

export const TEAM_REUSE_WARNING =
  'This result was reused from the team: another user of this server already paid for an identical job, so nothing new was paid (LIPSYNC_TEAM_REUSE).';

/**
 * The ledger as `scope` sees it, for the MCP surface (resources, subscriptions, completion, viewer):
 * another user's task reads as absent, pages and completion hold only the user's own. Writes and
 * everything else pass through to `ledger`. The local principal gets `ledger` itself.
 */
export function scopedLedger(ledger: LedgerStore, scope: PrincipalScope): LedgerStore {
  if (scope.owner === undefined) return ledger;
  const visible = (r: TaskRow | undefined) => (r && sees(scope, r) ? r : undefined);
  const view = Object.create(ledger) as LedgerStore;
  return Object.assign(view, {
    get: async (id: string) => visible(await ledger.get(id)),
    latest: async (fp: string) => {
      const r = await ledger.latest(fp);
      return r && owns(scope, r) ? r : undefined;
    },
    findByProviderTaskId: async (provider: string, id: string) =>
      visible(await ledger.findByProviderTaskId(provider, id)),
    page: (opts: Parameters<LedgerStore['page']>[0]) => ledger.page({ ...opts, principal: scope.owner }),
    idsStartingWith: (prefix: string, limit: number) => ledger.idsStartingWith(prefix, limit, scope.owner),
  });
}

/**
 * Whether a provider task found for a user's inputs (`findExisting`) is another user's: recorded in the
 * ledger for a task of another principal. Then it is not adopted (unless team reuse is on): the user
 * pays for their own job rather than receiving someone else's result.
 */
export async function heldByAnother(
  ledger: Pick<LedgerStore, 'findByProviderTaskId'>,
  row: TaskRow,
  found: { providerTaskId: string },
  team = false,
): Promise<boolean> {
  if (team || row.principal === null) return false;
  const holder = await ledger.findByProviderTaskId(row.provider, found.providerTaskId);
  return !!holder && holder.id !== row.id && holder.principal !== row.principal;
}
