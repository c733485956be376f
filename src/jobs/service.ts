/**
 * JobService: reuse before create, single flight, durable claims, bounded waits, recovery.
 * Tools and the CLI call only this; it calls providers and the ledger.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import type { Clock } from '../clock.js';
import { AppError, provesNoTask, toUserError, type UserError } from '../errors.js';
import type { HttpClient } from '../http/client.js';
import type { Logger } from '../logger.js';
import { type InputPolicy, resolveInput } from '../media/inputs.js';
import type {
  ExistingTask,
  InputRole,
  Json,
  JsonObject,
  Provider,
  ProviderName,
  ResolvedInput,
  Snapshot,
  TaskKind,
} from '../providers/provider.js';
import type { Redactor } from '../redact.js';
import { type Downloaded, downloadResult } from './download.js';
import { fingerprint } from './fingerprint.js';
import type { Ledger, TaskRow } from './ledger.js';
import { type TaskView, toView } from './view.js';

export type PreflightFn = (args: {
  inputs: Partial<Record<InputRole, ResolvedInput>>;
  provider: Provider;
  signal: AbortSignal;
  params?: JsonObject;
}) => Promise<{ warnings: string[] }>;

export interface JobServiceDeps {
  ledger: Ledger;
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
  pid?: number;
  /** Longest time `create` waits for uploads + the create request before answering (ms). */
  submitWaitMs?: number;
  /** For downloads of results. */
  http: HttpClient;
  /** Real-time cap of one provider look inside a wait (default 15 s). */
  maxLookMs?: number;
}

export interface CreditsEntry {
  provider: ProviderName;
  display_name: string;
  configured: boolean;
  source: string;
  summary: string;
  balance?: JsonObject;
  fix?: string;
}

export interface CallOptions {
  signal?: AbortSignal;
  /** Progress for the caller: MCP notifications, CLI stderr lines. */
  onProgress?: (message: string, progress?: number, total?: number) => void;
  /** Extra allowed input roots (MCP client roots) for this call. */
  extraRoots?: string[];
}

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

export const MAX_WAIT_SECONDS = 50;
/** Longest single look at a provider inside a wait, and the least time left worth starting one. */
const MAX_LOOK_MS = 15_000;
const MIN_LOOK_MS = 3_000;

export class JobService {
  private readonly d: JobServiceDeps;
  private readonly pid: number;
  private readonly inflight = new Map<string, Promise<void>>();
  private readonly live = new Set<string>();
  private readonly polling = new Map<string, Promise<TaskRow>>();
  private readonly lastPollAt = new Map<string, number>();
  private readonly events = new EventEmitter();
  private readonly background = new Set<Promise<unknown>>();
  /** Signals of submissions and live event streams, aborted when a drain runs out of time. */
  private readonly controllers = new Set<AbortController>();

  constructor(deps: JobServiceDeps) {
    this.d = deps;
    this.pid = deps.pid ?? process.pid;
    this.events.setMaxListeners(0);
  }

  get providers(): Map<ProviderName, Provider> {
    return this.d.providers;
  }

