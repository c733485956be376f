/**
 * The change feed: which tasks changed, from the ledger, independent of any wire form. It emits
 * `change` with `{ task_id }` whenever a watched task's status, stage, progress, result or error
 * changes — whether this process wrote it (job core `row` events) or another process did (a watch on
 * the ledger's folder, debounced, then SQLite's `data_version` and its log of changed task ids;
 * PostgreSQL's LISTEN/NOTIFY, which carries the id; no busy loop). MCP `resources/subscribe`
 * (protocol 2025-11-25) is served from it today; a `subscriptions/listen` stream can be served from the
 * same feed later.
 */
import { EventEmitter } from 'node:events';
import type { JobService } from '../jobs/service.js';
import type { LedgerStore } from '../jobs/store.js';

export interface TaskChange {
  task_id: string;
}

export class ChangeFeed extends EventEmitter {
  /** Watched task id -> reference count. */
  private readonly watched = new Map<string, number>();
  /** Last signature seen per watched task. */
  private readonly seen = new Map<string, string>();
  /** One look at a time per task, in order (reads are asynchronous). */
  private readonly queue = new Map<string, Promise<void>>();
  private readonly stopWatching: () => void;
  private readonly onRow = (id: string) => this.check(id);
  private readonly onJob = (e: { task_id: string }) => this.check(e.task_id);

  constructor(
    private readonly ledger: Pick<LedgerStore, 'get' | 'watch'>,
    private readonly jobs: Pick<JobService, 'viewOf' | 'events'>,
  ) {
    super();
    this.setMaxListeners(0);
    jobs.events.on('row', this.onRow);
    jobs.events.on('job', this.onJob);
    // Other processes' or instances' writes: the backend says which task changed, so a change costs one
    // read whatever is watched; only when changes may have been missed (a reconnect, a watcher far
    // behind) is every watched task looked at again (bounded: LIPSYNC_MAX_SUBSCRIPTIONS per session).
    this.stopWatching = ledger.watch((id) => {
      if (id !== undefined) this.check(id);
      else for (const w of this.watched.keys()) this.check(w);
    });
  }

  /** Start following a task (reference counted: every `watch` needs its `unwatch`). */
  watch(taskId: string): void {
    this.watched.set(taskId, (this.watched.get(taskId) ?? 0) + 1);
    if (this.watched.get(taskId) === 1)
      this.enqueue(taskId, async () => {
        if (!this.seen.has(taskId)) this.seen.set(taskId, await this.signature(taskId));
      });
  }

  unwatch(taskId: string): void {
    const n = (this.watched.get(taskId) ?? 0) - 1;
    if (n > 0) this.watched.set(taskId, n);
    else {
      this.watched.delete(taskId);
      this.seen.delete(taskId);
    }
  }

  /** Resolves when every look queued so far is done (tests). */
  async settled(): Promise<void> {
    await Promise.all([...this.queue.values()]);
  }

  close(): void {
    this.stopWatching();
    this.jobs.events.off('row', this.onRow);
    this.jobs.events.off('job', this.onJob);
    this.removeAllListeners();
  }

  private check(id: string): void {
    if (!this.watched.has(id)) return;
    this.enqueue(id, async () => {
      if (!this.watched.has(id)) return;
      const sig = await this.signature(id);
      if (!this.watched.has(id) || sig === this.seen.get(id)) return;
      this.seen.set(id, sig);
      this.emit('change', { task_id: id } satisfies TaskChange);
    });
  }

  private enqueue(id: string, step: () => Promise<void>): void {
    const next = (this.queue.get(id) ?? Promise.resolve())
      .then(step)
      .catch(() => undefined) // the ledger is closing or unreachable: the next change looks again
      .finally(() => {
        if (this.queue.get(id) === next) this.queue.delete(id);
      });
    this.queue.set(id, next);
  }

  /** What a subscriber cares about; not the lease, heartbeat or poll counters. */
  private async signature(id: string): Promise<string> {
    const row = await this.ledger.get(id);
    if (!row) return 'absent';
    const v = this.jobs.viewOf(row);
    return JSON.stringify([v.status, v.stage, v.progress, v.result_url, v.error?.code, v.message, v.stalled]);
  }
}
