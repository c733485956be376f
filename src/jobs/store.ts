/**
 * What the job service needs from a ledger backend. Two implement it: SQLite (`ledger.ts`, the
 * embedded default; one machine, several processes) and PostgreSQL (`ledger-pg.ts`, several
 * instances on several machines), both with the one logic of `ledger-core.ts`. Every method is
 * asynchronous, so a networked backend fits; the SQLite one answers from synchronous calls.
 *
 * The semantics both must keep (the parameterised suite in test/integration/ledger-contract.test.ts
 * runs against each):
 * - `claim` is atomic per fingerprint: of any number of concurrent claims for one fingerprint, across
 *   processes and instances, exactly one gets `created`; the others get `reused` (or `taken_over` when
 *   the owner of a `submitting` claim is gone). Never a read-then-write race.
 * - `guard` runs inside the same transaction as the insert, after spend totals were read there, so two
 *   instances cannot both pass a spend cap; throwing from it refuses the claim and writes nothing.
 * - `takeOver` is a compare-and-set: only one caller wins a dead owner's claim.
 * - Input hashes (`hashes`) are NOT here: they are keyed by device and inode, which mean something on
 *   one machine only; they stay in the machine's own SQLite file whatever the ledger backend.
 */

import type { UserError } from '../errors.js';
import type { JsonObject, ProviderName, Snapshot, TaskKind } from '../providers/provider.js';

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

export type RowStatus = 'submitting' | 'pending' | 'processing' | 'success' | 'failed' | 'unknown';
export type Phase = 'preparing' | 'sent';

export interface TaskRow {
  id: string;
  fingerprint: string;
  provider: ProviderName;
  kind: TaskKind;
  status: RowStatus;
  phase: Phase | null;
  rejected: boolean;
  providerTaskId: string | null;
  /** The checked request: inputs (paths, hashes, URLs) and params. No secrets. */
  request: JsonObject;
  prepared: JsonObject | null;
  operation: JsonObject | null;
  snapshot: Snapshot | null;
  warnings: string[];
  error: UserError | null;
  providerStatus: string | null;
  unchangedPolls: number;
  polls: number;
  /** The owner of a claim: a process id, on `ownerHost`. */
  ownerPid: number | null;
  /** The owner's host name (`os.hostname()`); a pid means something only on its own host. */
  ownerHost: string | null;
  leaseUntil: number | null;
  createdAt: number;
  updatedAt: number;
  completedAt: number | null;
  /** Who created the task (issue 29): an OAuth user's `<issuer>#<subject>`; null: the local principal. */
  principal: string | null;
}

/** TaskRow fields that `update` may write, and their columns (JSON ones are serialized): both backends. */
export const TASK_COLUMNS: Partial<Record<keyof TaskRow, { name: string; json?: true }>> = {
  status: { name: 'status' },
  phase: { name: 'phase' },
  rejected: { name: 'rejected' },
  providerTaskId: { name: 'provider_task_id' },
  request: { name: 'request', json: true },
  prepared: { name: 'prepared', json: true },
  operation: { name: 'operation', json: true },
  snapshot: { name: 'snapshot', json: true },
  warnings: { name: 'warnings', json: true },
  error: { name: 'error', json: true },
  providerStatus: { name: 'provider_status' },
  unchangedPolls: { name: 'unchanged_polls' },
  polls: { name: 'polls' },
  ownerPid: { name: 'owner_pid' },
  ownerHost: { name: 'owner_host' },
  leaseUntil: { name: 'lease_until' },
  completedAt: { name: 'completed_at' },
  provider: { name: 'provider' },
  kind: { name: 'kind' },
};

/** The longest prefix `idsStartingWith` looks up: no task id is this long (longer ones match nothing). */
export const MAX_PREFIX = 1000;

/** Fields `update` may write. */
export type TaskPatch = Partial<Omit<TaskRow, 'id' | 'fingerprint' | 'createdAt'>>;

