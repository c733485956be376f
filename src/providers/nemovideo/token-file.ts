/**
 * The anonymous-token cache on disk: `{client_id, token, expires_at, user_id}` in one JSON file, mode
 * 0600 (it holds a credential), written atomically (temp file + rename) so a crash never leaves half a
 * file. Every MCP client spawns its own server, so several processes share this file; an exclusive
 * lock file (`open(..., 'wx')`) serialises token acquisition between them. The lock names its owner
 * (a random id, pid and host); the holder refreshes its mtime while it works and deletes only its own.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { chmod, mkdir, open, readFile, rename, stat, unlink, utimes } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import type { Clock } from '../../clock.js';
import { AppError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { lockOwnerSchema, tokenCacheSchema } from './token-schemas.js';

export interface TokenCache {
  /** Reused forever: the service issues one token per client id per 7 days. */
  client_id: string;
  token?: string;
  /** Epoch milliseconds. */
  expires_at?: number;
  /** The anonymous user id (the `?bind=` id for registration). Not a secret. */
  user_id?: string;
}

/** A lock not refreshed for this long belongs to a crashed process (holders refresh it every third). */
const LOCK_STALE_MS = 30_000;
/** Give up waiting for another process a little after its lock would have gone stale. */
const LOCK_WAIT_MS = 40_000;
const LOCK_POLL_MS = 100;
/** Stop using a token this long before it expires, so a job never starts on a dying token. */
const EXPIRY_MARGIN_MS = 60 * 60_000;
/** When the service gives no expiry: it documents 7 days; assume a little less. */
const DEFAULT_LIFETIME_MS = 6 * 24 * 60 * 60_000;

/** Lock timing, overridable for tests (wall-clock milliseconds). */
export interface LockTiming {
  staleMs?: number;
  waitMs?: number;
  pollMs?: number;
}

export class TokenFile {
  readonly lockPath: string;
  private readonly staleMs: number;
  private readonly waitMs: number;
  private readonly pollMs: number;

  constructor(
    readonly path: string,
    private readonly clock: Clock,
    private readonly log: Logger,
    timing: LockTiming = {},
  ) {
    this.lockPath = `${path}.lock`;
    this.staleMs = timing.staleMs ?? LOCK_STALE_MS;
    this.waitMs = timing.waitMs ?? LOCK_WAIT_MS;
    this.pollMs = timing.pollMs ?? LOCK_POLL_MS;
  }

