/**
 * Test clocks. Virtual time never runs by itself:
 * - `ManualClock`: time moves only when the test calls `advance(ms)` (or `advanceToNext()`).
 * - `drivenClock()`: the harness default. Time moves to the next pending sleep only when the process
 *   is idle: no sleep started or ended for a few event-loop turns and no HTTP request, PostgreSQL
 *   query or file request in flight (io-activity.ts). A product deadline (a poll budget, "give up
 *   after 10 minutes", a lease, a wait) therefore expires after the same sequence of events on any
 *   machine: a loaded machine makes virtual time slower, never lets it pass an answer still on its way.
 */
import { abortError, type Clock } from '../../src/clock.js';
import { busyCount, ioIdle, trackIo } from './io-activity.js';

export const CLOCK_START = Date.UTC(2026, 0, 1);

interface Sleeper {
  due: number;
  seq: number;
  resolve: () => void;
}

export class ManualClock implements Clock {
  protected t: number;
  protected sleepers = new Set<Sleeper>();
  private seq = 0;
  /** Bumped whenever a sleep starts, ends or is cancelled (the driver's "something happened"). */
  protected changes = 0;

  constructor(start = CLOCK_START) {
    this.t = start;
  }

  readonly now = (): number => this.read();

  readonly sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason ?? abortError());
      const onAbort = () => {
        this.sleepers.delete(entry);
        this.changes++;
        reject(signal?.reason ?? abortError());
      };
      const entry: Sleeper = {
        due: this.t + Math.max(0, ms),
        seq: this.seq++,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      this.sleepers.add(entry);
      this.changes++;
      signal?.addEventListener('abort', onAbort, { once: true });
      this.started();
    });

  /** Sleeps not yet due. */
  get pending(): number {
    return this.sleepers.size;
  }

  /** When the earliest pending sleep is due, or undefined when none is pending. */
  nextDue(): number | undefined {
    let next: number | undefined;
    for (const s of this.sleepers) if (next === undefined || s.due < next) next = s.due;
    return next;
  }

  /** Moves time forward by `ms` and ends every sleep due by then, earliest first. */
  advance(ms: number): void {
    this.advanceTo(this.t + ms);
  }

  /** Moves time to the earliest pending sleep and ends it (and any due at the same time). */
  advanceToNext(): boolean {
    const next = this.nextDue();
    if (next === undefined) return false;
    this.advanceTo(Math.max(this.t, next));
    return true;
  }

  protected advanceTo(t: number): void {
    this.t = t;
    const due = [...this.sleepers].filter((s) => s.due <= t).sort((a, b) => a.due - b.due || a.seq - b.seq);
    for (const s of due) {
      this.sleepers.delete(s);
      this.changes++;
      s.resolve();
    }
  }

  protected started(): void {}

  protected read(): number {
    return this.t;
  }
}

/** Event-loop turns with nothing happening before the driver moves time. */
const QUIET_TURNS = 4;

/**
 * One event-loop turn. A referenced immediate: an unreferenced one does not stop the loop from
 * blocking on I/O until the next timer, which made each turn last as long as the longest timer.
 */
function turn(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}

export class DrivenClock extends ManualClock {
  private driving = false;
  private stopped = false;

  constructor(start = CLOCK_START) {
    super(start);
    trackIo();
  }

  /**
   * Like a real clock, two readings are never equal: each one moves time on by 1 ms. Without it, work
   * done one step after another with no sleep in between (a create, then the next create) would look
   * simultaneous, which no machine produces (the spend tracker counts a task created at or after a
   * create's start as running beside it).
   */
  protected override read(): number {
    return this.t++;
  }

  /** Stops moving time by itself (explicit `advance` still works). */
  stop(): void {
    this.stopped = true;
  }

  protected override started(): void {
    if (this.driving || this.stopped) return;
    this.driving = true;
    this.drive().finally(() => {
      this.driving = false;
    });
  }

  private async drive(): Promise<void> {
    while (!this.stopped && this.sleepers.size > 0) {
      await this.quiet();
      if (this.stopped) return;
      this.advanceToNext();
    }
  }

  /** Resolves after QUIET_TURNS turns in a row in which no sleep started or ended and no I/O ran. */
  private async quiet(): Promise<void> {
    let calm = 0;
    let mark = this.changes;
    while (calm < QUIET_TURNS) {
      await ioIdle();
      await turn();
      if (this.changes !== mark || busyCount() > 0) {
        mark = this.changes;
        calm = 0;
      } else calm++;
    }
  }
}

/** The harness default: a clock that moves only when the process is idle (see the file comment). */
export function drivenClock(start = CLOCK_START): DrivenClock {
  return new DrivenClock(start);
}
