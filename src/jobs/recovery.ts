/**
 * Recovery: what happens to tasks nobody is actively submitting. One look at the provider per task
 * (coalesced), reconciliation of `unknown` tasks (never a resubmission), take-over of claims whose
 * owner died, and the start-up pass over every unfinished task.
 */

import { AppError } from '../errors.js';
import { type InputPolicy, resolveInput } from '../media/inputs.js';
import type { InputRole, Provider, ResolvedInput } from '../providers/provider.js';
import type { JobCore } from './core.js';
import { heldByAnother } from './principal.js';
import type { TaskRow } from './store.js';
import { adoptable, type Submitter } from './submission.js';

/**
 * A caller that can submit a claim with inputs of its own: an identical create call on this machine,
 * whose inputs hash to the claim's fingerprint. Taking over with it needs none of the stored paths.
 */
export interface Taker {
  fingerprint: string;
  /** Submits `row` (now owned here) with the caller's inputs. */
  submit(row: TaskRow): Promise<void>;
}

/** The machine whose paths the stored request names (rows written before it was stored: their owner's). */
export function inputsHost(row: TaskRow): string | undefined {
  const h = row.request.inputs_host;
  return typeof h === 'string' ? h : (row.ownerHost ?? undefined);
}

export class Recovery {
  submitter!: Submitter;
  /** Reconciles on their way, per task: a re-ask joins the one running (start-up pass, submission). */
  private readonly reconciling = new Map<string, Promise<TaskRow>>();

  constructor(private readonly core: JobCore) {}

  async resolveInputs(
    raw: Partial<Record<InputRole, string>>,
    extraRoots: string[] = [],
  ): Promise<Partial<Record<InputRole, ResolvedInput>>> {
    const base = this.core.d.inputPolicy;
    const policy: InputPolicy = { ...base, allowedDirs: [...base.allowedDirs, ...extraRoots] };
    const out: Partial<Record<InputRole, ResolvedInput>> = {};
    for (const role of ['video', 'image', 'audio'] as const) {
      const v = raw[role];
      if (v !== undefined) out[role] = await resolveInput(v, role, policy);
    }
    return out;
  }

  /** Whether the claim on `row` belongs to nobody alive: its owner is known dead, or its lease ran out here. */
  ownerGone(row: TaskRow): boolean {
    const { core } = this;
    if (core.inflight.has(row.id)) return false;
    // Our own pid but no submission of ours runs it (a crashed attempt): wait out the lease.
    if (row.ownerPid === core.pid && (row.ownerHost ?? core.host) === core.host)
      return row.leaseUntil === null || row.leaseUntil < core.now();
    // This machine: a pid that no longer exists cannot still be working on it; another machine
    // (a shared PostgreSQL ledger): its lease, which a live owner keeps fresh, has run out.
    return !core.isOwnerAlive(row);
  }

  /**
   * A `submitting` row: leave it to a live owner, or take over a dead owner's claim at once. A `taker`
   * (an identical create call here) submits it with its own inputs; without one, an unsent claim is
   * submitted from the stored request, whose paths must name this machine's files: a claim whose files
   * are on another machine is left for a caller who has them (the note in the task's view says so).
   */
  async settleSubmitting(row: TaskRow, taker?: Taker): Promise<TaskRow> {
    const { core } = this;
    if (row.status !== 'submitting' || !this.ownerGone(row)) return row;
    const provider = core.d.providers.get(row.provider);
    if (!provider) return row;
    // Same fingerprint, same content: the caller's own copies of the files will do.
    const own = taker?.fingerprint === row.fingerprint ? taker : undefined;
    const stored = own || row.phase === 'sent' ? undefined : await this.storedInputs(row);
    if (stored && 'elsewhere' in stored) {
      this.leave(row, stored.elsewhere);
      return row;
    }
    // Compare-and-set: of several processes or instances recovering at once, one takes it over.
    const now = core.now();
    const taken = await core.d.ledger.takeOver(
      row.id,
      { pid: row.ownerPid, host: row.ownerHost },
      { pid: core.pid, host: core.host, leaseUntil: now + core.d.leaseMs },
      now,
    );
    if (!taken) return core.row(row.id);
    core.filesElsewhere.delete(row.id);
    row = taken;
    core.emit({
      level: 'info',
      task_id: row.id,
      provider: row.provider,
      event: 'recovered',
      message: `took over task ${row.id}, whose owner process is gone`,
    });
    if (row.phase === 'sent') {
      const unknown = await core.update(row.id, { status: 'unknown', phase: null, ownerPid: null });
      return this.reconcile(unknown, provider, undefined);
    }
    if (own) {
      await own.submit(row);
    } else if (stored && 'error' in stored) {
      // The files were on this machine and are gone or changed: nothing was paid, say why.
      await core.reject(row.id, stored.error);
    } else if (stored) {
      this.submitter.start({
        row,
        provider,
        inputs: stored.inputs,
        force: row.request.force === true,
        opts: {},
      });
    }
    return core.row(row.id);
  }

