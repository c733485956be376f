/**
 * Submission: from a claimed ledger row to a provider task. Free work first (uploads through the
 * content-hash cache, the provider's own lookup by inputs), then `phase = sent` is written durably,
 * then the one paid request. A refusal that proves nothing was made releases the claim; a lost answer
 * leaves the task `unknown` for reconciliation — never a second paid request.
 */

import { join } from 'node:path';
import { AppError, provesNoTask } from '../errors.js';
import type {
  ExistingTask,
  InputRole,
  JsonObject,
  Provider,
  ResolvedInput,
  Snapshot,
  StartResult,
} from '../providers/provider.js';
import type { CallOptions, JobCore } from './core.js';
import { heldByAnother } from './principal.js';
import type { TaskRow } from './store.js';

/** Everything one submission needs, as one value. */
export interface Submission {
  row: TaskRow;
  provider: Provider;
  inputs: Partial<Record<InputRole, ResolvedInput>>;
  /** The user asked for a new paid job: provider tasks listed in `replaces` are never adopted. */
  force: boolean;
  opts: CallOptions;
}

/** Provider task ids a forced request replaces (stored with the request when the claim is made). */
export function replacedIds(row: TaskRow): string[] {
  const r = row.request.replaces;
  return Array.isArray(r) ? r.filter((x): x is string => typeof x === 'string') : [];
}

/** Whether a task the provider found for these inputs may be followed instead of paying again. */
export function adoptable(row: TaskRow, found: ExistingTask, force: boolean): boolean {
  if (!force) return true;
  // A forced request wants a new job: neither the task it replaces nor an earlier failure will do.
  return found.snapshot.status !== 'failed' && !replacedIds(row).includes(found.providerTaskId);
}

export class Submitter {
  constructor(
    private readonly core: JobCore,
    /** Reconciles a task whose paid request may have left (owned by recovery). */
    private readonly reconcile: (row: TaskRow, provider: Provider, signal?: AbortSignal) => Promise<TaskRow>,
  ) {}

  /** Starts `sub` in the background (once per task in this process). */
  start(sub: Submission): void {
    const { core } = this;
    const id = sub.row.id;
    if (core.inflight.has(id)) return;
    const p = this.run(sub).finally(() => core.inflight.delete(id));
    core.inflight.set(id, p);
    core.track(p);
  }

  private async run(sub: Submission): Promise<void> {
    const { core } = this;
    const { row, provider } = sub;
    const log = core.d.log.child({ task: row.id, provider: provider.name });
    const ctl = new AbortController();
    core.controllers.add(ctl);
    let streaming = false;
    const heartbeat = this.heartbeat(row.id);
    const progress = (m: string) => {
      log.info(m);
      sub.opts.onProgress?.(m);
    };
    try {
      if (row.phase === 'sent') {
        // The owner died after the paid request may have left: never resend, reconcile instead.
        const unknown = await core.update(row.id, { status: 'unknown', phase: null, ownerPid: null });
        await this.reconcile(unknown, provider, ctl.signal);
        return;
      }
      const prepared = await this.prepare(sub, ctl.signal, progress);
      if (!prepared) return;
      // Durable before the paid request leaves: a crash from here on is reconciled, never resent. Only
      // while this process still owns the claim: one frozen past its lease was taken over meanwhile.
      const sent = await core.d.ledger.markSent(row.id, { pid: core.pid, host: core.host }, core.now());
      core.events.emit('row', row.id);
      if (!sent) {
        log.warn('the claim was taken over while this process prepared it; not sending the request');
        return;
      }
      progress(`submitting the ${row.kind.replace('_', ' ')} job to ${provider.displayName}`);
      const started = await this.send(sub, prepared, ctl.signal, progress);
      if (!started) return;
      // The provider has the job: record it even if the ledger is briefly unreachable (a shared
      // PostgreSQL restarting), rather than leave a paid task that nobody follows.
      await this.untilRecorded(row.id, () => core.applyStart(row.id, started), ctl.signal);
      progress(`${provider.displayName} accepted the job (${started.providerTaskId})`);
      core.emit({
        level: 'info',
        task_id: row.id,
        provider: provider.name,
        event: 'created',
        message: `${provider.displayName} accepted ${row.kind.replace('_', ' ')} task ${started.providerTaskId}`,
      });
      if (started.events) {
        streaming = true;
        this.drainEvents(row.id, started.events, ctl);
      }
    } finally {
      clearInterval(heartbeat);
      if (!streaming) core.controllers.delete(ctl);
      core.wake(row.id);
    }
  }

  /**
   * Retries a ledger write with backoff (1 s doubling to 15 s, about ten minutes in all) until it
   * succeeds or the service drains; then the claim stays `sent` and is reconciled, never resent.
   */
  private async untilRecorded(id: string, write: () => Promise<unknown>, signal: AbortSignal): Promise<void> {
    const { core } = this;
    for (let attempt = 0; ; attempt++) {
      try {
        await write();
        return;
      } catch (err) {
        if (attempt >= 45 || signal.aborted) throw err;
        core.warn(id, err, 'could not record the accepted job yet; retrying');
        await core.d.clock.sleep(Math.min(15_000, 1000 * 2 ** attempt), signal).catch(() => undefined);
      }
    }
  }

