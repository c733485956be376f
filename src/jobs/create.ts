/**
 * The create path of the JobService: check a request and take its fingerprint, estimate or gate what
 * it costs, claim it in the ledger (reuse before create, single flight, durable claims), submit the
 * claim this call owns, and answer within the call's budget. One of the job units (engine.ts).
 */
import type { InputRole, JsonObject, TaskKind } from '../providers/provider.js';
import { type CallOptions, isFinal, type JobCore } from './core.js';
import { fingerprint } from './fingerprint.js';
import { pickProvider } from './pick.js';
import { fingerprintFor, heldByAnother, owns, TEAM_REUSE_WARNING } from './principal.js';
import type { Recovery, Taker } from './recovery.js';
import {
  errorFromRow,
  inputsToJson,
  type LipSyncRequest,
  lipSyncParams,
  newTaskId,
  requireConfigured,
  requireOneVisual,
} from './requests.js';
import { trackedProvider } from './spend.js';
import { type Checked, type DryRun, dryRun, paidGate, reuseOnly, type SpendDeps } from './spend-gate.js';
import { type ClaimDecision, type ClaimOptions, claimReplaces, type TaskRow } from './store.js';
import { adoptable, type Submitter } from './submission.js';
import type { TaskView } from './view.js';
import { clampWait, type Waiter } from './waiting.js';

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

/** A request checked against its provider, with its fingerprint and what the claim will reuse. */
type CheckedCreate = Checked & { req: CreateRequest };

function forceNotApplied(row: TaskRow): string {
  const status = row.status === 'submitting' ? 'pending' : row.status;
  return `force_recreate was not applied: task ${row.id} is still ${status}, and a running job is never sent twice. Nothing new was sent or paid; if the user still wants a new one once it has ended, call again with force_recreate.`;
}

export class Creator {
  constructor(
    private readonly core: JobCore,
    private readonly units: { recovery: Recovery; submitter: Submitter; waiter: Waiter },
  ) {}

  private get d() {
    return this.core.d;
  }

  /** Checks a request and computes its fingerprint: the common part of `create` and `estimate`. */
  private async checked(req: CreateRequest, opts: CallOptions): Promise<CheckedCreate> {
    const provider = pickProvider(this.d, req.provider, req.kind);
    requireConfigured(provider);
    const signal = opts.signal ?? new AbortController().signal;
    const inputs = await this.units.recovery.resolveInputs(req.inputs, opts.extraRoots);
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
    const warnings = await this.warningsFor(c);
    return dryRun(this.spendDeps(), c, warnings, opts.principal?.owner);
  }

  private spendDeps(): SpendDeps {
    return { ledger: this.d.ledger, now: () => this.core.now(), settings: this.d.spend, budgetMs: 15_000 };
  }

  /** Create or reuse. Answers within max(`submitWaitMs`, `waitSeconds`), whatever the provider does. */
  async create(req: CreateRequest, opts: CallOptions = {}): Promise<CreateResult> {
    const c = await this.checked(req, opts);
    const warnings = await this.warningsFor(c);
    // A paid create that is not a reuse: estimate, ask the user when set, cap inside the claim. A reuse
    // asks nothing, and its claim refuses to create if the task it expects changed meanwhile.
    const spend = c.reuse
      ? reuseOnly(this.spendDeps(), c, c.reuse)
      : await paidGate(this.spendDeps(), c, warnings, opts);
    const decision = await this.claim(c, warnings, spend, opts.principal?.owner);
    opts.onTask?.(decision.row.id);
    // This call can submit the claim itself, with its own inputs: the claim it made, one whose owner is
    // found dead by the claim, or one whose owner dies while it waits (maybe on another machine, whose
    // files it could never read).
    const taker: Taker = { fingerprint: c.fp, submit: (r) => this.submitOwn(r, true, c, opts) };
    if (decision.kind === 'created' || decision.kind === 'taken_over') {
      await this.submitOwn(decision.row, decision.kind === 'taken_over', c, opts);
    } else {
      const row = decision.row;
      if (row.status === 'submitting' && this.core.inflight.has(row.id))
        opts.onProgress?.('an identical request is already being submitted; following it');
      this.core.emit({
        level: 'info',
        task_id: row.id,
        provider: c.provider.name,
        event: 'reused',
        message: `reused task ${row.id} (${row.status}) for identical inputs; nothing new was paid`,
      });
    }
    return this.answer(c, decision, taker, opts);
  }

