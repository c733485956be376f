/**
 * JobService: the facade tools and the CLI call. Reuse before create, single flight, durable claims,
 * bounded waits, recovery — each in its own unit (submission.ts, waiting.ts, recovery.ts) sharing one
 * JobCore; this file only decides which of them a call needs.
 */

import type { EventEmitter } from 'node:events';
import { AppError } from '../errors.js';
import type {
  InputRole,
  JsonObject,
  Provider,
  ProviderName,
  ResolvedInput,
  TaskKind,
} from '../providers/provider.js';
import { type CallOptions, isFinal, JobCore, type JobEvent, type JobServiceDeps } from './core.js';
import type { CreditsEntry } from './credits.js';
import {
  fingerprintFor,
  heldByAnother,
  notFound,
  owns,
  type PrincipalScope,
  sees,
  TEAM_REUSE_WARNING,
} from './principal.js';
import type { Recovery, Taker } from './recovery.js';
import type { LipSyncRequest } from './requests.js';
import type { SpendReport } from './spend.js';
import type { DryRun, SpendDeps, SpentToday, TaskCost } from './spend-gate.js';
import { type ClaimOptions, claimReplaces, type TaskRow } from './store.js';
import type { Submitter } from './submission.js';
import type { Transfers } from './transfers.js';
import type { TaskView } from './view.js';
import type { Waiter } from './waiting.js';

export type { CallOptions, ConfirmJob, JobEvent, JobServiceDeps, PreflightFn } from './core.js';
export type { CreditsEntry } from './credits.js';
export type { LipSyncRequest } from './requests.js';
export type { SpendReport } from './spend.js';
export type { DryRun, SpentToday, TaskCost } from './spend-gate.js';

export interface CreateRequest {
  provider?: string;
  kind: TaskKind;
  inputs: Partial<Record<InputRole, string>>;
  params: JsonObject;
  forceRecreate?: boolean;
  waitSeconds?: number;
}

export type CreateAction = 'created_new_task' | 'reused_existing_task';
export interface CreateResult extends TaskView {
  action: CreateAction;
  reused: boolean;
}

export type TaskRef = { taskId: string } | { provider: string; providerTaskId: string };

/** The units a job needs, sharing one JobCore. */
interface Units {
  recovery: Recovery;
  submitter: Submitter;
  waiter: Waiter;
  /** Uploads and downloads running in the background, by what they transfer. */
  transfers: Transfers;
}

function forceNotApplied(row: TaskRow): string {
  const status = row.status === 'submitting' ? 'pending' : row.status;
  return `force_recreate was not applied: task ${row.id} is still ${status}, and a running job is never sent twice. Nothing new was sent or paid; if the user still wants a new one once it has ended, call again with force_recreate.`;
}

export class JobService {
  private readonly core: JobCore;
  private unitsLoading?: Promise<Units>;

  constructor(deps: JobServiceDeps) {
    this.core = new JobCore(deps);
    // When a task ends, record what it cost (a free balance read after the job, where that tells).
    this.core.events.on('job', (e: JobEvent) => {
      if (e.event !== 'status' || (e.status !== 'success' && e.status !== 'failed')) return;
      const deps = { ledger: this.d.ledger, now: () => this.core.now(), signal: AbortSignal.timeout(15_000) };
      const p = import('./spend.js').then(({ settleAtEnd }) =>
        settleAtEnd(this.d.providers.get(e.provider as ProviderName), e.task_id, deps),
      );
      this.core.track(p.catch((err) => this.core.warn(e.task_id, err, 'could not record the cost')));
    });
  }

