/**
 * The state the job service's parts share: dependencies, in-process bookkeeping (what is being
 * submitted, streamed, polled), wake-ups for waiters, and the few ledger writes every part makes.
 * Submission, waiting and recovery each hold a reference to one JobCore.
 */

import { EventEmitter } from 'node:events';
import type { Clock } from '../clock.js';
import { AppError, toUserError, type UserError } from '../errors.js';
import type { HttpClient } from '../http/client.js';
import type { Logger } from '../logger.js';
import type { InputPolicy } from '../media/inputs.js';
import type {
  ExistingTask,
  InputRole,
  JsonObject,
  Provider,
  ProviderName,
  ResolvedInput,
  Snapshot,
} from '../providers/provider.js';
import type { Redactor } from '../redact.js';
import { HOST, isPidAlive } from '../util/pid.js';
import type { PrincipalScope } from './principal.js';
import type { SpendSettings } from './spend.js';
import type { LedgerStore, TaskPatch, TaskRow } from './store.js';
import { noteFilesElsewhere, type TaskView, toView } from './view.js';

export type PreflightFn = (args: {
  inputs: Partial<Record<InputRole, ResolvedInput>>;
  provider: Provider;
  signal: AbortSignal;
  params?: JsonObject;
}) => Promise<{ warnings: string[] }>;

export interface JobServiceDeps {
  ledger: LedgerStore;
  providers: Map<ProviderName, Provider>;
  clock: Clock;
  log: Logger;
  redactor: Redactor;
  inputPolicy: InputPolicy;
  outputDir: string;
  defaultProvider: string | undefined;
  /** Default `playback_type` (JOGG_LIP_SYNC_DEFAULT_PLAYBACK_TYPE). */
  defaultPlaybackType?: string;
  /** How long a claim stays owned without a heartbeat. */
  leaseMs: number;
  preflight?: PreflightFn;
  /** Checks one input is real media of a fitting kind before it is uploaded on its own (upload_asset). */
  checkUpload?: (
    input: ResolvedInput,
    role: InputRole,
    provider: Provider,
    signal: AbortSignal,
  ) => Promise<unknown>;
  pid?: number;
  /** This machine's name as a claim owner (tests pretend to be another machine). */
  host?: string;
  /** Longest time `create` waits for uploads + the create request before answering (ms). */
  submitWaitMs?: number;
  /** For downloads of results. */
  http: HttpClient;
  /** Real-time cap of one provider look inside a wait (default 15 s). */
  maxLookMs?: number;
  /** Overall real-time budget of credits/upload/download calls (default 45 s: clients give up at ~60 s). */
  callBudgetMs?: number;
  /** Most provider looks a start-up recovery runs at once (default 8). */
  recoveryConcurrency?: number;
  /** Spend caps, confirmation, audio length for estimates (spend.ts). */
  spend?: SpendSettings;
  /** Called once a task is final (success, failed, or released unsent): e.g. removes its exposed inputs. */
  onFinal?: (taskId: string) => Promise<unknown>;
}

export interface CallOptions {
  signal?: AbortSignal;
  /** Progress for the caller: MCP notifications, CLI stderr lines. */
  onProgress?: (message: string, progress?: number, total?: number) => void;
  /** Extra allowed input roots (MCP client roots) for this call. */
  extraRoots?: string[];
  /** Told the task id as soon as the call knows it (so the caller can follow its events). */
  onTask?: (taskId: string) => void;
  /**
   * Asks the user to confirm a paid job (MCP elicitation): `accept`, `decline`, or `unsupported` when
   * the client cannot be asked. Absent: nobody can be asked.
   */
  confirm?: (message: string, job: ConfirmJob) => Promise<'accept' | 'decline' | 'unsupported'>;
  /** The user already agreed to pay for this call's job (a tool's `confirm: true`): nobody is asked. */
  confirmed?: boolean;
  /**
   * How this caller's user says yes, for the hint of `confirmation_required` (it must fit the surface):
   * MCP (the default) calls again with `confirm: true`; the CLI runs the command again with `--confirm`.
   */
  confirmHow?: string;
  /** Who the call acts for (issue 29): its tasks, its lists, its caps; absent: the local principal. */
  principal?: PrincipalScope;
}

/**
 * The paid job a confirmation is about: what a 2026-07-28 client's signed pending confirmation binds
 * (its answer must come back for the same job, at no higher cost).
 */