  /** Waits for the claim within the call's budget and says what happened to it. */
  private async answer(
    c: CheckedCreate,
    decision: ClaimDecision,
    taker: Taker,
    opts: CallOptions,
  ): Promise<CreateResult> {
    const { waiter } = this.units;
    let action: CreateAction = decision.kind === 'created' ? 'created_new_task' : 'reused_existing_task';
    // One budget for the whole call: max(submit wait, wait_seconds) — at most 50 s in MCP by default.
    const wait = clampWait(c.req.waitSeconds);
    const started = this.core.now();
    // The budget is what the agent experiences: real time, like the waits inside it.
    const budgetMs = Math.max(this.d.submitWaitMs ?? 25_000, wait * 1000);
    const realStart = performance.now();
    let row = await waiter.whileSubmitting(decision.row.id, budgetMs, c.signal, taker);
    // A lost create (here, or by a process that died): ask the provider now, within this call's budget,
    // so the first re-ask answers the real task as a never-crashed call does. Never a second create.
    if (row.status === 'unknown') {
      const left = Math.max(0, budgetMs - (performance.now() - realStart));
      row = await waiter.settleUnknown(row, left, c.signal);
    }
    // The paid request provably never created anything: nothing to reuse, nothing was charged.
    if (row.rejected) throw errorFromRow(row);
    if (decision.kind !== 'reused' && row.snapshot?.extra?.found_existing === true)
      action = 'reused_existing_task';
    const left = Math.floor((started + wait * 1000 - this.core.now()) / 1000);
    const view =
      left > 0 && !isFinal(row) ? await waiter.follow(row, left, opts, taker) : this.core.viewOf(row);
    // force_recreate that found the task still running: say that nothing new was sent.
    if (c.force && decision.kind === 'reused')
      view.warnings = [...view.warnings, forceNotApplied(decision.row)];
    if (decision.kind === 'reused' && !owns(opts.principal, decision.row))
      view.warnings = [...view.warnings, TEAM_REUSE_WARNING];
    return { ...view, action, reused: action === 'reused_existing_task' };
  }

  /**
   * Submits a claim this call owns with the call's own inputs. A claim taken over stores them first:
   * its request named the files of the process that made it, maybe on another machine.
   */
  private async submitOwn(row: TaskRow, takenOver: boolean, c: CheckedCreate, opts: CallOptions) {
    const { provider, inputs, force } = c;
    if (takenOver) {
      const request = { ...row.request, inputs: inputsToJson(inputs), inputs_host: this.core.host };
      row = await this.core.update(row.id, { request });
    }
    const tracked = trackedProvider(provider, row.id, {
      ledger: this.d.ledger,
      now: () => this.core.now(),
      log: this.d.log,
      // Never another user's provider task: it is theirs, whatever the provider account says.
      adoptable: async (found) =>
        adoptable(row, found, force) &&
        !(await heldByAnother(this.d.ledger, row, found, opts.principal?.team)),
    });
    this.units.submitter.start({ row, provider: tracked, inputs, force, opts });
  }

  /**
   * Preflight only what will be paid for: an identical request that the ledger will answer with an
   * existing task skips the ffprobe checks entirely.
   */
  private async warningsFor(c: CheckedCreate): Promise<string[]> {
    const { provider, inputs, signal } = c;
    // `reuse` is what the claim will return (read just before); an `unknown` one is checked again.
    const reusable = c.reuse && c.reuse.status !== 'unknown';
    if (reusable || !this.d.preflight) return [];
    return (await this.d.preflight({ inputs, provider, signal, params: c.req.params })).warnings;
  }

  private async claim(
    c: CheckedCreate,
    warnings: string[],
    spend?: Pick<ClaimOptions, 'guard' | 'cost'>,
    principal?: string,
  ): Promise<ClaimDecision> {
    const { fp, provider, req, inputs } = c;
    const now = this.core.now();
    const force = !!req.forceRecreate;
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
   * create_lip_sync / `run`: checks the combination and fills the provider's defaults (they are part of
   * the fingerprint, so "normal" and an omitted playback type are the same job).
   */
  lipSyncRequest(req: LipSyncRequest): CreateRequest {
    requireOneVisual(req);
    const provider = pickProvider(this.d, req.provider, 'lip_sync');
    return {
      provider: provider.name,
      kind: 'lip_sync',
      inputs: { video: req.video, image: req.image, audio: req.audio },
      params: lipSyncParams(provider, req, this.d.defaultPlaybackType),
      forceRecreate: req.forceRecreate,
      waitSeconds: req.waitSeconds,
    };
  }
}
