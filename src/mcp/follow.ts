/**
 * Following subscribed tasks, so that a subscriber never needs to poll: while any session is
 * subscribed to an unfinished task, this process keeps a bounded `get_task_status`-style wait running
 * on it (the job service paces provider looks and shares one look per task). Stops when the task is
 * settled or the last subscriber leaves.
 */
import type { App } from '../app.js';

/** The longest wait of one round (the job service's own maximum). */
const ROUND_SECONDS = 50;
/** Pause after a failed round before the next (the job service reports the error on the task). */
const RETRY_MS = 15_000;

export class Follower {
  private readonly running = new Map<string, { count: number; ctl: AbortController }>();

  constructor(private readonly app: Pick<App, 'jobs' | 'ledger' | 'clock' | 'log'>) {}

  follow(taskId: string): void {
    const cur = this.running.get(taskId);
    if (cur) {
      cur.count += 1;
      return;
    }
    const entry = { count: 1, ctl: new AbortController() };
    this.running.set(taskId, entry);
    void this.loop(taskId, entry.ctl.signal)
      .catch((err) => this.app.log.debug({ task: taskId, err: String(err) }, 'stopped following a task'))
      .finally(() => {
        if (this.running.get(taskId) === entry) this.running.delete(taskId);
      });
  }

  unfollow(taskId: string): void {
    const cur = this.running.get(taskId);
    if (!cur) return;
    cur.count -= 1;
    if (cur.count > 0) return;
    this.running.delete(taskId);
    cur.ctl.abort();
  }

  close(): void {
    for (const { ctl } of this.running.values()) ctl.abort();
    this.running.clear();
  }

  private async loop(taskId: string, signal: AbortSignal): Promise<void> {
    const { jobs, ledger, clock, log } = this.app;
    while (!signal.aborted) {
      const row = await ledger.get(taskId);
      if (!row || row.rejected) return;
      if (jobs.isSettled(jobs.viewOf(row))) return;
      try {
        const view = await jobs.status({ taskId }, ROUND_SECONDS, { signal });
        if (jobs.isSettled(view)) return;
      } catch (err) {
        if (signal.aborted) return;
        log.debug({ task: taskId, err: String(err) }, 'following a subscribed task: round failed');
        await clock.sleep(RETRY_MS, signal).catch(() => undefined);
      }
    }
  }
}