export interface ConfirmJob {
  /** The job's fingerprint: provider, kind, inputs by content, params (fingerprint.ts). */
  fingerprint: string;
  provider: string;
  /** A force_recreate (a new paid job although one exists for these inputs). */
  force: boolean;
  /** The estimate the user is asked to agree to (null: unknown until the job ends). */
  amount: number | null;
  unit: string;
}

/** A job event, for observers (MCP logging notifications, future subscriptions). */
export interface JobEvent {
  level: 'debug' | 'info' | 'warning' | 'error';
  task_id: string;
  provider: string;
  event: 'created' | 'reused' | 'status' | 'retry' | 'recovered' | 'unknown' | 'rejected';
  message: string;
  status?: string;
}

export class JobCore {
  readonly d: JobServiceDeps;
  readonly pid: number;
  /** When this service started (injected clock): the start-up recovery pass is about older tasks. */
  readonly startedAt: number;
  /** Submissions running in this process, by task id. */
  readonly inflight = new Map<string, Promise<void>>();
  /** Tasks whose live event stream is being drained here (no status polling meanwhile). */
  readonly live = new Set<string>();
  /** One provider look per task at a time. */
  readonly polling = new Map<string, Promise<TaskRow>>();
  readonly lastPollAt = new Map<string, number>();
  /**
   * Dead owners' unsent claims left here because their files are on another machine (`host`), by task
   * id, with the owner they were left under: the view says so while that owner still holds the claim.
   */
  readonly filesElsewhere = new Map<
    string,
    { ownerPid: number | null; ownerHost: string | null; host: string }
  >();
  readonly background = new Set<Promise<unknown>>();
  /** Signals of submissions and live event streams, aborted when a drain runs out of time. */
  readonly controllers = new Set<AbortController>();
  private readonly wakeups = new EventEmitter();
  readonly events = new EventEmitter();

  constructor(deps: JobServiceDeps) {
    this.d = deps;
    this.pid = deps.pid ?? process.pid;
    this.startedAt = deps.clock.now();
    this.wakeups.setMaxListeners(0);
    this.events.setMaxListeners(0);
  }

  get ledger(): LedgerStore {
    return this.d.ledger;
  }

  /** This process as a claim owner. */
  get host(): string {
    return this.d.host ?? HOST;
  }

  now(): number {
    return this.d.clock.now();
  }

  /**
   * Whether the owner of a claim is alive: this process; a live pid on this machine; on another
   * machine (a shared PostgreSQL ledger) its pid cannot be checked, so its lease decides.
   */
  isOwnerAlive(row: Pick<TaskRow, 'ownerPid' | 'ownerHost' | 'leaseUntil'>): boolean {
    if (row.ownerPid === null) return false;
    if (row.ownerHost === null || row.ownerHost === this.host)
      return row.ownerPid === this.pid || isPidAlive(row.ownerPid);
    return row.leaseUntil !== null && row.leaseUntil >= this.now();
  }

  async row(id: string): Promise<TaskRow> {
    const row = await this.d.ledger.get(id);
    if (!row) throw new AppError('not_found', `Task ${id} is no longer in the ledger.`);
    return row;
  }

  async update(id: string, patch: TaskPatch): Promise<TaskRow> {
    const row = await this.d.ledger.update(id, patch, this.now());
    // Every row write, for change feeds (MCP resource subscriptions): `events.on('row', (id) => ...)`.
    this.events.emit('row', id);
    return row;
  }

  viewOf(row: TaskRow): TaskView {
    const provider = this.d.providers.get(row.provider);
    const view = toView(row, provider, this.now());
    const away = this.filesElsewhere.get(row.id);
    if (
      away &&
      row.status === 'submitting' &&
      row.ownerPid === away.ownerPid &&
      row.ownerHost === away.ownerHost
    )
      noteFilesElsewhere(view, away.host, provider);
    return view;
  }

  emit(event: Omit<JobEvent, 'message'> & { message: string }): void {
    this.events.emit('job', { ...event, message: this.d.redactor.redact(event.message) });
  }

  wake(id: string): void {
    this.wakeups.emit(id);
  }