  /**
   * The stored request's inputs, resolved here and checked by content. A failure is the task's only if
   * its files were on this machine; otherwise it says nothing about them (`elsewhere`: their host).
   */
  private async storedInputs(
    row: TaskRow,
  ): Promise<
    { inputs: Partial<Record<InputRole, ResolvedInput>> } | { error: unknown } | { elsewhere: string }
  > {
    try {
      return { inputs: await this.reResolve(row) };
    } catch (err) {
      const host = inputsHost(row) ?? this.core.host;
      return host === this.core.host ? { error: err } : { elsewhere: host };
    }
  }

  /** Leaves a dead owner's claim (nothing paid yet) for a caller who has its files. */
  private leave(row: TaskRow, host: string): void {
    const { core } = this;
    const known = core.filesElsewhere.get(row.id);
    core.filesElsewhere.set(row.id, { ownerPid: row.ownerPid, ownerHost: row.ownerHost, host });
    if (!known)
      core.d.log.info(
        { task: row.id, host },
        'the claim of a stopped instance names files on another machine; left for a caller who has them',
      );
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

  /**
   * One look at the provider (coalesced per task), applied to the ledger. No look happens before
   * `minGapMs` (default: the provider's poll interval) has passed since the last one, by any process.
   */
  refresh(row: TaskRow, signal: AbortSignal | undefined, minGapMs?: number): Promise<TaskRow> {
    const { core } = this;
    if (core.live.has(row.id)) return Promise.resolve(row);
    // A look already on its way (a recovery pass, another caller): its answer is this caller's too.
    const existing = core.polling.get(row.id);
    if (existing) return signal ? settledOr(existing, signal, () => core.row(row.id)) : existing;
    const last = Math.max(core.lastPollAt.get(row.id) ?? 0, row.polls > 0 ? row.updatedAt : 0);
    if (core.now() - last < (minGapMs ?? core.pollInterval(row))) return Promise.resolve(row);
    const provider = core.d.providers.get(row.provider);
    if (!provider) return Promise.resolve(row);
    const p = this.look(row, provider, signal).finally(() => core.polling.delete(row.id));
    core.polling.set(row.id, p);
    return p;
  }

  private async look(row: TaskRow, provider: Provider, signal: AbortSignal | undefined): Promise<TaskRow> {
    const { core } = this;
    core.lastPollAt.set(row.id, core.now());
    if (row.status === 'unknown') return this.reconcile(row, provider, signal);
    if (!row.operation) return row;
    try {
      const snap = await provider.status(row.operation, {
        signal: signal ?? new AbortController().signal,
        log: core.d.log,
      });
      await core.applySnapshot(row.id, snap, true);
    } catch (err) {
      // A look cut short by the wait's own budget or by the caller says nothing about the job.
      if (signal?.aborted) return core.row(row.id);
      // A failed look is not a failed job: keep the state, say why in the view.
      core.warn(row.id, err, 'status check failed');
      const ue = core.userError(err);
      if (ue.code === 'not_found' && row.polls > 3) {
        await core.update(row.id, { status: 'failed', error: ue, completedAt: core.now() });
      } else {
        await core.update(row.id, { error: { ...ue, message: `Last status check failed: ${ue.message}` } });
      }
    }
    return core.row(row.id);
  }

  /**
   * An `unknown` task: ask the provider whether the lost create exists; never resubmit. One at a time
   * per task: a caller arriving while one runs gets its answer (or, when its `signal` ends first, the
   * row as it is then).
   */
  reconcile(row: TaskRow, provider: Provider, signal: AbortSignal | undefined): Promise<TaskRow> {
    const running = this.reconciling.get(row.id);
    if (running) return signal ? settledOr(running, signal, () => this.core.row(row.id)) : running;
    const p = this.reconcileOnce(row, provider, signal).finally(() => this.reconciling.delete(row.id));
    this.reconciling.set(row.id, p);
    return p;
  }

  /** Whether a reconcile of this task is on its way in this process. */
  reconcilingNow(id: string): boolean {
    return this.reconciling.has(id);
  }

  private async reconcileOnce(
    row: TaskRow,
    provider: Provider,
    signal: AbortSignal | undefined,
  ): Promise<TaskRow> {
    const { core } = this;
    if (!provider.findExisting || !row.prepared) return row;
    try {
      const found = await provider.findExisting(row.prepared, {
        signal: signal ?? new AbortController().signal,
        log: core.d.log,
      });
      // A forced task must not adopt the task it replaces (or an old failure) as its own.
      const theirs = found && (await heldByAnother(core.d.ledger, row, found));
      if (found && !theirs && adoptable(row, found, row.request.force === true)) {
        await core.adopt(row.id, found, false);
        await core.update(row.id, { error: null });
        core.emit({
          level: 'info',
          task_id: row.id,
          provider: row.provider,
          event: 'recovered',
          message: `reconciled: ${provider.displayName} has task ${found.providerTaskId} for these inputs`,
        });
        core.wake(row.id);
      }
    } catch (err) {
      core.warn(row.id, err, 'reconcile failed');
    }
    return core.row(row.id);
  }

  /**
   * At start: claims whose owner died are taken over (not yet sent -> submitted again; sent -> unknown
   * and reconciled); every unfinished task is looked at once more, in the background, a few at a time.
   */
  async recover(): Promise<{ resumed: number; checked: number }> {
    const { core } = this;
    let resumed = 0;
    const looks: TaskRow[] = [];
    for (const row of await core.d.ledger.unfinished()) {
      if (!core.d.providers.has(row.provider)) continue;
      // The start-up pass is about tasks older than this process; newer ones are followed by the
      // calls that made them (a look here would poll a task its creator has just started).
      if (row.createdAt >= core.startedAt) continue;
      if (row.status === 'submitting') {
        if (!this.ownerGone(row)) continue;
        resumed += 1;
        core.track(this.settleSubmitting(row).catch((err) => core.warn(row.id, err, 'recovery failed')));
      } else {
        looks.push(row);
      }
    }
    core.track(this.lookAll(looks));
    return { resumed, checked: looks.length };
  }

  /** Looks at each task once, at most `recoveryConcurrency` at a time. */
  private async lookAll(rows: TaskRow[]): Promise<void> {
    const { core } = this;
    const startedAt = core.now();
    let next = 0;
    const worker = async () => {
      while (next < rows.length) {
        const row = rows[next++]!;
        // Already looked at since this pass began (an agent's status call): once per interval is enough.
        if ((core.lastPollAt.get(row.id) ?? Number.NEGATIVE_INFINITY) >= startedAt) continue;
        await this.refresh(row, undefined, 0).catch((err) => core.warn(row.id, err, 'recovery poll failed'));
      }
    };
    const n = Math.max(1, Math.min(core.d.recoveryConcurrency ?? 8, rows.length));
    await Promise.all(Array.from({ length: n }, worker));
  }
}

/** `p`'s value, or — if `signal` aborts first — what `fallback` says now. */
function settledOr<T>(p: Promise<T>, signal: AbortSignal, fallback: () => T | Promise<T>): Promise<T> {
  if (signal.aborted) return Promise.resolve(fallback());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => resolve(fallback());
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
