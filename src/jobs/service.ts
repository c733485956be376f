/**
 * JobService: the facade tools and the CLI call. Reuse before create, single flight, durable claims,
 * bounded waits, recovery — each in its own unit (submission.ts, waiting.ts, recovery.ts) sharing one
 * JobCore; this file only decides which of them a call needs.
 */
import { randomUUID } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { AppError } from '../errors.js';
import type {
  InputRole,
  Json,
  JsonObject,
  Provider,
  ProviderName,
  ResolvedInput,
  TaskKind,
} from '../providers/provider.js';
import { type CallOptions, isFinal, JobCore, type JobServiceDeps } from './core.js';
import { type CreditsEntry, readCredits } from './credits.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { type Downloaded, downloadResult } from './download.js';
import { fingerprint } from './fingerprint.js';
import type { TaskRow } from './ledger.js';
import { Recovery } from './recovery.js';
import { Submitter, uploadKey } from './submission.js';
import type { TaskView } from './view.js';
import { clampWait, Waiter } from './waiting.js';

export type { CallOptions, JobEvent, JobServiceDeps, PreflightFn } from './core.js';
export type { CreditsEntry } from './credits.js';
export { clampWait, MAX_WAIT_SECONDS } from './waiting.js';

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

/** A lip-sync request as tools and the CLI take it. */
export interface LipSyncRequest {
  provider?: string;
  video?: string;
  image?: string;
  audio: string;
  playbackType?: string;
  align?: 'auto' | 'off';
  forceRecreate?: boolean;
  waitSeconds?: number;
}

export type TaskRef = { taskId: string } | { provider: string; providerTaskId: string };

/** Overall budget of calls that have no wait of their own (credits, uploads, downloads), in ms. */
const CALL_BUDGET_MS = 45_000;

export class JobService {
  private readonly core: JobCore;
  private readonly recovery: Recovery;
  private readonly submitter: Submitter;
  private readonly waiter: Waiter;
  /** Uploads and downloads running in the background, by what they transfer. */
  private readonly long = new Map<string, Promise<unknown>>();