  /**
   * The units, imported with the first call that needs them: a start that runs no job (an MCP client
   * asking for the tool list) loads none of them, nor what they use (input checks, DNS, hashing).
   */
  private units(): Promise<Units> {
    this.unitsLoading ??= (async () => {
      const [{ Recovery }, { Submitter }, { Waiter }, { Transfers }] = await Promise.all([
        import('./recovery.js'),
        import('./submission.js'),
        import('./waiting.js'),
        import('./transfers.js'),
      ]);
      const recovery = new Recovery(this.core);
      // Reconciled with the plain provider, not the cost-tracking one a submission uses: a task found
      // after our paid request left is that request's job, paid (never recorded as a free reuse).
      const submitter = new Submitter(this.core, (row, p, s) =>
        recovery.reconcile(row, this.d.providers.get(row.provider) ?? p, s),
      );
      recovery.submitter = submitter;
      const waiter = new Waiter(this.core, recovery);
      const transfers = new Transfers(this.core, submitter, (raw, roots) => this.resolveInputs(raw, roots));
      return { recovery, submitter, waiter, transfers };
    })();
    this.unitsLoading.catch(() => {
      this.unitsLoading = undefined;
    });
    return this.unitsLoading;
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
    const wanted = name ?? this.d.defaultProvider;
    if (wanted) return this.named(wanted, kind);
    const candidates = [...this.d.providers.values()].filter((p) => p.capabilities.kinds.includes(kind));
    const explicit = candidates.find((p) => p.name !== 'local' && p.credentials().source.startsWith('env:'));
    const chosen = explicit ?? candidates.find((p) => p.name === 'local') ?? candidates[0];
    if (!chosen) {
      throw new AppError('unsupported', `No provider here can run ${kind.replace('_', ' ')} jobs.`, {
        hint: 'Run `lipsync-mcp doctor` to see which providers are configured.',
      });
    }
    return chosen;
  }

  private named(wanted: string, kind: TaskKind): Provider {
    const p = this.d.providers.get(wanted as ProviderName);
    if (!p) {
      const hint =
        wanted === 'local'
          ? 'The local engine needs ffmpeg: install it (or set FFMPEG_PATH) and run `lipsync-mcp doctor`.'
          : `Available providers: ${[...this.d.providers.keys()].join(', ')}.`;
      throw new AppError('invalid_input', `Provider "${wanted}" is not available.`, { hint });
    }
    if (!p.capabilities.kinds.includes(kind)) {
      throw new AppError('unsupported', `${p.displayName} does not support ${kind.replace('_', ' ')} jobs.`, {
        hint: `Choose one of: ${this.providersFor(kind).join(', ') || 'none available'}.`,
      });
    }
    return p;
  }

  providersFor(kind: TaskKind): string[] {
    return [...this.d.providers.values()]
      .filter((p) => p.capabilities.kinds.includes(kind))
      .map((p) => p.name);
  }

  async resolveInputs(
    raw: Partial<Record<InputRole, string>>,
    extraRoots: string[] = [],
  ): Promise<Partial<Record<InputRole, ResolvedInput>>> {
    return (await this.units()).recovery.resolveInputs(raw, extraRoots);
  }

  /** Checks a request and computes its fingerprint: the common part of `create` and `estimate`. */
  private async checked(req: CreateRequest, opts: CallOptions) {
    const provider = this.pickProvider(req.provider, req.kind);
    const [{ requireConfigured }, { fingerprint }] = await Promise.all([
      import('./requests.js'),
      import('./fingerprint.js'),
    ]);
    requireConfigured(provider);
    const signal = opts.signal ?? new AbortController().signal;
    const inputs = await this.resolveInputs(req.inputs, opts.extraRoots);
    // Spellings of one choice are one job: the provider's canonical params go into the fingerprint.
    req = { ...req, params: provider.normalizeParams?.(req.kind, req.params) ?? req.params };
    const fp = fingerprintFor(opts.principal, fingerprint(provider.name, req.kind, inputs, req.params));
    const force = !!req.forceRecreate;
    // What the claim will return (the ledger's own rule): without force, any earlier task (an `unknown`
    // one included) is reused; a free provider's failed task is run again; a task still running is
    // returned even with force. Only a claim that creates asks the user to pay.
    const latest = await this.d.ledger.latest(fp);
    const replaced = latest && claimReplaces(latest, { force, recreateFailed: !provider.capabilities.paid });
    const reuse = latest && !replaced ? latest : undefined;
    return { provider, signal, inputs, req, fp, force, reuse };
  }

  /** A dry run: what `create` would do and cost. Reads only (hashes, ffprobe, a free balance read). */
  async estimate(req: CreateRequest, opts: CallOptions = {}): Promise<DryRun> {
    const c = await this.checked(req, opts);
    const warnings = await this.warningsFor(c, c.req.params);
    const { dryRun } = await import('./spend-gate.js');
    return dryRun(this.spendDeps(), c, warnings);
  }