export interface NewTask {
  id: string;
  fingerprint: string;
  provider: ProviderName;
  kind: TaskKind;
  request: JsonObject;
  warnings: string[];
  ownerPid: number;
  ownerHost: string;
  leaseUntil: number;
  now: number;
  /** The OAuth principal creating it; absent: the local one (stored as null). */
  principal?: string;
}

/**
 * The reuse rule every ledger's `claim` applies (and the job service predicts before asking anyone to
 * pay): whether a claim makes a new task although `latest` exists for its fingerprint. A task still
 * running (`submitting`, `pending`, `processing`) is never replaced, not even by `force`.
 */
export function claimReplaces(
  latest: TaskRow,
  opts: Pick<ClaimOptions, 'force' | 'recreateFailed'>,
): boolean {
  const ended = latest.status === 'success' || latest.status === 'failed' || latest.status === 'unknown';
  return (opts.force && ended) || (!!opts.recreateFailed && latest.status === 'failed');
}

export type ClaimDecision =
  | { kind: 'created'; row: TaskRow }
  | { kind: 'reused'; row: TaskRow }
  /** A claim whose owner is gone: the caller now owns it (and must look at `phase`). */
  | { kind: 'taken_over'; row: TaskRow };

export interface ClaimOptions {
  force: boolean;
  /** Free providers (the local engine): a failed task is simply run again. */
  recreateFailed?: boolean;
  /** Whether the owner of a `submitting` row is alive (pid on this host; lease elsewhere). */
  isOwnerAlive(row: TaskRow): boolean;
  /**
   * Runs inside the claim's transaction, only when a new task is about to be inserted (not on a
   * reuse or take-over), with the spend totals since `since` read in that transaction; throwing
   * refuses the claim. Spend caps use it, so that two processes or instances cannot both pass a cap.
   */
  guard?: {
    since: number;
    /** Also read the totals of this principal's tasks (per-user caps), passed as `own`. */
    principal?: string;
    check(totals: SpendTotal[], own?: SpendTotal[]): void;
  };
  /** What the new task is expected to cost, recorded in the same transaction as the claim. */
  cost?: { amount: number | null; unit: string; paid: boolean };
}

export interface ListOptions {
  limit: number;
  /** Only this principal's tasks (null: the local principal's); absent: everyone's. */
  principal?: string | null;
  unfinishedOnly?: boolean;
  provider?: string;
}

/** Where a page of `list` ended: the last row's creation time and a per-backend row sequence. */
export interface PageKey {
  createdAt: number;
  rowid: number;
}

/** The ledger's cost records (spend caps and reports). */
export interface CostStore {
  /** Replaces what a task cost (a better figure than the estimate: the provider's, or a balance delta). */
  record(
    taskId: string,
    patch: { amount: number | null; source: string; paid?: boolean },
    now: number,
  ): Promise<void>;
  /** Spend of tasks claimed at or after `since` (ms), per provider and unit; only `principal`'s when given. */
  totalsSince(since: number, principal?: string): Promise<SpendTotal[]>;
  /** Cost records of tasks claimed in [since, until), oldest first; only `taskIds` when given. */
  list(since: number, until?: number, taskIds?: string[]): Promise<CostRow[]>;
  markBalanceBefore(taskId: string, balance: number, at: number): Promise<void>;
  balanceBefore(taskId: string): Promise<{ balance: number; at: number } | undefined>;
  othersOverlapping(provider: string, exceptId: string, from: number, to: number): Promise<number>;
  othersActiveSince(provider: string, exceptId: string, since: number): Promise<number>;
}

/** The request behind a resumable answer stream of the HTTP face (ledger-streams.ts). */
export interface StreamRow {
  id: string;
  /** Who sent it (null: the local operator); a resumption must come from the same one. */
  principal: string | null;
  /** The JSON-RPC request, as JSON. */
  request: string;
  /** The protocol headers it came with, as a JSON object. */
  headers: string;
  createdAt: number;
  /** When a stream that carried its answer to the end was seen to close (ms). */
  answeredAt?: number;
}