  /** Resolves after `ms`, or earlier when the task changes here; rejects when `signal` aborts. */
  sleepOrUpdate(id: string, ms: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const ctl = new AbortController();
      const cleanup = () => {
        this.wakeups.off(id, onWake);
        signal?.removeEventListener('abort', onAbort);
        ctl.abort();
      };
      const onWake = () => {
        cleanup();
        resolve();
      };
      const onAbort = () => {
        cleanup();
        reject(signal?.reason ?? new Error('aborted'));
      };
      if (signal?.aborted) return onAbort();
      this.wakeups.once(id, onWake);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.d.clock.sleep(ms, ctl.signal).then(onWake, () => undefined);
    });
  }

  track<T>(p: Promise<T>): void {
    this.background.add(p);
    p.finally(() => this.background.delete(p)).catch(() => undefined);
  }

  userError(err: unknown): UserError {
    return toUserError(err, this.d.redactor.redact);
  }

  warn(task: string, err: unknown, msg: string): void {
    this.d.log.warn({ task, err: this.d.redactor.redact(String(err)) }, msg);
  }

  pollInterval(row: TaskRow): number {
    if (row.status === 'submitting') return 1000;
    return this.d.providers.get(row.provider)?.timing(row.kind).pollIntervalMs ?? 10_000;
  }

  /** The provider accepted the job: record its handle and first snapshot. */
  async applyStart(
    id: string,
    started: { operation: JsonObject; providerTaskId: string; snapshot: Snapshot },
  ) {
    await this.update(id, {
      status: 'pending',
      phase: null,
      ownerPid: null,
      leaseUntil: null,
      operation: started.operation,
      providerTaskId: started.providerTaskId,
    });
    await this.applySnapshot(id, started.snapshot, false);
  }

  /** Follow a task the provider already had (found by inputs) instead of creating one. */
  async adopt(id: string, found: ExistingTask, foundExisting: boolean) {
    const snapshot: Snapshot = {
      ...found.snapshot,
      extra: { ...(found.snapshot.extra ?? {}), found_existing: foundExisting },
    };
    await this.applyStart(id, { ...found, snapshot });
  }

  /** The claim proved to create nothing: history only, never reused, nothing charged. */
  async reject(id: string, err: unknown) {
    const error = this.userError(err);
    const row = await this.update(id, {
      status: 'failed',
      phase: null,
      rejected: true,
      ownerPid: null,
      leaseUntil: null,
      error,
      completedAt: this.now(),
    });
    this.emit({
      level: 'warning',
      task_id: id,
      provider: row.provider,
      event: 'rejected',
      message: `not submitted: ${error.message}`,
    });
    this.finalized(id);
    this.wake(id);
  }

  /** Runs the final-task hook in the background (tracked, so a drain waits for it); never throws. */
  finalized(id: string): void {
    const hook = this.d.onFinal;
    if (!hook) return;
    this.track(hook(id).catch((err) => this.warn(id, err, 'clean-up after the task ended failed')));
  }

  async applySnapshot(id: string, snap: Snapshot, counted: boolean) {
    const row = await this.d.ledger.get(id);
    if (!row) return;
    const now = this.now();
    const providerStatus = snap.providerStatus ?? snap.status;
    const same = row.providerStatus === providerStatus;
    const terminal = snap.status === 'success' || snap.status === 'failed';
    const status = snap.status === 'unknown' ? row.status : snap.status;
    const stored = await this.update(id, {
      status,
      snapshot: stripOperation(snap),
      providerStatus,
      operation: snap.operation ?? row.operation,
      polls: counted ? row.polls + 1 : row.polls,
      unchangedPolls: counted ? (same ? row.unchangedPolls + 1 : 0) : row.unchangedPolls,
      error: snap.error
        ? { code: 'provider_failed', message: snap.error.message }
        : snap.status === 'failed'
          ? row.error
          : null,
      completedAt: terminal ? (row.completedAt ?? now) : null,
    });
    // Another instance recorded the end meanwhile: this older reading was not written (ledger rule).
    if (stored.status !== status) return this.wake(id);
    if (status !== row.status) {
      this.emit({
        level: status === 'failed' ? 'error' : 'info',
        task_id: id,
        provider: row.provider,
        event: 'status',
        status,
        message: `${row.provider} task ${id}: ${row.status} -> ${status}${snap.error ? ` (${snap.error.message})` : ''}`,
      });
      if (terminal) this.finalized(id);
    }
    this.wake(id);
  }
}

function stripOperation(s: Snapshot): Snapshot {
  const { operation: _op, ...rest } = s;
  return rest;
}

export function isFinal(row: TaskRow): boolean {
  return row.status === 'success' || row.status === 'failed' || row.rejected;
}