  private spendDeps(): SpendDeps {
    return { ledger: this.d.ledger, now: () => this.core.now(), settings: this.d.spend, budgetMs: 15_000 };
  }

  /** Create or reuse. Answers within max(`submitWaitMs`, `waitSeconds`), whatever the provider does. */
  async create(req: CreateRequest, opts: CallOptions = {}): Promise<CreateResult> {
    const checked = await this.checked(req, opts);
    const [{ submitter, waiter }, { paidGate, reuseOnly }, { errorFromRow }, { clampWait }] =
      await Promise.all([
        this.units(),
        import('./spend-gate.js'),
        import('./requests.js'),
        import('./waiting.js'),
      ]);
    const { provider, signal, inputs, fp, force } = checked;
    req = checked.req;
    const warnings = await this.warningsFor(checked, req.params);
    // A paid create that is not a reuse: estimate, ask the user when set, cap inside the claim. A reuse
    // asks nothing, and its claim refuses to create if the task it expects changed meanwhile.
    const spend = checked.reuse
      ? reuseOnly(this.spendDeps(), checked, checked.reuse)
      : await paidGate(this.spendDeps(), checked, warnings, opts);
    const decision = await this.claim(fp, provider, req, inputs, warnings, spend, opts.principal?.owner);
    let row = decision.row;
    opts.onTask?.(row.id);
    let action: CreateAction = decision.kind === 'created' ? 'created_new_task' : 'reused_existing_task';
    // This call can submit the claim itself, with its own inputs: the claim it made, one whose owner is
    // found dead by the claim, or one whose owner dies while it waits (maybe on another machine, whose
    // files it could never read).
    const own = (r: TaskRow, takenOver: boolean) =>
      this.submitOwn(submitter, r, takenOver, provider, inputs, force, opts);
    const taker: Taker = { fingerprint: fp, submit: (r) => own(r, true) };
    if (decision.kind === 'created' || decision.kind === 'taken_over') {
      await own(row, decision.kind === 'taken_over');
    } else {
      if (row.status === 'submitting' && this.core.inflight.has(row.id))
        opts.onProgress?.('an identical request is already being submitted; following it');
      this.core.emit({
        level: 'info',
        task_id: row.id,
        provider: provider.name,
        event: 'reused',
        message: `reused task ${row.id} (${row.status}) for identical inputs; nothing new was paid`,
      });
    }
    // One budget for the whole call: max(submit wait, wait_seconds) — at most 50 s in MCP by default.
    const wait = clampWait(req.waitSeconds);
    const started = this.core.now();
    // The budget is what the agent experiences: real time, like the waits inside it.
    const budgetMs = Math.max(this.d.submitWaitMs ?? 25_000, wait * 1000);
    const realStart = performance.now();
    row = await waiter.whileSubmitting(row.id, budgetMs, signal, taker);
    // A lost create (here, or by a process that died): ask the provider now, within this call's budget,
    // so the first re-ask answers the real task as a never-crashed call does. Never a second create.
    if (row.status === 'unknown') {
      const left = Math.max(0, budgetMs - (performance.now() - realStart));
      row = await waiter.settleUnknown(row, left, signal);
    }
    // The paid request provably never created anything: nothing to reuse, nothing was charged.
    if (row.rejected) throw errorFromRow(row);
    if (decision.kind !== 'reused' && row.snapshot?.extra?.found_existing === true)
      action = 'reused_existing_task';
    const left = Math.floor((started + wait * 1000 - this.core.now()) / 1000);
    const view =
      left > 0 && !isFinal(row) ? await waiter.follow(row, left, opts, taker) : this.core.viewOf(row);
    // force_recreate that found the task still running: say that nothing new was sent.
    if (force && decision.kind === 'reused')
      view.warnings = [...view.warnings, forceNotApplied(decision.row)];
    if (decision.kind === 'reused' && !owns(opts.principal, decision.row))
      view.warnings = [...view.warnings, TEAM_REUSE_WARNING];
    return { ...view, action, reused: action === 'reused_existing_task' };
  }