export interface StreamStore {
  /** Keeps `row`; rows older than `keepMs` before it are pruned now and then. */
  put(row: StreamRow, keepMs: number): Promise<void>;
  /** The stream `id`, unless it was created before `notBefore` (ms). */
  get(id: string, notBefore: number): Promise<StreamRow | undefined>;
  /** Records that a stream of `id` carried its answer to the end. */
  answered(id: string, now: number): Promise<void>;
}

export interface LedgerStore {
  /** `sqlite` or `postgres`, and where (no password), for `doctor` and logs. */
  readonly backend: 'sqlite' | 'postgres';
  describe(): string;
  readonly spend: CostStore;
  readonly streams: StreamStore;
  close(): Promise<void>;

  claim(task: NewTask, opts: ClaimOptions): Promise<ClaimDecision>;
  /**
   * Compare-and-set take-over of a `submitting` claim: succeeds (returning the row, now owned by
   * `owner`) only if the row is still `submitting` and still owned by `expected` (pid and host).
   */
  takeOver(
    id: string,
    expected: { pid: number | null; host: string | null },
    owner: { pid: number; host: string; leaseUntil: number },
    now: number,
  ): Promise<TaskRow | undefined>;
  /**
   * Writes `phase = sent` just before the paid request leaves, only if `owner` still owns the
   * `submitting` claim; undefined when another process or instance took it over meanwhile (then this
   * one must not send: a frozen owner resuming after its lease ran out would pay twice).
   */
  markSent(id: string, owner: { pid: number; host: string }, now: number): Promise<TaskRow | undefined>;
  get(id: string): Promise<TaskRow | undefined>;
  /** The newest non-rejected task with this fingerprint (a read-only preview of what a claim would reuse). */
  latest(fingerprint: string): Promise<TaskRow | undefined>;
  /** Provider task ids already recorded for this fingerprint (what a forced request replaces). */
  providerTaskIds(fingerprint: string): Promise<string[]>;
  findByProviderTaskId(provider: string, providerTaskId: string): Promise<TaskRow | undefined>;
  /**
   * Newest first, keyset-paged: `after` is the previous page's `next` (stable under inserts). Read along
   * an index in order, whatever the filters and however deep: no backend sorts the ledger for a page.
   */
  page(opts: ListOptions & { after?: PageKey }): Promise<{ rows: TaskRow[]; next?: PageKey }>;
  /** Rows that a recovery pass must look at: unfinished and not rejected, oldest first. */
  unfinished(): Promise<TaskRow[]>;
  /**
   * Applies a partial update and returns the row as stored; a patch that would take a task that ended
   * (success, failed) back to an earlier status writes nothing (the row as it stands is returned).
   */
  update(id: string, patch: TaskPatch, now: number): Promise<TaskRow>;

  uploadLookup(
    provider: string,
    scope: string,
    sha256: string,
    size: number,
  ): Promise<{ url: string; meta: JsonObject | null } | undefined>;
  uploadStore(
    provider: string,
    scope: string,
    sha256: string,
    size: number,
    url: string,
    meta: JsonObject | undefined,
    now: number,
  ): Promise<void>;
  recordDownload(taskId: string, path: string, sha256: string, size: number, now: number): Promise<void>;

  /**
   * Task ids starting with `prefix` (ASCII case ignored; `%` and `_` are literal), newest first, at most
   * `limit`, and how many non-rejected tasks match in all (completion).
   */
  idsStartingWith(
    prefix: string,
    limit: number,
    principal?: string | null,
  ): Promise<{ ids: string[]; total: number }>;
  /**
   * Calls `listener` when another process or instance changed a task, with its id (both backends log
   * ids: SQLite's `task_changes`, PostgreSQL's notifications); without an id only when changes may have
   * been missed (a watcher far behind, a reconnect): then anything may have changed. SQLite watches its
   * file; PostgreSQL listens for a notification. Returns a stop function.
   */
  watch(listener: (taskId?: string) => void): () => void;
}
