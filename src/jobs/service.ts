/**
 * JobService: the facade tools and the CLI call. Reuse before create, single flight, durable claims,
 * bounded waits, recovery — each in its own unit (create.ts, submission.ts, waiting.ts, recovery.ts)
 * sharing one JobCore. The units load together, with the first call that needs one (engine.ts): the
 * one lazy boundary of the job layer. What this file answers by itself (which provider, a task's view,
 * the job events) needs none of them.
 */
import type { EventEmitter } from 'node:events';
import type { InputRole, Provider, ProviderName, ResolvedInput, TaskKind } from '../providers/provider.js';
import type { CancelOutcome, TaskFacts } from './cancel.js';
import { type CallOptions, JobCore, type JobEvent, type JobServiceDeps } from './core.js';
import type { CreateRequest, CreateResult } from './create.js';
import type { CreditsEntry } from './credits.js';
import type { JobEngine, ListOptions, TaskRef } from './engine.js';
import { pickProvider, providersFor } from './pick.js';
import type { PrincipalScope } from './principal.js';
import type { LipSyncRequest } from './requests.js';
import type { SpendReport } from './spend.js';
import type { DryRun, SpentToday, TaskCost } from './spend-gate.js';
import type { TaskRow } from './store.js';
import type { TaskView } from './view.js';

export type { CancelOutcome, ClientCancel, TaskFacts } from './cancel.js';
export type { CallOptions, ConfirmJob, JobEvent, JobServiceDeps, PreflightFn } from './core.js';
export type { CreateAction, CreateRequest, CreateResult } from './create.js';
export type { CreditsEntry } from './credits.js';
export type { TaskRef } from './engine.js';
export type { LipSyncRequest } from './requests.js';
export type { SpendReport } from './spend.js';
export type { DryRun, SpentToday, TaskCost } from './spend-gate.js';

export class JobService {
  private readonly core: JobCore;
  private engineLoading?: Promise<JobEngine>;

  constructor(deps: JobServiceDeps) {
    this.core = new JobCore(deps);
    // When a task ends, record what it cost (a free balance read after the job, where that tells).
    this.core.events.on('job', (e: JobEvent) => {
      if (e.event !== 'status' || (e.status !== 'success' && e.status !== 'failed')) return;
      const p = this.engine().then((engine) => engine.settleAtEnd(e));
      this.core.track(p.catch((err) => this.core.warn(e.task_id, err, 'could not record the cost')));
    });
  }

  /**
   * The job units, imported with the first call that needs them: a start that runs no job (an MCP
   * client asking for the tool list) loads none of them. A failed import is tried again next call.
   */
  private engine(): Promise<JobEngine> {
    this.engineLoading ??= import('./engine.js').then(({ JobEngine }) => new JobEngine(this.core));
    this.engineLoading.catch(() => {
      this.engineLoading = undefined;
    });
    return this.engineLoading;
  }

  private get d(): JobServiceDeps {
    return this.core.d;
  }

  get providers(): Map<ProviderName, Provider> {
    return this.d.providers;
  }

  /** Job events ('job': JobEvent) for observers such as MCP logging. */
  get events(): EventEmitter {
    return this.core.events;
  }

  /** Picks the provider for a call: named, then LIPSYNC_DEFAULT_PROVIDER, then the first with a key, then local. */
  pickProvider(name: string | undefined, kind: TaskKind): Provider {
    return pickProvider(this.d, name, kind);
  }

  providersFor(kind: TaskKind): string[] {
    return providersFor(this.d.providers, kind);
  }

  async resolveInputs(
    raw: Partial<Record<InputRole, string>>,
    extraRoots: string[] = [],
  ): Promise<Partial<Record<InputRole, ResolvedInput>>> {
    return (await this.engine()).recovery.resolveInputs(raw, extraRoots);
  }

  /** A dry run: what `create` would do and cost. Reads only (hashes, ffprobe, a free balance read). */
  async estimate(req: CreateRequest, opts: CallOptions = {}): Promise<DryRun> {
    return (await this.engine()).estimate(req, opts);
  }

  /** Create or reuse. Answers within max(`submitWaitMs`, `waitSeconds`), whatever the provider does. */
  async create(req: CreateRequest, opts: CallOptions = {}): Promise<CreateResult> {
    return (await this.engine()).create(req, opts);
  }

  /**
   * create_lip_sync / `run`: checks the combination, fills the provider's defaults (they are part of the
   * fingerprint, so "normal" and an omitted playback type are the same job), then `create`.
   */
  async createLipSync(req: LipSyncRequest, opts: CallOptions = {}): Promise<CreateResult> {
    return (await this.engine()).createLipSync(req, opts);
  }

  /** create_lip_sync with dry_run: what it would do and cost. */
  async estimateLipSync(req: LipSyncRequest, opts: CallOptions = {}): Promise<DryRun> {
    return (await this.engine()).estimateLipSync(req, opts);
  }

