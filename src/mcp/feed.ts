/**
 * The change feed: which tasks changed, from the ledger, independent of any wire form. It emits
 * `change` with `{ task_id }` whenever a watched task's status, stage, progress, result or error
 * changes — whether this process wrote it (job core `row` events) or another process did (a watch on
 * the ledger's folder, debounced, then SQLite's `data_version`; no busy loop). MCP `resources/subscribe`
 * (protocol 2025-11-25) is served from it today; a `subscriptions/listen` stream can be served from the
 * same feed later.
 */
import { EventEmitter } from 'node:events';
import { type FSWatcher, watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Ledger } from '../jobs/ledger.js';
import type { JobService } from '../jobs/service.js';

export interface TaskChange {
  task_id: string;
}

export interface ChangeFeedOptions {
  /** The ledger's file (watched with its `-wal` for other processes' commits); omit for in-process only. */
  file?: string;
  /** Quiet time after a file event before the ledger is looked at (ms, default 40). */
  debounceMs?: number;
  /** A slow safety check of `data_version` when file events are unavailable (ms, default 5000; 0 = off). */
  safetyMs?: number;
}

export class ChangeFeed extends EventEmitter {
  /** Watched task id -> reference count. */
  private readonly watched = new Map<string, number>();
  /** Last signature seen per watched task. */
  private readonly seen = new Map<string, string>();
  private watcher: FSWatcher | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private safety: NodeJS.Timeout | undefined;
  private version: number;
  private readonly onRow = (id: string) => this.check(id);
  private readonly onJob = (e: { task_id: string }) => this.check(e.task_id);

  constructor(
    private readonly ledger: Pick<Ledger, 'get' | 'dataVersion'>,
    private readonly jobs: Pick<JobService, 'viewOf' | 'events'>,
    private readonly opts: ChangeFeedOptions = {},
  ) {
    super();
    this.setMaxListeners(0);
    this.version = ledger.dataVersion();
    jobs.events.on('row', this.onRow);
    jobs.events.on('job', this.onJob);
    this.watchFile();
  }

  /** Start following a task (reference counted: every `watch` needs its `unwatch`). */
  watch(taskId: string): void {
    this.watched.set(taskId, (this.watched.get(taskId) ?? 0) + 1);
    if (!this.seen.has(taskId)) this.seen.set(taskId, this.signature(taskId));
  }

  unwatch(taskId: string): void {
    const n = (this.watched.get(taskId) ?? 0) - 1;
    if (n > 0) this.watched.set(taskId, n);
    else {
      this.watched.delete(taskId);
      this.seen.delete(taskId);
    }
  }

  /** Looks at the ledger now if another process committed since the last look. */
  poll(): void {
    let v: number;
    try {
      v = this.ledger.dataVersion();
    } catch {
      return;
    }
    if (v === this.version) return;
    this.version = v;
    for (const id of this.watched.keys()) this.check(id);
  }

  close(): void {
    this.jobs.events.off('row', this.onRow);
    this.jobs.events.off('job', this.onJob);
    this.watcher?.close();
    clearTimeout(this.debounce);
    clearInterval(this.safety);
    this.removeAllListeners();
  }

  private check(id: string): void {
    if (!this.watched.has(id)) return;
    const sig = this.signature(id);
    if (sig === this.seen.get(id)) return;
    this.seen.set(id, sig);
    this.emit('change', { task_id: id } satisfies TaskChange);
  }

  /** What a subscriber cares about; not the lease, heartbeat or poll counters. */
  private signature(id: string): string {
    const row = this.ledger.get(id);
    if (!row) return 'absent';
    const v = this.jobs.viewOf(row);
    return JSON.stringify([v.status, v.stage, v.progress, v.result_url, v.error?.code, v.message, v.stalled]);
  }

  private watchFile(): void {
    const file = this.opts.file;
    if (!file || file === ':memory:') return;
    const name = basename(file);
    try {
      this.watcher = watch(dirname(file), { persistent: false }, (_event, changed) => {
        if (changed && !String(changed).startsWith(name)) return;
        clearTimeout(this.debounce);
        this.debounce = setTimeout(() => this.poll(), this.opts.debounceMs ?? 40);
      });
      this.watcher.on('error', () => undefined);
    } catch {
      // No file events here (some network file systems): the safety check below still notices.
    }
    const safetyMs = this.opts.safetyMs ?? 5000;
    if (safetyMs > 0) {
      this.safety = setInterval(() => this.poll(), safetyMs);
      this.safety.unref();
    }
  }
}
