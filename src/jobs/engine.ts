/**
 * The job units behind the JobService, loaded together with the first call that needs one (service.ts
 * imports this module on first use: the one lazy boundary of the job layer). A start that runs no job,
 * such as an MCP client asking for the tool list, loads none of it, nor what it uses (input checks,
 * DNS, hashing, the spend rules). Everything here imports what it needs plainly.
 */
import type { ProviderName } from '../providers/provider.js';
import { deadline } from '../util/deadline.js';
import { adoptForeign, findAnywhere } from './adopt.js';
import { type CancelOutcome, cancelTask, factsOf, resumeTask, type TaskFacts } from './cancel.js';
import type { CallOptions, JobCore, JobEvent } from './core.js';
import { type CreateRequest, type CreateResult, Creator } from './create.js';
import { type CreditsEntry, readCredits } from './credits.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { notFound, type PrincipalScope, sees } from './principal.js';
import { Recovery } from './recovery.js';
import type { LipSyncRequest } from './requests.js';
import { isPaid, type SpendReport, settleAtEnd } from './spend.js';
import {
  type DryRun,
  type SpentToday,
  spendReport,
  spentToday,
  type TaskCost,
  withCosts,
} from './spend-gate.js';
import type { TaskRow } from './store.js';
import { Submitter } from './submission.js';
import { CALL_BUDGET_MS, Transfers } from './transfers.js';
import type { TaskView } from './view.js';
import { Waiter } from './waiting.js';

export type TaskRef = { taskId: string } | { provider: string; providerTaskId: string };

export interface ListOptions {
  limit?: number;
  unfinishedOnly?: boolean;
  provider?: string;
  cursor?: string;
  /** Only this principal's tasks (the local principal: everyone's). */
  principal?: PrincipalScope;
}

export class JobEngine {
  readonly recovery: Recovery;
  readonly submitter: Submitter;
  readonly waiter: Waiter;
  /** Uploads and downloads running in the background, by what they transfer. */
  readonly transfers: Transfers;
  readonly creator: Creator;

  constructor(private readonly core: JobCore) {
    const recovery = new Recovery(core);
    // Reconciled with the plain provider, not the cost-tracking one a submission uses: a task found
    // after our paid request left is that request's job, paid (never recorded as a free reuse).
    const submitter = new Submitter(core, (row, p, s) =>
      recovery.reconcile(row, this.d.providers.get(row.provider) ?? p, s),
    );
    recovery.submitter = submitter;
    this.recovery = recovery;
    this.submitter = submitter;
    this.waiter = new Waiter(core, recovery);
    this.transfers = new Transfers(core, submitter, (raw, roots) => recovery.resolveInputs(raw, roots));
    this.creator = new Creator(core, { recovery, submitter, waiter: this.waiter });
  }

  private get d() {
    return this.core.d;
  }

  create(req: CreateRequest, opts: CallOptions): Promise<CreateResult> {
    return this.creator.create(req, opts);
  }

  estimate(req: CreateRequest, opts: CallOptions): Promise<DryRun> {
    return this.creator.estimate(req, opts);
  }

  createLipSync(req: LipSyncRequest, opts: CallOptions): Promise<CreateResult> {
    return this.creator.create(this.creator.lipSyncRequest(req), opts);
  }

  estimateLipSync(req: LipSyncRequest, opts: CallOptions): Promise<DryRun> {
    return this.creator.estimate(this.creator.lipSyncRequest(req), opts);
  }

  /** When a task ends, record what it cost (a free balance read after the job, where that tells). */
  async settleAtEnd(e: JobEvent): Promise<void> {
    const deps = { ledger: this.d.ledger, now: () => this.core.now(), signal: AbortSignal.timeout(15_000) };
    await settleAtEnd(this.d.providers.get(e.provider as ProviderName), e.task_id, deps);
  }

  async status(ref: TaskRef, waitSeconds: number, opts: CallOptions): Promise<TaskView> {
    // A user (OAuth) never adopts a task the ledger lacks: it would be the provider account's, not theirs.
    const local = opts.principal?.owner === undefined;
    const row =
      'taskId' in ref
        ? await this.lookup(ref, opts.principal)
        : ((await this.d.ledger.findByProviderTaskId(ref.provider, ref.providerTaskId)) ??
          (local ? await adoptForeign(this.core, ref, opts.signal) : undefined) ??
          (await this.lookup(ref, opts.principal)));
    if (!sees(opts.principal, row)) throw notFound();
    opts.onTask?.(row.id);
    return this.waiter.follow(row, waitSeconds, opts);
  }

