/**
 * Waiting: bounded waits with progress. A wait never starts a provider look it cannot finish inside
 * its budget, wakes as soon as the ledger row changes here, and takes over a dead owner's claim at
 * once instead of waiting out its lease.
 */

import { deadline } from '../util/deadline.js';
import { type CallOptions, isFinal, type JobCore } from './core.js';
import type { Recovery, Taker } from './recovery.js';
import type { TaskRow } from './store.js';
import type { TaskView } from './view.js';

export const MAX_WAIT_SECONDS = 50;
/** Longest single look at a provider inside a wait, and the least time left worth starting one. */
const MAX_LOOK_MS = 15_000;
const MIN_LOOK_MS = 3_000;

export class Waiter {
  constructor(
    private readonly core: JobCore,
    private readonly recovery: Recovery,
  ) {}

  /** Looks at a task; with `waitSeconds` > 0 waits (bounded) for it to finish, reporting progress. */
  async follow(start: TaskRow, waitSeconds: number, opts: CallOptions, taker?: Taker): Promise<TaskView> {
    const { core } = this;
    const signal = opts.signal;
    const deadline = core.now() + clampWait(waitSeconds) * 1000;
    let row = start;
    for (let tick = 0; ; tick += 1) {
      const remaining = deadline - core.now();
      // Near the end of the wait no new look starts: the answer must arrive before the client gives up.
      if (tick === 0 || remaining >= MIN_LOOK_MS)
        row = await this.look(row, tick === 0 ? undefined : remaining, signal, taker);
      const view = core.viewOf(row);
      // A stalled or given-up task answers at once with its advice; the agent decides what to do.
      if (isFinal(row) || core.now() >= deadline || signal?.aborted || view.gave_up || view.stalled)
        return view;
      const note = progressNote(view);
      opts.onProgress?.(note.message, note.progress, note.total);
      const now = core.now();
      try {
        await core.sleepOrUpdate(
          row.id,
          Math.max(1, Math.min(core.pollInterval(row), deadline - now)),
          signal,
        );
      } catch {
        return core.viewOf(await core.row(row.id));
      }
      row = await core.row(row.id);
    }
  }

  /** One step: settle a claim (ours, a live owner's, or a dead owner's), or one capped provider look. */
  private async look(
    row: TaskRow,
    remaining: number | undefined,
    signal: AbortSignal | undefined,
    taker: Taker | undefined,
  ): Promise<TaskRow> {
    if (row.status === 'submitting') {
      const settled = await this.recovery.settleSubmitting(row, taker);
      // Taken over by another path of this process (the start-up pass), which is reconciling it now:
      // its answer is ours. Any other outcome is answered as it is.
      if (settled.status !== 'submitting' || !this.recovery.reconcilingNow(row.id)) return settled;
      row = await this.core.row(row.id);
      if (row.status !== 'unknown') return row;
    }
    if (row.status === 'success' || row.status === 'failed') return row;
    const maxLook = this.core.d.maxLookMs ?? MAX_LOOK_MS;
    const cap = deadline(remaining === undefined ? maxLook : Math.min(maxLook, remaining), signal);
    try {
      // A lost create is asked about now, not after a poll interval: the first re-ask gets the task.
      if (row.status === 'unknown') return await this.reconcileNow(row, cap.signal);
      return await this.recovery.refresh(row, cap.signal);
    } finally {
      cap.clear();
    }
  }

  /**
   * An `unknown` task, settled within `maxMs` of real time if the provider can tell: joins a submission
   * of this process that is still reconciling it, or a reconcile on its way, else asks once. Only the
   * provider's lookup by inputs is used: nothing is ever sent again.
   */
  async settleUnknown(row: TaskRow, maxMs: number, signal: AbortSignal | undefined): Promise<TaskRow> {
    if (row.status !== 'unknown') return row;
    const d = deadline(maxMs, signal);
    try {
      return await this.reconcileNow(row, d.signal);
    } finally {
      d.clear();
    }
  }

  private async reconcileNow(row: TaskRow, signal: AbortSignal): Promise<TaskRow> {
    const { core } = this;
    const provider = core.d.providers.get(row.provider);
    if (!provider?.findExisting) return row;
    const mine = core.inflight.get(row.id);
    if (mine) {
      await untilSettledOr(mine, signal);
      row = await core.row(row.id);
      if (row.status !== 'unknown' || signal.aborted) return row;
    }
    core.lastPollAt.set(row.id, core.now());
    return this.recovery.reconcile(row, provider, signal);
  }

  /**
   * Waits while a claim is being submitted (here or by another process), at most `maxMs` of real
   * time: the budget is what the agent experiences, so it is measured by the wall clock, not by the
   * injected clock that paces polls. A claim whose owner is gone is taken over at once (with the
   * caller's own inputs when it is a `taker`).
   */
  async whileSubmitting(id: string, maxMs: number, signal: AbortSignal, taker?: Taker): Promise<TaskRow> {
    const { core } = this;
    const d = deadline(maxMs, signal);
    const budget = d.signal;
    try {
      for (;;) {
        // Our own submission first, to its end: after a lost answer it is still reconciling, and its
        // answer (the real task) is what this call should return, not the `unknown` it passed through.
        const mine = core.inflight.get(id);
        if (mine && !budget.aborted) {
          await untilSettledOr(mine, budget);
          continue;
        }
        let row = await core.row(id);
        if (row.status !== 'submitting' || budget.aborted) return row;
        row = await this.recovery.settleSubmitting(row, taker);
        if (row.status !== 'submitting' || core.inflight.has(id)) continue;
        await core.sleepOrUpdate(id, 500, budget).catch(() => undefined);
      }
    } finally {
      d.clear();
    }
  }
}

/** Resolves when `p` settles or `signal` aborts, whichever is first. */
function untilSettledOr(p: Promise<unknown>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = () => {
      signal.removeEventListener('abort', done);
      resolve();
    };
    signal.addEventListener('abort', done, { once: true });
    p.then(done, done);
  });
}

export function clampWait(s: number | undefined): number {
  if (s === undefined || !Number.isFinite(s) || s <= 0) return 0;
  return Math.min(s, MAX_WAIT_SECONDS);
}

/**
 * One progress notification for a wait. With a known fraction: the percent its words say, of 100;
 * without: no number, no total, no percent (the numbers and the words agree either way).
 */
export function progressNote(v: TaskView): { message: string; progress?: number; total?: number } {
  const head = `${v.provider} task ${v.task_id}: ${v.stage ?? v.status}`;
  if (v.progress === undefined) return { message: head };
  const pct = Math.round(v.progress * 100);
  return { message: `${head} ${pct}%`, progress: pct, total: 100 };
}
