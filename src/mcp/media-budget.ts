/**
 * How many media bytes are in flight (issue 24 item 1): read from disk and not yet taken by the client.
 * A media read holds its bytes from before it reads the file until its answer is taken (stdio: written
 * out; HTTP: its response finished or closed), per session and for the whole process. A read over
 * either cap waits up to `waitMs` for bytes to be taken, then is refused with a clear error. One read
 * alone always fits, so a single range larger than a cap still goes through when nothing else is sent.
 */
import { ProtocolError } from '@modelcontextprotocol/server';
import type { Clock } from '../clock.js';

export interface MediaBudgetOptions {
  /** Most raw bytes in flight for the whole process. */
  processBytes: number;
  /** Most raw bytes in flight for one session (stdio: the one client). */
  sessionBytes: number;
  /** How long a read over a cap waits for room before it is refused. */
  waitMs: number;
  clock: Clock;
}

/** JSON-RPC server error: the media cap is reached. */
export const MEDIA_BUSY = -32000;

interface Waiter {
  session: string;
  bytes: number;
  wake: () => void;
}

const mib = (n: number) => `${(n / 1048576).toFixed(n < 1048576 ? 2 : 0)} MiB`;

export class MediaBudget {
  private total = 0;
  private readonly sessions = new Map<string, number>();
  private readonly waiters: Waiter[] = [];

  constructor(private readonly o: MediaBudgetOptions) {}

  /** Raw bytes in flight now (all sessions). */
  get inFlight(): number {
    return this.total;
  }

  /** Takes `bytes` for `session`, waiting briefly for room; returns the release (idempotent). */
  async acquire(session: string, bytes: number): Promise<() => void> {
    if (this.waiters.length === 0 && this.fits(session, bytes)) return this.take(session, bytes);
    const stop = new AbortController();
    let waiter: Waiter | undefined;
    const woken = new Promise<void>((resolve) => {
      waiter = { session, bytes, wake: resolve };
      this.waiters.push(waiter);
    });
    await Promise.race([woken, this.o.clock.sleep(this.o.waitMs, stop.signal).catch(() => undefined)]);
    stop.abort();
    const i = this.waiters.indexOf(waiter as Waiter);
    // Still queued: no room came in time. Otherwise it was woken, and its bytes are already counted.
    if (i < 0) return this.take(session, bytes, true);
    this.waiters.splice(i, 1);
    throw this.busy(session, bytes);
  }

  private fits(session: string, bytes: number): boolean {
    const mine = this.sessions.get(session) ?? 0;
    const processOk = this.total === 0 || this.total + bytes <= this.o.processBytes;
    const sessionOk = mine === 0 || mine + bytes <= this.o.sessionBytes;
    return processOk && sessionOk;
  }

  /** Counts the bytes (already counted when a waiter was woken: `counted`). */
  private take(session: string, bytes: number, counted = false): () => void {
    if (!counted) this.count(session, bytes);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.count(session, -bytes);
      this.wakeWaiters();
    };
  }

  private count(session: string, delta: number): void {
    this.total += delta;
    const left = (this.sessions.get(session) ?? 0) + delta;
    if (left > 0) this.sessions.set(session, left);
    else this.sessions.delete(session);
  }

  /** Lets waiters in, oldest first, while they fit; a waiter that does not fit keeps its place. */
  private wakeWaiters(): void {
    for (let i = 0; i < this.waiters.length; ) {
      const w = this.waiters[i] as Waiter;
      if (!this.fits(w.session, w.bytes)) {
        i++;
        continue;
      }
      this.waiters.splice(i, 1);
      this.count(w.session, w.bytes);
      w.wake();
    }
  }

  private busy(session: string, bytes: number): ProtocolError {
    const mine = this.sessions.get(session) ?? 0;
    const which =
      mine > 0 && mine + bytes > this.o.sessionBytes
        ? `this session already has ${mib(mine)} of media on its way (its limit is ${mib(this.o.sessionBytes)}, LIPSYNC_MEDIA_SESSION_INFLIGHT_KB)`
        : `${mib(this.total)} of media are on their way to clients (the limit is ${mib(this.o.processBytes)}, LIPSYNC_MEDIA_MAX_INFLIGHT_KB)`;
    const hint =
      'Read the ranges of a video one after another, not all at once, and read each answer; try again in a few seconds.';
    return new ProtocolError(MEDIA_BUSY, `Too much media is being sent at once: ${which}. ${hint}`, {
      code: 'rate_limited',
      hint,
    });
  }
}