  /** Keeps the claim's lease fresh while this process works on it. */
  private heartbeat(id: string): NodeJS.Timeout {
    const { core } = this;
    const t = setInterval(
      () => {
        // The ledger may be closing or unreachable: the lease then simply expires.
        core.update(id, { leaseUntil: core.now() + core.d.leaseMs }).catch(() => undefined);
      },
      Math.max(1000, Math.floor(core.d.leaseMs / 3)),
    );
    t.unref();
    return t;
  }

  /**
   * Free work: uploads and the provider's lookup by inputs. Returns the prepared handle, or undefined
   * when the task was settled here (an existing task adopted, or the claim released).
   */
  private async prepare(
    sub: Submission,
    signal: AbortSignal,
    progress: (m: string) => void,
  ): Promise<JsonObject | undefined> {
    const { core } = this;
    const { row, provider } = sub;
    const log = core.d.log.child({ task: row.id, provider: provider.name });
    try {
      const prepared = await provider.prepare(
        { kind: row.kind, inputs: sub.inputs, params: (row.request.params ?? {}) as JsonObject },
        {
          asset: (input, role, scope) => this.asset(provider, input, role, scope, signal, progress),
          taskId: row.id,
          signal,
          log,
          progress,
        },
      );
      await core.update(row.id, { prepared });
      if (provider.findExisting) {
        progress(`checking ${provider.displayName} for an existing task with these inputs`);
        const found = await provider.findExisting(prepared, { signal, log });
        const theirs = found && (await heldByAnother(core.d.ledger, row, found, sub.opts.principal?.team));
        if (found && !theirs && adoptable(row, found, sub.force)) {
          progress(`found existing ${provider.displayName} task ${found.providerTaskId}; reusing it`);
          await core.adopt(row.id, found, true);
          return undefined;
        }
      }
      return prepared;
    } catch (err) {
      // Nothing paid has left yet: release the claim so a later call can try again.
      await core.reject(row.id, err);
      return undefined;
    }
  }

  /** The one paid request. Returns undefined when it failed (claim released, or task `unknown`). */
  private async send(
    sub: Submission,
    prepared: JsonObject,
    signal: AbortSignal,
    progress: (m: string) => void,
  ): Promise<StartResult | undefined> {
    const { core } = this;
    const { row, provider } = sub;
    const log = core.d.log.child({ task: row.id, provider: provider.name });
    try {
      return await provider.start(prepared, {
        signal,
        log,
        progress,
        workDir: join(core.d.outputDir, 'work', row.id),
        taskId: row.id,
      });
    } catch (err) {
      if (provesNoTask(err)) {
        await core.reject(row.id, err);
        return undefined;
      }
      core.warn(row.id, err, 'create answer lost; task is unknown');
      const unknown = await core.update(row.id, {
        status: 'unknown',
        phase: null,
        ownerPid: null,
        error: core.userError(err),
      });
      core.emit({
        level: 'warning',
        task_id: row.id,
        provider: provider.name,
        event: 'unknown',
        message: `the answer to the create request was lost; reconciling with ${provider.displayName}`,
      });
      core.wake(row.id);
      await this.reconcile(unknown, provider, signal).catch(() => undefined);
      return undefined;
    }
  }

  private drainEvents(id: string, events: AsyncIterable<Partial<Snapshot>>, ctl: AbortController) {
    const { core } = this;
    core.live.add(id);
    const run = (async () => {
      try {
        for await (const ev of events) {
          const row = await core.d.ledger.get(id);
          if (!row) break;
          const merged: Snapshot = { ...(row.snapshot ?? { status: 'processing' }), ...ev } as Snapshot;
          await core.applySnapshot(id, merged, false);
        }
      } catch (err) {
        core.warn(id, err, 'live updates ended with an error; falling back to status polling');
      } finally {
        core.live.delete(id);
        core.controllers.delete(ctl);
        core.wake(id);
      }
    })();
    core.track(run);
  }

  /** Uploads through the ledger's cache: a second run never re-uploads the same bytes. */
  async asset(
    provider: Provider,
    input: ResolvedInput,
    role: InputRole,
    scope: string | undefined,
    signal: AbortSignal,
    progress?: (m: string) => void,
  ): Promise<string> {
    const { ledger } = this.core.d;
    if (!provider.upload) {
      if (input.type === 'url') return input.url;
      throw new AppError(
        'unsupported',
        `${provider.displayName} cannot take local files; pass an http(s) URL.`,
      );
    }
    const key = uploadKey(input);
    const hit = await ledger.uploadLookup(provider.name, scope ?? '', key.sha256, key.size);
    if (hit) {
      progress?.(`${role}: already uploaded to ${provider.displayName}; reusing it`);
      return hit.url;
    }
    progress?.(`${role}: uploading ${input.filename} to ${provider.displayName}`);
    const res = await provider.upload(input, role, scope, signal);
    await ledger.uploadStore(
      provider.name,
      scope ?? '',
      key.sha256,
      key.size,
      res.url,
      res.meta,
      this.core.now(),
    );
    return res.url;
  }
}

export function uploadKey(input: ResolvedInput): { sha256: string; size: number } {
  return input.type === 'file'
    ? { sha256: input.sha256, size: input.size }
    : { sha256: `url:${input.url}`, size: 0 };
}