  constructor(deps: JobServiceDeps) {
    this.core = new JobCore(deps);
    this.recovery = new Recovery(this.core);
    this.submitter = new Submitter(this.core, (row, p, s) => this.recovery.reconcile(row, p, s));
    this.recovery.submitter = this.submitter;
    this.waiter = new Waiter(this.core, this.recovery);
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

  resolveInputs(
    raw: Partial<Record<InputRole, string>>,
    extraRoots: string[] = [],
  ): Promise<Partial<Record<InputRole, ResolvedInput>>> {
    return this.recovery.resolveInputs(raw, extraRoots);
  }

  /** Create or reuse. Answers within max(`submitWaitMs`, `waitSeconds`), whatever the provider does. */
  async create(req: CreateRequest, opts: CallOptions = {}): Promise<CreateResult> {
    const provider = this.pickProvider(req.provider, req.kind);
    requireConfigured(provider);
    const signal = opts.signal ?? new AbortController().signal;
    const inputs = await this.resolveInputs(req.inputs, opts.extraRoots);
    // Spellings of one choice are one job: the provider's canonical params go into the fingerprint.
    req = { ...req, params: provider.normalizeParams?.(req.kind, req.params) ?? req.params };
    const fp = fingerprint(provider.name, req.kind, inputs, req.params);
    const force = !!req.forceRecreate;
    const decision = this.claim(
      fp,
      provider,
      req,
      inputs,
      await this.warningsFor(fp, provider, inputs, force, signal),
    );
    let row = decision.row;
    opts.onTask?.(row.id);
    let action: CreateAction = decision.kind === 'created' ? 'created_new_task' : 'reused_existing_task';
    if (decision.kind === 'created' || decision.kind === 'taken_over') {
      this.submitter.start({ row, provider, inputs, force, opts });
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
    row = await this.waiter.whileSubmitting(
      row.id,
      Math.max(this.d.submitWaitMs ?? 25_000, wait * 1000),
      signal,
    );
    // The paid request provably never created anything: nothing to reuse, nothing was charged.
    if (row.rejected) throw errorFromRow(row);
    if (decision.kind !== 'reused' && row.snapshot?.extra?.found_existing === true)
      action = 'reused_existing_task';
    const left = Math.floor((started + wait * 1000 - this.core.now()) / 1000);
    const view =
      left > 0 && !isFinal(row) ? await this.waiter.follow(row, left, opts) : this.core.viewOf(row);
    return { ...view, action, reused: action === 'reused_existing_task' };
  }

  /**
   * Preflight only what will be paid for: an identical request that the ledger will answer with an
   * existing task skips the ffprobe checks entirely.
   */
  private async warningsFor(
    fp: string,
    provider: Provider,
    inputs: Partial<Record<InputRole, ResolvedInput>>,
    force: boolean,
    signal: AbortSignal,
  ): Promise<string[]> {
    const latest = this.d.ledger.latest(fp);
    const reusable =
      latest &&
      !force &&
      !(latest.status === 'failed' && !provider.capabilities.paid) &&
      latest.status !== 'unknown';
    if (reusable || !this.d.preflight) return [];
    return (await this.d.preflight({ inputs, provider, signal })).warnings;
  }

  private claim(
    fp: string,
    provider: Provider,
    req: CreateRequest,
    inputs: Partial<Record<InputRole, ResolvedInput>>,
    warnings: string[],
  ) {
    const now = this.core.now();
    const force = !!req.forceRecreate;
    const request: JsonObject = { inputs: inputsToJson(inputs), params: req.params, force };
    // A forced request replaces every earlier task for these inputs: none of them may be adopted as its result.
    if (force) request.replaces = this.d.ledger.providerTaskIds(fp);
    return this.d.ledger.claim(
      {
        id: newTaskId(),
        fingerprint: fp,
        provider: provider.name,
        kind: req.kind,
        request,
        warnings,
        ownerPid: this.core.pid,
        leaseUntil: now + this.d.leaseMs,
        now,
      },
      {
        force,
        recreateFailed: !provider.capabilities.paid,
        isOwnerAlive: (pid) => this.core.isOwnerAlive(pid),
      },
    );
  }

  /**
   * create_lip_sync / `run`: checks the combination, fills the provider's defaults (they are part of the
   * fingerprint, so "normal" and an omitted playback type are the same job), then `create`.
   */
  async createLipSync(req: LipSyncRequest, opts: CallOptions = {}): Promise<CreateResult> {
    if (!req.video && !req.image) {
      throw new AppError('invalid_input', 'A video (or an image) is required.', {
        hint: 'Pass `video` as a file path or URL.',
      });
    }
    if (req.video && req.image) {
      throw new AppError('invalid_input', 'Pass either a video or an image, not both.', {
        hint: 'Use `video` for video lip sync, `image` for a talking still.',
      });
    }
    const provider = this.pickProvider(req.provider, 'lip_sync');
    const params = lipSyncParams(provider, req, this.d.defaultPlaybackType);
    return this.create(
      {
        provider: provider.name,
        kind: 'lip_sync',
        inputs: { video: req.video, image: req.image, audio: req.audio },
        params,
        forceRecreate: req.forceRecreate,
        waitSeconds: req.waitSeconds,
      },
      opts,
    );
  }

  /** Looks at a task; with `waitSeconds` > 0 waits (bounded) for it to finish, reporting progress. */
  async status(ref: TaskRef, waitSeconds = 0, opts: CallOptions = {}): Promise<TaskView> {
    const row = 'taskId' in ref ? this.lookup(ref) : await this.lookupForeign(ref, opts.signal);
    opts.onTask?.(row.id);
    return this.waiter.follow(row, waitSeconds, opts);
  }

  /**
   * A provider task id: from the ledger, or — for a task created elsewhere (the vendor's own runner, a
   * dashboard) — looked up at the provider and recorded as an adopted task, followed from then on.
   */
  private async lookupForeign(
    ref: { provider: string; providerTaskId: string },
    signal?: AbortSignal,
  ): Promise<TaskRow> {
    const known = this.d.ledger.findByProviderTaskId(ref.provider, ref.providerTaskId);
    if (known) return known;
    const provider = this.d.providers.get(ref.provider as ProviderName);
    if (!provider?.lookupById) return this.lookup(ref);
    requireConfigured(provider);
    const found = await provider.lookupById(ref.providerTaskId, {
      signal: AbortSignal.any([
        signal ?? new AbortController().signal,
        AbortSignal.timeout(this.d.maxLookMs ?? 15_000),
      ]),
      log: this.d.log,
    });
    if (!found) {
      throw new AppError('not_found', `${provider.displayName} has no task ${ref.providerTaskId}.`, {
        hint: 'Check the id (and that it belongs to the account of the configured key), or use list_tasks.',
      });
    }
    const now = this.core.now();
    const decision = this.d.ledger.claim(
      {
        id: newTaskId(),
        fingerprint: `adopted:${provider.name}:${ref.providerTaskId}`,
        provider: provider.name,
        kind: found.kind,
        request: { adopted: true, provider_task_id: ref.providerTaskId },
        warnings: [],
        ownerPid: this.core.pid,
        leaseUntil: now + this.d.leaseMs,
        now,
      },
      { force: false, isOwnerAlive: (pid) => this.core.isOwnerAlive(pid) },
    );
    if (decision.kind === 'created') this.core.adopt(decision.row.id, found, true);
    return this.core.row(decision.row.id);
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

  /** One page, newest first; `nextCursor` is there while older tasks remain. */
  list(opts: { limit?: number; unfinishedOnly?: boolean; provider?: string; cursor?: string }): {
    tasks: TaskView[];
    nextCursor?: string;
  } {
    const page = this.d.ledger.page({
      limit: Math.min(opts.limit ?? 20, 200),
      unfinishedOnly: opts.unfinishedOnly,
      provider: opts.provider,
      after: opts.cursor === undefined ? undefined : decodeCursor(opts.cursor),
    });
    return {
      tasks: page.rows.map((r) => this.core.viewOf(r)),
      nextCursor: page.next ? encodeCursor(page.next) : undefined,
    };
  }

  viewOf(row: TaskRow): TaskView {
    return this.core.viewOf(row);
  }

  /**
   * Runs `work` in the background, once per `key` in this process, and answers with its value if it
   * finishes within the call budget; otherwise `undefined` (it goes on; the same call later finds it,
   * or its cached result). The caller's cancellation stops the wait, not the work.
   */
  private async withinBudget<T>(
    key: string,
    work: (signal: AbortSignal) => Promise<T>,
    signal?: AbortSignal,
  ) {
    let p = this.long.get(key) as Promise<T> | undefined;
    if (!p) {
      const ctl = new AbortController();
      this.core.controllers.add(ctl);
      p = work(ctl.signal).finally(() => {
        this.long.delete(key);
        this.core.controllers.delete(ctl);
      });
      this.long.set(key, p);
      this.core.track(p);
      p.catch((err) => this.core.warn(key, err, 'background transfer failed'));
    }
    const budget = AbortSignal.timeout(this.d.callBudgetMs ?? CALL_BUDGET_MS);
    const stop = signal ? AbortSignal.any([signal, budget]) : budget;
    const stopped = new Promise<undefined>((resolve) => {
      if (stop.aborted) resolve(undefined);
      stop.addEventListener('abort', () => resolve(undefined), { once: true });
    });
    return Promise.race([p.then((value) => ({ value })), stopped]);
  }

  /**
   * Uploads or registers an input with a provider, through the cache. A transfer longer than the call
   * budget goes on in the background: the answer says so, and the same call later returns its URL.
   */
  async uploadAsset(providerName: string | undefined, raw: string, role: InputRole, opts: CallOptions = {}) {
    const provider = this.pickProvider(providerName, 'lip_sync');
    if (!provider.upload) {
      throw new AppError(
        'unsupported',
        `${provider.displayName} has no upload step; pass the file directly to create_lip_sync.`,
      );
    }
    requireConfigured(provider);
    const inputs = await this.resolveInputs({ [role]: raw }, opts.extraRoots);
    const input = inputs[role]!;
    const signal = opts.signal ?? new AbortController().signal;
    // The same media checks as a create: upload_asset never publishes a document or a non-media file.
    await this.d.checkUpload?.(input, role, provider, signal);
    const before =
      input.type === 'file'
        ? this.d.ledger.uploadLookup(provider.name, '', input.sha256, input.size)
        : undefined;
    const key = uploadKey(input);
    const facts = {
      provider: provider.name,
      cached: !!before,
      sha256: input.type === 'file' ? input.sha256 : undefined,
      size: input.type === 'file' ? input.size : undefined,
    };
    const done = await this.withinBudget(
      `upload:${provider.name}:${key.sha256}:${key.size}`,
      (bg) => this.submitter.asset(provider, input, role, undefined, bg),
      signal,
    );
    if (done) return { ...facts, status: 'uploaded' as const, url: done.value };
    return {
      ...facts,
      status: 'uploading' as const,
      next_step:
        'The upload is large and continues in the background. Call upload_asset again with the same file in a minute: it returns the URL when the upload has finished, and never uploads the same bytes twice.',
    };
  }

  /** Every provider's configuration state and balance, within one overall budget. Never spends. */
  credits(providerName: string | undefined, signal?: AbortSignal): Promise<CreditsEntry[]> {
    const budget = AbortSignal.timeout(this.d.callBudgetMs ?? CALL_BUDGET_MS);
    return readCredits(
      this.d.providers.values(),
      providerName,
      signal ? AbortSignal.any([signal, budget]) : budget,
      (e) => this.core.userError(e),
    );
  }

  /**
   * Saves a finished result. A download longer than the call budget goes on in the background: the
   * answer says so, and the same call later returns the saved file.
   */
  async download(
    taskId: string,
    filename: string | undefined,
    opts: CallOptions = {},
  ): Promise<
    (Downloaded & { status: 'saved' }) | { task_id: string; status: 'downloading'; next_step: string }
  > {
    const row = this.lookup({ taskId });
    const deps = {
      ledger: this.d.ledger,
      http: this.d.http,
      clock: this.d.clock,
      outputDir: this.d.outputDir,
    };
    const done = await this.withinBudget(
      `download:${row.id}:${filename ?? ''}`,
      (bg) => downloadResult(deps, row, filename, bg),
      opts.signal,
    );
    if (done) return { ...done.value, status: 'saved' };
    return {
      task_id: row.id,
      status: 'downloading',
      next_step:
        'The download continues in the background. Call download_result again with the same arguments in a minute: it returns the saved file when it is complete (nothing is downloaded twice).',
    };
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
  recover(): { resumed: number; checked: number } {
    return this.recovery.recover();
  }

  private lookup(ref: TaskRef): TaskRow {
    const row =
      'taskId' in ref
        ? this.d.ledger.get(ref.taskId)
        : this.d.ledger.findByProviderTaskId(ref.provider, ref.providerTaskId);
    if (!row) {
      throw new AppError('not_found', "No such task in this server's ledger.", {
        hint: 'Use the task_id returned by create_lip_sync (or list_tasks to see recent ones).',
      });
    }
    return row;
  }
}

function requireConfigured(provider: Provider): void {
  const cred = provider.credentials();
  if (cred.configured) return;
  throw new AppError('missing_credentials', `${provider.displayName} is not configured.`, {
    hint: cred.fix ?? `Set ${cred.missingKey ?? 'its API key'} and try again.`,
    details: cred.missingKey ? { missing_key: cred.missingKey } : undefined,
  });
}

function lipSyncParams(provider: Provider, req: LipSyncRequest, defaultType: string | undefined): JsonObject {
  const types = provider.capabilities.playbackTypes;
  const params: JsonObject = {};
  if (types) {
    const pt = req.playbackType ?? defaultType ?? 'normal';
    if (!types.includes(pt)) {
      throw new AppError('invalid_input', `Unknown playback type "${pt}".`, {
        hint: `Use one of: ${types.join(', ')}.`,
      });
    }
    params.playback_type = pt;
  } else if (req.playbackType && req.playbackType !== 'normal') {
    throw new AppError('invalid_input', `${provider.displayName} has no playback_type option.`, {
      hint: 'Leave playback_type out, or use provider "jogg" or "local".',
    });
  }
  if (provider.name === 'local') params.align = req.align ?? 'auto';
  return params;
}

function errorFromRow(row: TaskRow): AppError {
  const e = row.error;
  return new AppError(e?.code ?? 'provider_failed', e?.message ?? 'The job could not be submitted.', {
    hint: e?.hint ?? 'Nothing was charged for this attempt; fix the problem and call again.',
    details: { ...(e?.details ?? {}), task_id: row.id, charged: false },
  });
}

function inputsToJson(inputs: Partial<Record<InputRole, ResolvedInput>>): JsonObject {
  const out: JsonObject = {};
  for (const [role, i] of Object.entries(inputs)) {
    if (!i) continue;
    out[role] = (
      i.type === 'file'
        ? { type: 'file', path: i.path, filename: i.filename, sha256: i.sha256, size: i.size }
        : { type: 'url', url: i.url, filename: i.filename }
    ) as Json;
  }
  return out;
}

function newTaskId(): string {
  return `ls_${randomUUID().replace(/-/g, '').slice(0, 20)}`;
}