  async read(): Promise<TokenCache | undefined> {
    try {
      return parseCache(await readFile(this.path, 'utf8'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        this.log.warn({ err: errCode(err) }, 'NemoVideo token cache unreadable; ignoring it');
      return undefined;
    }
  }

  /** Synchronous peek for `credentials()` (a tiny local file). */
  readSync(): TokenCache | undefined {
    try {
      return parseCache(readFileSync(this.path, 'utf8'));
    } catch {
      return undefined;
    }
  }

  async write(data: TokenCache): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    const tmp = `${this.path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    const fh = await open(tmp, 'wx', 0o600);
    try {
      await fh.writeFile(`${JSON.stringify(data)}\n`, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    // The mode passed to open() is filtered by the umask; make 0600 explicit.
    await chmod(tmp, 0o600);
    try {
      await rename(tmp, this.path);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
  }

  /** Whether the cached token can still be used at `now`. */
  usable(c: TokenCache | undefined, now: number): c is TokenCache & { token: string } {
    return !!c?.token && (c.expires_at ?? 0) - EXPIRY_MARGIN_MS > now;
  }

  /** Runs `fn` holding the cross-process lock. */
  async withLock<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const release = await this.acquire(signal);
    try {
      return await fn();
    } finally {
      await release();
    }
  }

  private async acquire(signal?: AbortSignal): Promise<() => Promise<void>> {
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    const mine = `${JSON.stringify({ id: randomBytes(8).toString('hex'), pid: process.pid, host: hostname() })}\n`;
    // Staleness and the overall wait use wall time: the lock is shared with other processes, whose
    // notion of time is the file system's mtime, not this process's injected clock.
    const deadline = Date.now() + this.waitMs;
    for (;;) {
      try {
        const fh = await open(this.lockPath, 'wx', 0o600);
        await fh.writeFile(mine).finally(() => fh.close());
        return this.hold(mine);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      if (await this.removeIfStale()) continue;
      if (Date.now() > deadline) {
        throw new AppError('conflict', 'Another lipsync-mcp process is still obtaining a NemoVideo token.', {
          hint: `Try again in a minute. If no other process is running, delete ${this.lockPath}.`,
          retryable: true,
        });
      }
      await this.clock.sleep(this.pollMs, signal);
    }
  }

  /**
   * Holds the lock: its mtime is refreshed (a heartbeat) so that a holder waiting out a rate limit is
   * never judged stale, and release deletes the lock only while it is still this holder's.
   */
  private hold(mine: string): () => Promise<void> {
    const ours = () =>
      readFile(this.lockPath, 'utf8').then(
        (t) => t === mine,
        () => false,
      );
    const beat = setInterval(
      () => {
        void ours()
          .then((yes) => {
            if (!yes) return;
            const now = new Date();
            return utimes(this.lockPath, now, now);
          })
          .catch(() => undefined);
      },
      Math.max(10, Math.floor(this.staleMs / 3)),
    );
    beat.unref();
    return async () => {
      clearInterval(beat);
      if (await ours()) await unlink(this.lockPath).catch(() => undefined);
      else this.log.warn('the NemoVideo token lock was taken over by another process; leaving it in place');
    };
  }

  /**
   * Removes the lock when its owner is gone: a dead process on this host (at once), or no heartbeat
   * for `staleMs` (an owner elsewhere, or a lock without an owner record). A live owner on this host
   * keeps it unless it missed many heartbeats (then its pid was probably reused).
   */
  private async removeIfStale(): Promise<boolean> {
    let text: string;
    let mtimeMs: number;
    try {
      [text, mtimeMs] = await Promise.all([
        readFile(this.lockPath, 'utf8'),
        stat(this.lockPath).then((s) => s.mtimeMs),
      ]);
    } catch {
      return true; // gone already: try to take it
    }
    const owner = parseOwner(text);
    const here = owner?.host === hostname();
    const alive = here && owner ? pidAlive(owner.pid) : undefined;
    const age = Date.now() - mtimeMs;
    const stale = alive === false || age > (alive ? LIVE_OWNER_STALE_FACTOR * this.staleMs : this.staleMs);
    if (!stale) return false;
    // Only the lock judged stale: a fresh one another waiter made meanwhile is left alone.
    if ((await readFile(this.lockPath, 'utf8').catch(() => undefined)) !== text) return false;
    this.log.warn(
      alive === false
        ? 'removing a NemoVideo token lock left by a process that has exited'
        : 'removing a stale NemoVideo token lock left by a crashed process',
    );
    await unlink(this.lockPath).catch(() => undefined);
    return true;
  }
}

/** A live owner on this host heartbeats every staleMs/3; this many staleMs without one is not live. */
const LIVE_OWNER_STALE_FACTOR = 10;

function parseOwner(text: string): { pid: number; host: string } | undefined {
  try {
    const owner = lockOwnerSchema.safeParse(JSON.parse(text));
    return owner.success ? owner.data : undefined;
  } catch {
    return undefined; // an older lock (a bare pid) or one still being written: judged by its age
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Normalises the service's `expires_at` (unix seconds, milliseconds, or an ISO date) to epoch ms. */
export function expiryMs(value: unknown, now: number): number {
  if (typeof value === 'number' && Number.isFinite(value) && value > 0)
    return value < 1e12 ? value * 1000 : value;
  if (typeof value === 'string' && value.trim()) {
    const n = Number(value);
    if (Number.isFinite(n) && n > 0) return n < 1e12 ? n * 1000 : n;
    const d = Date.parse(value);
    if (Number.isFinite(d)) return d;
  }
  return now + DEFAULT_LIFETIME_MS;
}

function parseCache(text: string): TokenCache | undefined {
  const parsed = tokenCacheSchema.safeParse(JSON.parse(text));
  if (!parsed.success) return undefined;
  const { client_id, token, expires_at, user_id } = parsed.data;
  const out: TokenCache = { client_id };
  if (token) out.token = token;
  if (expires_at != null) out.expires_at = expires_at;
  if (user_id) out.user_id = user_id;
  return out;
}

function errCode(err: unknown): string {
  return (err as NodeJS.ErrnoException)?.code ?? (err as Error)?.name ?? 'error';
}