  /** Looks at a task; with `waitSeconds` > 0 waits (bounded) for it to finish, reporting progress. */
  async status(ref: TaskRef, waitSeconds = 0, opts: CallOptions = {}): Promise<TaskView> {
    return (await this.engine()).status(ref, waitSeconds, opts);
  }

  /**
   * Looks at a task named by an id of either kind (ours first, then a provider's; see findAnywhere), then
   * as `status`. `provider` narrows the provider ids to one provider.
   */
  async statusByAnyId(id: string, provider: string | undefined, waitSeconds = 0, opts: CallOptions = {}) {
    return (await this.engine()).statusByAnyId(id, provider, waitSeconds, opts);
  }

  /**
   * Whether a view is as final as it can get: success or failed, or `unknown` where the provider has
   * no way to look the task up (while it can, a later look may still settle it).
   */
  isSettled(view: TaskView): boolean {
    if (view.completed) return true;
    if (view.status !== 'unknown') return false;
    return !this.d.providers.get(view.provider as ProviderName)?.findExisting;
  }

  /** One page, newest first, with what each task cost; `nextCursor` is there while older tasks remain. */
  async list(opts: ListOptions): Promise<{ tasks: (TaskView & { cost?: TaskCost })[]; nextCursor?: string }> {
    return (await this.engine()).list(opts);
  }

  /** A task's view with what it cost: its cost record, else `free` when the provider or job is free. */
  async withCost(view: TaskView): Promise<TaskView & { cost?: TaskCost }> {
    return (await this.engine()).withCost(view);
  }

  /** Spend per provider per day and per task, over the last `days` days (today included). */
  async spendReport(days = 7, scope?: PrincipalScope): Promise<SpendReport> {
    return (await this.engine()).spendReport(days, scope);
  }

  /** Today's spend per provider, with the caps that apply. */
  async spentToday(): Promise<SpentToday[]> {
    return (await this.engine()).spentToday();
  }

  viewOf(row: TaskRow): TaskView {
    return this.core.viewOf(row);
  }

  /**
   * A task as the MCP Tasks extension shows it (cancel.ts). `look`: one look first, as get_task_status
   * with no wait does (a provider look when one is due). `resume`: a new call asked for this task
   * again, so a client's earlier cancel of the waiting no longer applies.
   */
  async taskFacts(
    taskId: string,
    opts: CallOptions = {},
    how: { look?: boolean; resume?: boolean } = {},
  ): Promise<TaskFacts> {
    return (await this.engine()).taskFacts(taskId, opts, how, (view) => this.isSettled(view));
  }

  /** A client's cancel (MCP `tasks/cancel`): stops a local job; a paid one is never undone (cancel.ts). */
  async cancel(taskId: string, signal?: AbortSignal, scope?: PrincipalScope): Promise<CancelOutcome> {
    return (await this.engine()).cancel(taskId, signal ?? new AbortController().signal, scope);
  }

  /**
   * Uploads or registers an input with a provider, through the cache. A transfer longer than the call
   * budget goes on in the background: the answer says so, and the same call later returns its URL.
   */
  async uploadAsset(providerName: string | undefined, raw: string, role: InputRole, opts: CallOptions = {}) {
    const provider = this.pickProvider(providerName, 'lip_sync');
    return (await this.engine()).transfers.upload(provider, raw, role, opts);
  }

  /**
   * Saves a finished result. A download longer than the call budget goes on in the background: the
   * answer says so, and the same call later returns the saved file.
   */
  async download(taskId: string, filename: string | undefined, opts: CallOptions = {}) {
    return (await this.engine()).download(taskId, filename, opts);
  }

  /** Every provider's configuration state and balance, within one overall budget. Never spends. */
  async credits(providerName: string | undefined, signal?: AbortSignal): Promise<CreditsEntry[]> {
    return (await this.engine()).credits(providerName, signal);
  }

  /** Resolves when background work (submissions, event streams) is done, or after `timeoutMs`. */
  async drain(timeoutMs: number): Promise<void> {
    const all = Promise.allSettled([...this.core.background]);
    const done = await Promise.race([
      all.then(() => true),
      new Promise<boolean>((r) => setTimeout(() => r(false), timeoutMs).unref()),
    ]);
    if (done) return;
    // Out of time: stop uploads and live streams. Claims stay durable; the next start recovers them
    // (an unsent claim is resubmitted for free, a sent one is reconciled, a stream is followed by polling).
    for (const c of this.core.controllers) c.abort();
    await Promise.race([all, new Promise((r) => setTimeout(r, 200).unref())]);
  }

  /** At start: take over dead owners' claims and look at every unfinished task once (bounded). */
  async recover(): Promise<{ resumed: number; checked: number }> {
    return (await this.engine()).recovery.recover();
  }
}