  /**
   * Submits a claim this call owns with the call's own inputs. A claim taken over stores them first:
   * its request named the files of the process that made it, maybe on another machine.
   */
  private async submitOwn(
    submitter: Submitter,
    row: TaskRow,
    takenOver: boolean,
    provider: Provider,
    inputs: Partial<Record<InputRole, ResolvedInput>>,
    force: boolean,
    opts: CallOptions,
  ): Promise<void> {
    const [{ inputsToJson }, { trackedProvider }, { adoptable }] = await Promise.all([
      import('./requests.js'),
      import('./spend.js'),
      import('./submission.js'),
    ]);
    if (takenOver) {
      const request = { ...row.request, inputs: inputsToJson(inputs), inputs_host: this.core.host };
      row = await this.core.update(row.id, { request });
    }
    const tracked = trackedProvider(provider, row.id, {
      ledger: this.d.ledger,
      now: () => this.core.now(),
      log: this.d.log,
      adoptable: async (found) =>
        adoptable(row, found, force) &&
        !(await heldByAnother(this.d.ledger, row, found, opts.principal?.team)),
    });
    submitter.start({ row, provider: tracked, inputs, force, opts });
  }

  /**
   * Preflight only what will be paid for: an identical request that the ledger will answer with an
   * existing task skips the ffprobe checks entirely.
   */
  private async warningsFor(
    c: {
      provider: Provider;
      inputs: Partial<Record<InputRole, ResolvedInput>>;
      signal: AbortSignal;
      reuse: TaskRow | undefined;
    },
    params: JsonObject,
  ): Promise<string[]> {
    const { provider, inputs, signal } = c;
    // `reuse` is what the claim will return (read just before); an `unknown` one is checked again.
    const reusable = c.reuse && c.reuse.status !== 'unknown';
    if (reusable || !this.d.preflight) return [];
    return (await this.d.preflight({ inputs, provider, signal, params })).warnings;
  }

  private async claim(
    fp: string,
    provider: Provider,
    req: CreateRequest,
    inputs: Partial<Record<InputRole, ResolvedInput>>,
    warnings: string[],
    spend?: Pick<ClaimOptions, 'guard' | 'cost'>,
    principal?: string,
  ) {
    const now = this.core.now();
    const force = !!req.forceRecreate;
    const { inputsToJson, newTaskId } = await import('./requests.js');
    // `inputs_host`: the machine whose files the paths name (a shared ledger serves several).
    const request: JsonObject = {
      inputs: inputsToJson(inputs),
      inputs_host: this.core.host,
      params: req.params,
      force,
    };
    // A forced request replaces every earlier task for these inputs: none of them may be adopted as its result.
    if (force) request.replaces = await this.d.ledger.providerTaskIds(fp);
    return this.d.ledger.claim(
      {
        id: newTaskId(),
        fingerprint: fp,
        provider: provider.name,
        kind: req.kind,
        request,
        warnings,
        ownerPid: this.core.pid,
        ownerHost: this.core.host,
        leaseUntil: now + this.d.leaseMs,
        now,
        principal,
      },
      {
        force,
        recreateFailed: !provider.capabilities.paid,
        isOwnerAlive: (row) => this.core.isOwnerAlive(row),
        ...spend,
      },
    );
  }

  /**
   * create_lip_sync / `run`: checks the combination, fills the provider's defaults (they are part of the
   * fingerprint, so "normal" and an omitted playback type are the same job), then `create`.
   */
  async createLipSync(req: LipSyncRequest, opts: CallOptions = {}): Promise<CreateResult> {
    return this.create(await this.lipSyncRequest(req), opts);
  }

  /** create_lip_sync with dry_run: what it would do and cost. */
  async estimateLipSync(req: LipSyncRequest, opts: CallOptions = {}): Promise<DryRun> {
    return this.estimate(await this.lipSyncRequest(req), opts);
  }

