/**
 * Live MCP sessions of the HTTP transport. Many clients (Inspector CLI, mcporter) never send DELETE,
 * so a session that has had no request for `idleMs` ends by itself, and at most `max` exist at once.
 * Ending a session loses nothing: job state lives in the ledger and a new session can follow it.
 */
import type { NodeStreamableHTTPServerTransport } from '@modelcontextprotocol/node';
import type { McpServer } from '@modelcontextprotocol/server';
import type { Clock } from '../clock.js';

export interface Session {
  transport: NodeStreamableHTTPServerTransport;
  server: McpServer;
}

export type EndReason = 'expired' | 'closed' | 'shutdown';

export interface SessionRegistryOptions {
  idleMs: number;
  max: number;
  clock: Clock;
  onEnd?: (id: string, why: EndReason, left: number) => void;
}

interface Entry extends Session {
  /** Requests (and open notification streams) in progress: a busy session never expires. */
  busy: number;
  lastSeen: number;
  idle?: AbortController;
}

export class SessionRegistry {
  private readonly entries = new Map<string, Entry>();
  /** Initializations under way, so that parallel ones cannot overshoot the cap. */
  private reserved = 0;

  constructor(private readonly o: SessionRegistryOptions) {}

  get size(): number {
    return this.entries.size;
  }

  /**
   * Holds a place for a session being initialized; undefined when every place is taken. The place is
   * given back by calling the returned function (once counts, later calls do nothing): when the
   * session is added, or when its initialization ends without one. A place never counts twice (a
   * session already added and still reserved refused 3 of 200 parallel initializations: issue 26).
   */
  reserve(): (() => void) | undefined {
    if (this.entries.size + this.reserved >= this.o.max) return undefined;
    this.reserved++;
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.reserved--;
    };
  }

  add(id: string, session: Session): void {
    const entry: Entry = { ...session, busy: 0, lastSeen: this.o.clock.now() };
    this.entries.set(id, entry);
    this.armIdle(id, entry);
  }

  /** The session a request names, marked busy until `release(id)`; undefined when unknown or ended. */
  acquire(id: string): Session | undefined {
    const e = this.entries.get(id);
    if (!e) return undefined;
    e.busy++;
    e.idle?.abort();
    e.idle = undefined;
    return e;
  }

  release(id: string): void {
    const e = this.entries.get(id);
    if (!e) return;
    e.busy = Math.max(0, e.busy - 1);
    e.lastSeen = this.o.clock.now();
    if (e.busy === 0) this.armIdle(id, e);
  }

  /** Seconds until the first idle session expires (when a place frees up), at least 1. */
  retryAfterSeconds(): number {
    const now = this.o.clock.now();
    let first = Number.POSITIVE_INFINITY;
    for (const e of this.entries.values())
      if (e.busy === 0) first = Math.min(first, e.lastSeen + this.o.idleMs);
    const ms = Number.isFinite(first) ? first - now : this.o.idleMs;
    return Math.max(1, Math.ceil(ms / 1000));
  }

  async end(id: string, why: EndReason): Promise<void> {
    const e = this.entries.get(id);
    if (!e) return;
    this.entries.delete(id);
    e.idle?.abort();
    this.o.onEnd?.(id, why, this.entries.size);
    await e.transport.close().catch(() => undefined);
    await e.server.close().catch(() => undefined);
  }

  async closeAll(): Promise<void> {
    for (const id of [...this.entries.keys()]) await this.end(id, 'shutdown');
  }

  private armIdle(id: string, e: Entry): void {
    e.idle?.abort();
    const ctl = new AbortController();
    e.idle = ctl;
    this.o.clock.sleep(this.o.idleMs, ctl.signal).then(
      () => {
        if (e.idle === ctl && e.busy === 0) void this.end(id, 'expired');
      },
      () => undefined,
    );
  }
}
