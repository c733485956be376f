/**
 * Waiting on events, not on time: a test that needs background work done waits for the state it needs
 * (a ledger row, a log line, a request seen by a fake), however slow the machine is.
 */
import { existsSync, watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

/** Resolves once `check()` is true; fails with `what` if it never becomes true (a hang guard, not a time limit). */
export async function until(check: () => boolean, what: string, maxTurns = 20_000): Promise<void> {
  for (let i = 0; i < maxTurns; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, i < 100 ? 0 : 5));
  }
  throw new Error(`never happened: ${what}`);
}

interface Caller {
  call(name: string, args: Record<string, unknown>): Promise<CallToolResult>;
}

/**
 * Calls get_task_status (waiting up to 50 s of virtual time each) until `done(status)` holds. How many
 * calls that takes depends on the machine's speed, so there is no fixed count: only a hang guard.
 */
export async function statusUntil<T extends { status: string }>(
  h: Caller,
  taskId: string,
  done: (s: T) => boolean,
  maxCalls = 200,
): Promise<T> {
  let last: T | undefined;
  for (let i = 0; i < maxCalls; i++) {
    const r = await h.call('get_task_status', { task_id: taskId, wait_seconds: 50 });
    if (r.isError) throw new Error(`tool error: ${JSON.stringify(r.content)}`);
    last = r.structuredContent as T;
    if (done(last)) return last;
  }
  throw new Error(`task ${taskId} never reached the awaited state; last: ${JSON.stringify(last)}`);
}

/**
 * Hang guard for an awaited event (a notification, a log line, a request at a fake): resolves with it,
 * or fails with `never happened: <what>` after `guardMs` of real time. Not a time limit on the product:
 * the guard is far above anything a loaded machine needs; it exists so a missing event fails the test
 * with a message instead of hanging the run.
 */
export function within<T>(p: Promise<T>, what: string, guardMs = 60_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`never happened: ${what} (hang guard ${guardMs} ms)`)),
      guardMs,
    );
  });
  return Promise.race([p, guard]).finally(() => clearTimeout(timer));
}

/**
 * What a callback was called with, as events: `push` is the callback; `when(match, what)` resolves with
 * the first value that matches, already seen or still to come, and fails with `never happened: <what>`
 * at the hang guard. Bounded: it keeps at most `max` values (a test that hears more is broken anyway).
 */
export class Heard<T> {
  readonly seen: T[] = [];
  private waiters = new Set<{ match: (v: T, index: number) => boolean; resolve: (v: T) => void }>();

  constructor(private readonly max = 10_000) {}

  readonly push = (v: T): void => {
    const index = this.seen.length;
    if (index < this.max) this.seen.push(v);
    for (const w of [...this.waiters]) {
      if (!w.match(v, index)) continue;
      this.waiters.delete(w);
      w.resolve(v);
    }
  };

  /** `index` is the value's place in `seen` (clearing `seen` starts the count again). */
  when(match: (v: T, index: number) => boolean, what: string, guardMs?: number): Promise<T> {
    const i = this.seen.findIndex(match);
    if (i >= 0) return Promise.resolve(this.seen[i] as T);
    let waiter: { match: (v: T, index: number) => boolean; resolve: (v: T) => void } | undefined;
    const p = new Promise<T>((resolve) => {
      waiter = { match, resolve };
      this.waiters.add(waiter);
    });
    return within(p, what, guardMs).finally(() => {
      if (waiter) this.waiters.delete(waiter);
    });
  }
}

/**
 * Resolves once `check()` holds for the file at `path`, re-checked on every change the file system
 * reports in its folder (and once at the start, after the watch is set: no change can slip between);
 * fails with `never happened: <what>` at the hang guard. `check` defaults to "the file exists".
 */
export function fileEvent(
  path: string,
  what: string,
  check: () => boolean = () => existsSync(path),
  guardMs?: number,
): Promise<void> {
  const name = basename(path);
  let watcher: ReturnType<typeof watch> | undefined;
  const seen = new Promise<void>((resolve, reject) => {
    const look = () => {
      try {
        if (check()) resolve();
      } catch (err) {
        reject(err);
      }
    };
    watcher = watch(dirname(path), { persistent: false }, (_event, changed) => {
      if (!changed || String(changed) === name) look();
    });
    watcher.on('error', reject);
    look();
  });
  return within(seen, what, guardMs).finally(() => watcher?.close());
}