  async statusByAnyId(id: string, provider: string | undefined, waitSeconds: number, opts: CallOptions) {
    if (opts.principal?.owner !== undefined) return this.status({ taskId: id }, waitSeconds, opts);
    const row = await findAnywhere(this.core, id, provider, {
      signal: opts.signal,
      onFound: opts.onProgress,
    });
    opts.onTask?.(row.id);
    return this.waiter.follow(row, waitSeconds, opts);
  }

  async list(opts: ListOptions): Promise<{ tasks: (TaskView & { cost?: TaskCost })[]; nextCursor?: string }> {
    const page = await this.d.ledger.page({
      limit: Math.min(opts.limit ?? 20, 200),
      unfinishedOnly: opts.unfinishedOnly,
      provider: opts.provider,
      principal: opts.principal?.owner,
      after: opts.cursor === undefined ? undefined : decodeCursor(opts.cursor),
    });
    return {
      tasks: await withCosts(
        this.d.ledger,
        page.rows.map((r) => this.core.viewOf(r)),
      ),
      nextCursor: page.next ? encodeCursor(page.next) : undefined,
    };
  }

  /** The view with what the task cost: its cost record, else `free` when the provider or job is free. */
  async withCost(view: TaskView): Promise<TaskView & { cost?: TaskCost }> {
    const [costed] = await withCosts(this.d.ledger, [view]);
    if (costed?.cost) return costed;
    const provider = this.d.providers.get(view.provider as ProviderName);
    if (provider && !isPaid(provider, view.kind))
      return { ...view, cost: { amount: 0, unit: 'free', source: 'estimate' } };
    return view;
  }

  spendReport(days: number, scope?: PrincipalScope): Promise<SpendReport> {
    return spendReport(this.d.ledger, this.core.now(), days, scope?.owner);
  }

  spentToday(): Promise<SpentToday[]> {
    return spentToday(this.d.ledger, this.core.now(), [...this.d.providers.values()], this.d.spend);
  }

  async download(taskId: string, filename: string | undefined, opts: CallOptions) {
    return this.transfers.download(await this.lookup({ taskId }, opts.principal), filename, opts);
  }

  async credits(providerName: string | undefined, signal?: AbortSignal): Promise<CreditsEntry[]> {
    const budget = deadline(this.d.callBudgetMs ?? CALL_BUDGET_MS, signal);
    try {
      return await readCredits(this.d.providers.values(), providerName, budget.signal, (e) =>
        this.core.userError(e),
      );
    } finally {
      budget.clear();
    }
  }

  /** A task as the MCP Tasks extension shows it (cancel.ts); see JobService.taskFacts. */
  async taskFacts(
    taskId: string,
    opts: CallOptions,
    how: { look?: boolean; resume?: boolean },
    settled: (view: TaskView) => boolean,
  ): Promise<TaskFacts> {
    if (how.look !== false) await this.status({ taskId }, 0, opts);
    let row = await this.lookup({ taskId }, opts.principal);
    if (how.resume) row = await resumeTask(this.core, row);
    const view = this.core.viewOf(row);
    return factsOf(this.core, row, view, settled(view));
  }

  /** A client's cancel (MCP `tasks/cancel`): stops a local job; a paid one is never undone. */
  async cancel(taskId: string, signal: AbortSignal, scope?: PrincipalScope): Promise<CancelOutcome> {
    return cancelTask(this.core, await this.lookup({ taskId }, scope), signal);
  }

  /** The task `ref` names, if `scope` may see it: another user's is answered as one that does not exist. */
  private async lookup(ref: TaskRef, scope?: PrincipalScope): Promise<TaskRow> {
    const row =
      'taskId' in ref
        ? await this.d.ledger.get(ref.taskId)
        : await this.d.ledger.findByProviderTaskId(ref.provider, ref.providerTaskId);
    if (!row || !sees(scope, row)) throw notFound();
    return row;
  }
}