  /** Picks the provider for a call: named, then LIPSYNC_DEFAULT_PROVIDER, then the first with a key, then local. */
  pickProvider(name: string | undefined, kind: TaskKind): Provider {
    const wanted = name ?? this.d.defaultProvider;
    if (wanted) {
      const p = this.d.providers.get(wanted as ProviderName);
      if (!p) {
        const hint =
          wanted === 'local'
            ? 'The local engine needs ffmpeg: install it (or set FFMPEG_PATH) and run `lipsync-mcp doctor`.'
            : `Available providers: ${[...this.d.providers.keys()].join(', ')}.`;
        throw new AppError('invalid_input', `Provider "${wanted}" is not available.`, { hint });
      }
      if (!p.capabilities.kinds.includes(kind)) {
        throw new AppError(
          'unsupported',
          `${p.displayName} does not support ${kind.replace('_', ' ')} jobs.`,
          {
            hint: `Choose one of: ${this.providersFor(kind).join(', ') || 'none available'}.`,
          },
        );
      }
      return p;
    }
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

  providersFor(kind: TaskKind): string[] {
    return [...this.d.providers.values()]
      .filter((p) => p.capabilities.kinds.includes(kind))
      .map((p) => p.name);
  }

  async resolveInputs(
    raw: Partial<Record<InputRole, string>>,
    extraRoots: string[] = [],
  ): Promise<Partial<Record<InputRole, ResolvedInput>>> {
    const policy = { ...this.d.inputPolicy, allowedDirs: [...this.d.inputPolicy.allowedDirs, ...extraRoots] };
    const out: Partial<Record<InputRole, ResolvedInput>> = {};
    for (const role of ['video', 'image', 'audio'] as const) {
      const v = raw[role];
      if (v !== undefined) out[role] = await resolveInput(v, role, policy);
    }
    return out;
  }

  /** Create or reuse. Answers within max(`submitWaitMs`, `waitSeconds`), whatever the provider does. */
  async create(req: CreateRequest, opts: CallOptions = {}): Promise<CreateResult> {
    const provider = this.pickProvider(req.provider, req.kind);
    const cred = provider.credentials();
    if (!cred.configured) {
      throw new AppError('missing_credentials', `${provider.displayName} is not configured.`, {
        hint: cred.fix ?? `Set ${cred.missingKey ?? 'its API key'} and try again.`,
        details: cred.missingKey ? { missing_key: cred.missingKey } : undefined,
      });
    }
    const signal = opts.signal ?? new AbortController().signal;
    const inputs = await this.resolveInputs(req.inputs, opts.extraRoots);
    const pf = this.d.preflight
      ? await this.d.preflight({ inputs, provider, signal, params: req.params })
      : { warnings: [] };
    const fp = fingerprint(provider.name, req.kind, inputs, req.params);
    const now = this.d.clock.now();
    const decision = this.d.ledger.claim(
      {
        id: newTaskId(),
        fingerprint: fp,
        provider: provider.name,
        kind: req.kind,
        request: { inputs: inputsToJson(inputs), params: req.params, force: !!req.forceRecreate },
        warnings: pf.warnings,
        ownerPid: this.pid,
        leaseUntil: now + this.d.leaseMs,
        now,
      },
      {
        force: !!req.forceRecreate,
        recreateFailed: !provider.capabilities.paid,
        isOwnerAlive: (pid) => pid === this.pid || isPidAlive(pid),
      },
    );
    let row = decision.row;
    let action: CreateAction = decision.kind === 'created' ? 'created_new_task' : 'reused_existing_task';
    if (decision.kind === 'created' || decision.kind === 'taken_over') {
      this.startSubmission(row, provider, inputs, !!req.forceRecreate, opts);
    } else if (row.status === 'submitting' && this.inflight.has(row.id)) {
      opts.onProgress?.('an identical request is already being submitted; following it');
    }
    // One budget for the whole call: max(submit wait, wait_seconds) — at most 50 s in MCP by default.
    const wait = clampWait(req.waitSeconds);
    const budgetMs = Math.max(this.d.submitWaitMs ?? 25_000, wait * 1000);
    const started = this.d.clock.now();
    row = await this.waitWhileSubmitting(row.id, budgetMs, signal);
    if (row.rejected) {
      // The paid request provably never created anything: nothing to reuse, nothing was charged.
      throw errorFromRow(row);
    }
    if (decision.kind !== 'reused' && row.snapshot?.extra?.found_existing === true)
      action = 'reused_existing_task';
    const left = Math.floor((started + wait * 1000 - this.d.clock.now()) / 1000);
    const view =
      left > 0 && !isFinal(row) ? await this.status({ taskId: row.id }, left, opts) : this.viewOf(row);
    return { ...view, action, reused: action === 'reused_existing_task' };
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
    const types = provider.capabilities.playbackTypes;
    const params: JsonObject = {};
    if (types) {
      const pt = req.playbackType ?? this.d.defaultPlaybackType ?? 'normal';
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
    let row = this.lookup(ref);
    const signal = opts.signal;
    const start = this.d.clock.now();
    const deadline = start + clampWait(waitSeconds) * 1000;
    let tick = 0;
    for (;;) {
      const remaining = deadline - this.d.clock.now();
      // Near the end of the wait no new look starts: the answer must arrive before the client gives up.
      const look = tick === 0 || remaining >= MIN_LOOK_MS;
      if (look && row.status === 'submitting') {
        row = await this.settleSubmitting(row);
      } else if (look && row.status !== 'success' && row.status !== 'failed') {
        // One look at the provider, cut short so the whole call stays inside its budget.
        const maxLook = this.d.maxLookMs ?? MAX_LOOK_MS;
        const cap = AbortSignal.timeout(tick === 0 ? maxLook : Math.min(maxLook, remaining));
        const lookSignal = signal ? AbortSignal.any([signal, cap]) : cap;
        row = await this.refresh(row, lookSignal, waitSeconds === 0 ? 1000 : undefined);
      }
      const view = this.viewOf(row);
      const now = this.d.clock.now();
      if (isFinal(row) || now >= deadline || signal?.aborted || view.gave_up) return view;
      tick += 1;
      opts.onProgress?.(progressLine(view), tick);
      const interval = this.pollInterval(row);
      try {
        await this.sleepOrUpdate(row.id, Math.max(1, Math.min(interval, deadline - now)), signal);
      } catch {
        return this.viewOf(this.d.ledger.get(row.id)!);
      }
      row = this.d.ledger.get(row.id)!;
    }
  }

  list(opts: { limit?: number; unfinishedOnly?: boolean; provider?: string }): TaskView[] {
    return this.d.ledger
      .list({
        limit: Math.min(opts.limit ?? 20, 200),
        unfinishedOnly: opts.unfinishedOnly,
        provider: opts.provider,
      })
      .map((r) => this.viewOf(r));
  }

  viewOf(row: TaskRow): TaskView {
    const provider = this.d.providers.get(row.provider);
    return toView(row, provider, this.d.clock.now());
  }

  /** Uploads or registers an input with a provider, through the cache. */
  async uploadAsset(providerName: string | undefined, raw: string, role: InputRole, opts: CallOptions = {}) {
    const provider = this.pickProvider(providerName, 'lip_sync');
    if (!provider.upload) {
      throw new AppError(
        'unsupported',
        `${provider.displayName} has no upload step; pass the file directly to create_lip_sync.`,
      );
    }
    const cred = provider.credentials();
    if (!cred.configured) {
      throw new AppError('missing_credentials', `${provider.displayName} is not configured.`, {
        hint: cred.fix,
      });
    }
    const inputs = await this.resolveInputs({ [role]: raw }, opts.extraRoots);
    const input = inputs[role]!;
    const signal = opts.signal ?? new AbortController().signal;
    const before =
      input.type === 'file'
        ? this.d.ledger.uploadLookup(provider.name, '', input.sha256, input.size)
        : undefined;
    const url = await this.cachedAsset(provider, input, role, undefined, signal);
    return {
      provider: provider.name,
      url,
      cached: !!before,
      sha256: input.type === 'file' ? input.sha256 : undefined,
      size: input.type === 'file' ? input.size : undefined,
    };
  }

  /** Every provider's configuration state and balance. Never spends; no network for unconfigured ones. */
  async credits(providerName: string | undefined, signal?: AbortSignal): Promise<CreditsEntry[]> {
    const list = [...this.d.providers.values()].filter((p) => !providerName || p.name === providerName);
    if (providerName && !list.length)
      throw new AppError('invalid_input', `Provider "${providerName}" is not available.`);
    return Promise.all(
      list.map(async (p): Promise<CreditsEntry> => {
        const cred = p.credentials();
        const base = {
          provider: p.name,
          display_name: p.displayName,
          configured: cred.configured,
          source: cred.source,
        };
        if (!cred.configured) return { ...base, summary: 'not configured', fix: cred.fix };
        if (!p.credits)
          return {
            ...base,
            summary: p.capabilities.paid
              ? 'balance not available from this provider'
              : 'free (runs on this machine)',
          };
        try {
          const c = await p.credits(signal ?? new AbortController().signal);
          return {
            ...base,
            configured: c.configured,
            summary: c.summary,
            ...(c.balance ? { balance: c.balance } : {}),
          };
        } catch (err) {
          const ue = this.userError(err);
          return {
            ...base,
            summary: `could not read the balance: ${ue.message}`,
            ...(ue.hint ? { fix: ue.hint } : {}),
          };
        }
      }),
    );
  }

  async download(taskId: string, filename: string | undefined, opts: CallOptions = {}): Promise<Downloaded> {
    const row = this.lookup({ taskId });
    return downloadResult(
      { ledger: this.d.ledger, http: this.d.http, clock: this.d.clock, outputDir: this.d.outputDir },
      row,
      filename,
      opts.signal,
    );
  }

  /** Resolves when background work (submissions, event streams) is done, or after `timeoutMs`. */
  async drain(timeoutMs: number): Promise<void> {
    const all = Promise.allSettled([...this.background]);
    const done = await Promise.race([
      all.then(() => true),
      new Promise<boolean>((r) => setTimeout(() => r(false), timeoutMs).unref()),
    ]);
    if (done) return;
    // Out of time: stop uploads and live streams. Claims stay durable; the next start recovers them
    // (an unsent claim is resubmitted for free, a sent one is reconciled, a stream is followed by polling).
    for (const c of this.controllers) c.abort();
    await Promise.race([all, new Promise((r) => setTimeout(r, 200).unref())]);
  }

  /**
   * At start: claims whose owner died are taken over (not yet sent -> submitted again; sent -> unknown
   * and reconciled); every unfinished task is looked at once more, in the background.
   */
  recover(): { resumed: number; checked: number } {
    let resumed = 0;
    let checked = 0;
    for (const row of this.d.ledger.unfinished()) {
      const provider = this.d.providers.get(row.provider);
      if (!provider) continue;
      if (row.status === 'submitting') {
        const now = this.d.clock.now();
        const expired = row.leaseUntil === null || row.leaseUntil < now;
        if (!expired || isPidAlive(row.ownerPid)) continue;
        resumed += 1;
        this.track(
          this.settleSubmitting(row).catch((err) =>
            this.d.log.warn({ err: String(err), task: row.id }, 'recovery failed'),
          ),
        );
      } else {
        checked += 1;
        this.track(
          this.refresh(row, undefined).catch((err) =>
            this.d.log.warn({ err: String(err), task: row.id }, 'recovery poll failed'),
          ),
        );
      }
    }
    return { resumed, checked };
  }

  // ---- submission ------------------------------------------------------------------------------

  private startSubmission(
    row: TaskRow,
    provider: Provider,
    inputs: Partial<Record<InputRole, ResolvedInput>>,
    force: boolean,
    opts: CallOptions,
  ) {
    if (this.inflight.has(row.id)) return;
    const p = this.submit(row, provider, inputs, force, opts).finally(() => this.inflight.delete(row.id));
    this.inflight.set(row.id, p);
    this.track(p);
  }

  private async submit(
    row: TaskRow,
    provider: Provider,
    inputs: Partial<Record<InputRole, ResolvedInput>>,
    force: boolean,
    opts: CallOptions,
  ): Promise<void> {
    const log = this.d.log.child({ task: row.id, provider: provider.name });
    const ctl = new AbortController();
    this.controllers.add(ctl);
    let streaming = false;
    const heartbeat = setInterval(
      () => {
        try {
          this.d.ledger.update(
            row.id,
            { leaseUntil: this.d.clock.now() + this.d.leaseMs },
            this.d.clock.now(),
          );
        } catch {
          // The ledger may be closing; the lease then simply expires.
        }
      },
      Math.max(1000, Math.floor(this.d.leaseMs / 3)),
    );
    heartbeat.unref();
    const progress = (m: string) => {
      log.info(m);
      opts.onProgress?.(m);
    };
    try {
      let prepared = row.prepared;
      if (row.phase === 'sent') {
        // The owner died after the paid request may have left: never resend, reconcile instead.
        this.d.ledger.update(row.id, { status: 'unknown', phase: null, ownerPid: null }, this.d.clock.now());
        await this.reconcile(this.d.ledger.get(row.id)!, provider, ctl.signal);
        return;
      }
      try {
        prepared = await provider.prepare(
          { kind: row.kind, inputs, params: (row.request.params ?? {}) as JsonObject },
          {
            asset: (input, role, scope) =>
              this.cachedAsset(provider, input, role, scope, ctl.signal, progress),
            signal: ctl.signal,
            log,
            progress,
          },
        );
        this.d.ledger.update(row.id, { prepared }, this.d.clock.now());
        if (provider.findExisting) {
          progress(`checking ${provider.displayName} for an existing task with these inputs`);
          const found = await provider.findExisting(prepared, { signal: ctl.signal, log });
          if (found && (found.snapshot.status !== 'failed' || !force)) {
            progress(`found existing ${provider.displayName} task ${found.providerTaskId}; reusing it`);
            this.adopt(row.id, found, true);
            return;
          }
        }
      } catch (err) {
        // Nothing paid has left yet: release the claim so a later call can try again.
        this.reject(row.id, err);
        return;
      }
      this.d.ledger.update(row.id, { phase: 'sent' }, this.d.clock.now());
      progress(`submitting the ${row.kind.replace('_', ' ')} job to ${provider.displayName}`);
      let started: Awaited<ReturnType<Provider['start']>>;
      try {
        started = await provider.start(prepared, {
          signal: ctl.signal,
          log,
          progress,
          workDir: join(this.d.outputDir, 'work', row.id),
          taskId: row.id,
        });
      } catch (err) {
        if (provesNoTask(err)) {
          this.reject(row.id, err);
          return;
        }
        log.warn({ err: this.d.redactor.redact(String(err)) }, 'create answer lost; task is unknown');
        this.d.ledger.update(
          row.id,
          { status: 'unknown', phase: null, ownerPid: null, error: this.userError(err) },
          this.d.clock.now(),
        );
        this.wake(row.id);
        await this.reconcile(this.d.ledger.get(row.id)!, provider, ctl.signal).catch(() => undefined);
        return;
      }
      this.applyStart(row.id, started);
      progress(`${provider.displayName} accepted the job (${started.providerTaskId})`);
      if (started.events) {
        streaming = true;
        this.drainEvents(row.id, started.events, ctl);
      }
    } finally {
      clearInterval(heartbeat);
      if (!streaming) this.controllers.delete(ctl);
      this.wake(row.id);
    }
  }

  private applyStart(
    id: string,
    started: { operation: JsonObject; providerTaskId: string; snapshot: Snapshot },
  ) {
    this.d.ledger.update(
      id,
      {
        status: 'pending',
        phase: null,
        ownerPid: null,
        leaseUntil: null,
        operation: started.operation,
        providerTaskId: started.providerTaskId,
      },
      this.d.clock.now(),
    );
    this.applySnapshot(id, started.snapshot, false);
  }

  private adopt(id: string, found: ExistingTask, foundExisting: boolean) {
    const snapshot: Snapshot = {
      ...found.snapshot,
      extra: { ...(found.snapshot.extra ?? {}), found_existing: foundExisting },
    };
    this.applyStart(id, { ...found, snapshot });
  }

  private reject(id: string, err: unknown) {
    this.d.ledger.update(
      id,
      {
        status: 'failed',
        phase: null,
        rejected: true,
        ownerPid: null,
        leaseUntil: null,
        error: this.userError(err),
        completedAt: this.d.clock.now(),
      },
      this.d.clock.now(),
    );
    this.wake(id);
  }

  private drainEvents(id: string, events: AsyncIterable<Partial<Snapshot>>, ctl: AbortController) {
    this.live.add(id);
    const run = (async () => {
      try {
        for await (const ev of events) {
          const row = this.d.ledger.get(id);
          if (!row) break;
          const merged: Snapshot = { ...(row.snapshot ?? { status: 'processing' }), ...ev } as Snapshot;
          this.applySnapshot(id, merged, false);
        }
      } catch (err) {
        this.d.log.warn(
          { task: id, err: this.d.redactor.redact(String(err)) },
          'live updates ended with an error; falling back to status polling',
        );
      } finally {
        this.live.delete(id);
        this.controllers.delete(ctl);
        this.wake(id);
      }
    })();
    this.track(run);
  }

  /** Uploads through the ledger's cache: a second run never re-uploads the same bytes. */
  private async cachedAsset(
    provider: Provider,
    input: ResolvedInput,
    role: InputRole,
    scope: string | undefined,
    signal: AbortSignal,
    progress?: (m: string) => void,
  ): Promise<string> {
    if (!provider.upload) {
      if (input.type === 'url') return input.url;
      throw new AppError(
        'unsupported',
        `${provider.displayName} cannot take local files; pass an http(s) URL.`,
      );
    }
    const key =
      input.type === 'file'
        ? { sha256: input.sha256, size: input.size }
        : { sha256: `url:${input.url}`, size: 0 };
    const hit = this.d.ledger.uploadLookup(provider.name, scope ?? '', key.sha256, key.size);
    if (hit) {
      progress?.(`${role}: already uploaded to ${provider.displayName}; reusing it`);
      return hit.url;
    }
    progress?.(`${role}: uploading ${input.filename} to ${provider.displayName}`);
    const res = await provider.upload(input, role, scope, signal);
    this.d.ledger.uploadStore(
      provider.name,
      scope ?? '',
      key.sha256,
      key.size,
      res.url,
      res.meta,
      this.d.clock.now(),
    );
    return res.url;
  }

  // ---- status --------------------------------------------------------------------------------

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

  /** A `submitting` row: wait for our own submission, or take over a dead owner's claim. */
  private async settleSubmitting(row: TaskRow): Promise<TaskRow> {
    const mine = this.inflight.get(row.id);
    if (mine) return row;
    const now = this.d.clock.now();
    const expired = row.leaseUntil === null || row.leaseUntil < now;
    if (!expired || (isPidAlive(row.ownerPid) && row.ownerPid !== this.pid)) return row;
    const provider = this.d.providers.get(row.provider);
    if (!provider) return row;
    this.d.ledger.update(row.id, { ownerPid: this.pid, leaseUntil: now + this.d.leaseMs }, now);
    if (row.phase === 'sent') {
      this.d.ledger.update(row.id, { status: 'unknown', phase: null, ownerPid: null }, now);
      return this.reconcile(this.d.ledger.get(row.id)!, provider, undefined);
    }
    // Not yet sent: submit again from the stored request (files re-checked by content).
    try {
      const inputs = await this.reResolve(row);
      this.startSubmission(row, provider, inputs, row.request.force === true, {});
    } catch (err) {
      this.reject(row.id, err);
    }
    return this.d.ledger.get(row.id)!;
  }

  private async reResolve(row: TaskRow): Promise<Partial<Record<InputRole, ResolvedInput>>> {
    const stored = (row.request.inputs ?? {}) as Record<
      string,
      { type: string; path?: string; url?: string; sha256?: string }
    >;
    const raw: Partial<Record<InputRole, string>> = {};
    for (const [role, v] of Object.entries(stored))
      raw[role as InputRole] = (v.type === 'file' ? v.path : v.url) ?? '';
    const inputs = await this.resolveInputs(raw);
    for (const [role, v] of Object.entries(stored)) {
      const now = inputs[role as InputRole];
      if (v.type === 'file' && now?.type === 'file' && now.sha256 !== v.sha256) {
        throw new AppError('invalid_input', `The ${role} file changed since the task was requested.`, {
          hint: 'Call create_lip_sync again with the current files.',
        });
      }
    }
    return inputs;
  }

  /** One look at the provider (coalesced per task), applied to the ledger. */
  private async refresh(row: TaskRow, signal: AbortSignal | undefined, minGapMs?: number): Promise<TaskRow> {
    if (this.live.has(row.id)) return row;
    const last = this.lastPollAt.get(row.id) ?? 0;
    const gap = minGapMs ?? this.pollInterval(row);
    if (this.d.clock.now() - last < gap) return row;
    const existing = this.polling.get(row.id);
    if (existing) return existing;
    const provider = this.d.providers.get(row.provider);
    if (!provider) return row;
    const p = (async () => {
      this.lastPollAt.set(row.id, this.d.clock.now());
      if (row.status === 'unknown') return this.reconcile(row, provider, signal);
      if (!row.operation) return row;
      try {
        const snap = await provider.status(row.operation, {
          signal: signal ?? new AbortController().signal,
          log: this.d.log,
        });
        this.applySnapshot(row.id, snap, true);
      } catch (err) {
        // A look cut short by the wait's own budget or by the caller says nothing about the job.
        if (signal?.aborted) return this.d.ledger.get(row.id)!;
        // A failed look is not a failed job: keep the state, say why in the view.
        this.d.log.warn({ task: row.id, err: this.d.redactor.redact(String(err)) }, 'status check failed');
        const ue = this.userError(err);
        if (ue.code === 'not_found' && row.polls > 3) {
          this.d.ledger.update(
            row.id,
            { status: 'failed', error: ue, completedAt: this.d.clock.now() },
            this.d.clock.now(),
          );
        } else {
          this.d.ledger.update(
            row.id,
            { error: { ...ue, message: `Last status check failed: ${ue.message}` } },
            this.d.clock.now(),
          );
        }
      }
      return this.d.ledger.get(row.id)!;
    })().finally(() => this.polling.delete(row.id));
    this.polling.set(row.id, p);
    return p;
  }

  /** An `unknown` task: ask the provider whether the lost create exists; never resubmit. */
  private async reconcile(
    row: TaskRow,
    provider: Provider,
    signal: AbortSignal | undefined,
  ): Promise<TaskRow> {
    if (!provider.findExisting || !row.prepared) return row;
    try {
      const found = await provider.findExisting(row.prepared, {
        signal: signal ?? new AbortController().signal,
        log: this.d.log,
      });
      if (found) {
        this.adopt(row.id, found, false);
        this.d.ledger.update(row.id, { error: null }, this.d.clock.now());
        this.wake(row.id);
      }
    } catch (err) {
      this.d.log.warn({ task: row.id, err: this.d.redactor.redact(String(err)) }, 'reconcile failed');
    }
    return this.d.ledger.get(row.id)!;
  }

  private applySnapshot(id: string, snap: Snapshot, counted: boolean) {
    const row = this.d.ledger.get(id);
    if (!row) return;
    const now = this.d.clock.now();
    const providerStatus = snap.providerStatus ?? snap.status;
    const same = row.providerStatus === providerStatus;
    const terminal = snap.status === 'success' || snap.status === 'failed';
    this.d.ledger.update(
      id,
      {
        status: snap.status === 'unknown' ? row.status : snap.status,
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
      },
      now,
    );
    this.wake(id);
  }

  private pollInterval(row: TaskRow): number {
    const provider = this.d.providers.get(row.provider);
    if (row.status === 'submitting') return 1000;
    return provider?.timing(row.kind).pollIntervalMs ?? 10_000;
  }

  private async waitWhileSubmitting(id: string, maxMs: number, signal: AbortSignal): Promise<TaskRow> {
    const until = this.d.clock.now() + maxMs;
    for (;;) {
      const row = this.d.ledger.get(id)!;
      if (row.status !== 'submitting' || signal.aborted) return row;
      const left = until - this.d.clock.now();
      if (left <= 0) return row;
      const mine = this.inflight.get(id);
      if (mine) {
        const stop = new AbortController();
        const onAbort = () => stop.abort();
        signal.addEventListener('abort', onAbort, { once: true });
        await Promise.race([
          mine.catch(() => undefined),
          this.d.clock.sleep(left, stop.signal).catch(() => undefined),
        ]);
        stop.abort();
        signal.removeEventListener('abort', onAbort);
      } else {
        await this.sleepOrUpdate(id, Math.min(left, 500), signal).catch(() => undefined);
      }
    }
  }

  private sleepOrUpdate(id: string, ms: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const ctl = new AbortController();
      const onWake = () => finish();
      const onAbort = () => {
        cleanup();
        ctl.abort();
        reject(signal?.reason ?? new Error('aborted'));
      };
      const cleanup = () => {
        this.events.off(id, onWake);
        signal?.removeEventListener('abort', onAbort);
      };
      const finish = () => {
        cleanup();
        ctl.abort();
        resolve();
      };
      if (signal?.aborted) {
        onAbort();
        return;
      }
      this.events.once(id, onWake);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.d.clock.sleep(ms, ctl.signal).then(finish, () => undefined);
    });
  }

  private wake(id: string) {
    this.events.emit(id);
  }

  private track<T>(p: Promise<T>) {
    this.background.add(p);
    p.finally(() => this.background.delete(p)).catch(() => undefined);
  }

  private userError(err: unknown): UserError {
    return toUserError(err, this.d.redactor.redact);
  }
}

function isFinal(row: TaskRow): boolean {
  return row.status === 'success' || row.status === 'failed' || row.rejected;
}

function stripOperation(s: Snapshot): Snapshot {
  const { operation: _op, ...rest } = s;
  return rest;
}

export function clampWait(s: number | undefined): number {
  if (s === undefined || !Number.isFinite(s) || s <= 0) return 0;
  return Math.min(s, MAX_WAIT_SECONDS);
}

function progressLine(v: TaskView): string {
  const pct = v.progress !== undefined ? ` ${Math.round(v.progress * 100)}%` : '';
  return `${v.provider} task ${v.task_id}: ${v.stage ?? v.status}${pct}`;
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

export function isPidAlive(pid: number | null): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
