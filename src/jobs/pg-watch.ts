/**
 * The PostgreSQL ledger's change feed: one dedicated connection LISTENs on the tasks channel (a trigger
 * notifies every task insert and update, see migrations.ts) and hands each task id to the
 * listeners. A lost connection is re-made with a growing delay, and the listeners are then told that
 * something may have changed (no id: notifications sent meanwhile are gone). It never throws into the
 * process: a failing server is logged.
 */
import pg from 'pg';
import type { Logger } from '../logger.js';
import { clientConfig, type PgOptions, type PgTarget, pgFailure } from './pg-db.js';

type Listener = (taskId?: string) => void;

export class PgChangeFeed {
  private readonly listeners = new Set<Listener>();
  private client: pg.Client | undefined;
  private retry: NodeJS.Timeout | undefined;
  private failures = 0;
  private closed = false;
  private readonly log: Logger | undefined;

  constructor(
    private readonly url: string,
    private readonly target: PgTarget,
    private readonly channel: string,
    private readonly opts: PgOptions,
  ) {
    this.log = opts.log;
  }

  /** Adds a listener (connecting on the first one); the returned function removes it. */
  add(listener: Listener): () => void {
    if (this.closed) return () => {};
    this.listeners.add(listener);
    if (!this.client && !this.retry) this.connect();
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) void this.stop();
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
    await this.stop();
  }

  private connect(): void {
    const client = new pg.Client({
      ...clientConfig(this.url, this.opts),
      application_name: 'lipsync-mcp changes',
    });
    this.client = client;
    client.on('notification', (n) => {
      if (n.channel === this.channel) this.emit(n.payload || undefined);
    });
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client));
    client
      .connect()
      .then(() => client.query(`LISTEN ${this.channel}`))
      .then(
        () => {
          if (this.client !== client) return;
          const reconnected = this.failures > 0;
          // An observable moment (operators, tests): from here on, changes are heard again.
          this.log?.info({ reconnected }, 'PostgreSQL change feed listening');
          // After a reconnect: what changed while nobody listened is unknown.
          if (reconnected) this.emit(undefined);
          this.failures = 0;
        },
        (err: unknown) => this.lost(client, err),
      );
  }

  private lost(client: pg.Client, err?: unknown): void {
    if (this.client !== client) return;
    this.client = undefined;
    discard(client);
    if (this.closed || this.listeners.size === 0) return;
    // At most 5 s: subscriptions on this instance hear nothing while it is away.
    const delay = Math.min(5_000, 250 * 2 ** this.failures++);
    this.log?.warn(
      { err: err === undefined ? undefined : pgFailure(err, this.target), retry_ms: delay },
      'PostgreSQL change feed lost its connection; reconnecting',
    );
    this.retry = setTimeout(() => {
      this.retry = undefined;
      if (!this.closed && this.listeners.size > 0) this.connect();
    }, delay);
    // A pending reconnect alone does not keep the process alive.
    this.retry.unref();
  }

  private async stop(): Promise<void> {
    if (this.retry) clearTimeout(this.retry);
    this.retry = undefined;
    const client = this.client;
    this.client = undefined;
    if (client) await discard(client);
  }

  private emit(taskId: string | undefined): void {
    for (const l of [...this.listeners]) {
      try {
        l(taskId);
      } catch (err) {
        this.log?.error({ err }, 'a ledger change listener threw');
      }
    }
  }
}

/** Ends a client whose events nobody handles any more; its late errors are swallowed, not thrown. */
function discard(client: pg.Client): Promise<void> {
  client.removeAllListeners('notification');
  client.removeAllListeners('end');
  client.removeAllListeners('error');
  client.on('error', () => {});
  return client.end().catch(() => {});
}