  private async lipSyncRequest(req: LipSyncRequest): Promise<CreateRequest> {
    const { lipSyncParams, requireOneVisual } = await import('./requests.js');
    requireOneVisual(req);
    const provider = this.pickProvider(req.provider, 'lip_sync');
    return {
      provider: provider.name,
      kind: 'lip_sync',
      inputs: { video: req.video, image: req.image, audio: req.audio },
      params: lipSyncParams(provider, req, this.d.defaultPlaybackType),
      forceRecreate: req.forceRecreate,
      waitSeconds: req.waitSeconds,
    };
  }

  /** Looks at a task; with `waitSeconds` > 0 waits (bounded) for it to finish, reporting progress. */
  async status(ref: TaskRef, waitSeconds = 0, opts: CallOptions = {}): Promise<TaskView> {
    const [{ waiter }, { adoptForeign }] = await Promise.all([this.units(), import('./adopt.js')]);
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
    return waiter.follow(row, waitSeconds, opts);
  }

  /**
   * Looks at a task named by an id of either kind (ours first, then a provider's; see findAnywhere), then
   * as `status`. `provider` narrows the provider ids to one provider.
   */
  async statusByAnyId(id: string, provider: string | undefined, waitSeconds = 0, opts: CallOptions = {}) {
    if (opts.principal?.owner !== undefined) return this.status({ taskId: id }, waitSeconds, opts);
    const [{ waiter }, { findAnywhere }] = await Promise.all([this.units(), import('./adopt.js')]);
    const row = await findAnywhere(this.core, id, provider, {
      signal: opts.signal,
      onFound: opts.onProgress,
    });
    opts.onTask?.(row.id);
    return waiter.follow(row, waitSeconds, opts);
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
  async list(opts: {
    limit?: number;
    unfinishedOnly?: boolean;
    provider?: string;
    cursor?: string;
    /** Only this principal's tasks (the local principal: everyone's). */
    principal?: PrincipalScope;
  }): Promise<{
    tasks: (TaskView & { cost?: TaskCost })[];
    nextCursor?: string;
  }> {
    const [{ decodeCursor, encodeCursor }, { withCosts }] = await Promise.all([
      import('./cursor.js'),
      import('./spend-gate.js'),
    ]);
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

  /** Spend per provider per day and per task, over the last `days` days (today included). */
  async spendReport(days = 7, scope?: PrincipalScope): Promise<SpendReport> {
    const { spendReport } = await import('./spend-gate.js');
    return spendReport(this.d.ledger, this.core.now(), days, scope?.owner);
  }

  /** Today's spend per provider, with the caps that apply. */
  async spentToday(): Promise<SpentToday[]> {
    const { spentToday } = await import('./spend-gate.js');
    return spentToday(this.d.ledger, this.core.now(), [...this.d.providers.values()], this.d.spend);
  }

  viewOf(row: TaskRow): TaskView {
    return this.core.viewOf(row);
  }

  /**
   * Uploads or registers an input with a provider, through the cache. A transfer longer than the call
   * budget goes on in the background: the answer says so, and the same call later returns its URL.
   */
  async uploadAsset(providerName: string | undefined, raw: string, role: InputRole, opts: CallOptions = {}) {
    const provider = this.pickProvider(providerName, 'lip_sync');
    return (await this.units()).transfers.upload(provider, raw, role, opts);
  }

  /**
   * Saves a finished result. A download longer than the call budget goes on in the background: the
   * answer says so, and the same call later returns the saved file.
   */
  async download(taskId: string, filename: string | undefined, opts: CallOptions = {}) {
    const { transfers } = await this.units();
    return transfers.download(await this.lookup({ taskId }, opts.principal), filename, opts);
  }

  /** Every provider's configuration state and balance, within one overall budget. Never spends. */
  async credits(providerName: string | undefined, signal?: AbortSignal): Promise<CreditsEntry[]> {
    const [{ deadline }, { CALL_BUDGET_MS }, { readCredits }] = await Promise.all([
      import('../util/deadline.js'),
      import('./transfers.js'),
      import('./credits.js'),
    ]);
    const budget = deadline(this.d.callBudgetMs ?? CALL_BUDGET_MS, signal);
    try {
      return await readCredits(this.d.providers.values(), providerName, budget.signal, (e) =>
        this.core.userError(e),
      );
    } finally {
      budget.clear();
    }
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
    return (await this.units()).recovery.recover();
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
