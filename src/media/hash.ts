/**
 * File hashing: sha256 read through one reused buffer (no per-chunk allocation, so hashing a large
 * file keeps memory flat), and an in-process cache so an unchanged file is read once.
 *
 * The cache key is the file's identity and change stamps at nanosecond precision: device, inode,
 * size, mtime and ctime. mtime alone is not enough: an in-place edit can keep the size and restore
 * the mtime (`touch -r`, `utimes`), but every write and every utimes moves the ctime, which nobody
 * can set back. File-system clocks tick coarsely (a jiffy, or a second on some file systems), so a
 * file changed within that tick of being hashed could keep its ctime: such "racy" results (as git
 * calls them) are not cached; the next request hashes again.
 *
 * A second, durable cache (`HashCache`, the ledger's `hashes` table, wired in app.ts) keeps results
 * across processes under the same key, so a new CLI process does not read an unchanged input again.
 */
import { createHash } from 'node:crypto';
import type { BigIntStats } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';

const CHUNK = 1 << 20;

/** Buffers returned after use, so consecutive hashes reuse the same memory. */
const spare: Buffer[] = [];

/** sha256 (hex) of a file, no cache. Reads through one 1 MiB buffer. */
export async function sha256File(path: string): Promise<string> {
  const fh = await open(path, 'r');
  try {
    return await digestHandle(fh);
  } finally {
    await fh.close();
  }
}

async function digestHandle(fh: FileHandle): Promise<string> {
  const buf = spare.pop() ?? Buffer.allocUnsafe(CHUNK);
  try {
    const hash = createHash('sha256');
    let pos = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, CHUNK, pos);
      if (bytesRead === 0) break;
      hash.update(buf.subarray(0, bytesRead));
      pos += bytesRead;
    }
    return hash.digest('hex');
  } finally {
    if (spare.length < 4) spare.push(buf);
  }
}

export interface HashedFile {
  sha256: string;
  /** Size at hashing time (from the same open file as the digest). */
  size: number;
}

export interface FileHasherOptions {
  /** Wall clock in ms, compared with file timestamps (tests move it). */
  now?: () => number;
  /** A file changed this recently (ctime or mtime) is hashed but not cached. */
  racyMs?: number;
  maxEntries?: number;
}

/** Cache key: device, inode, size, mtime and ctime, all at nanosecond precision. */
export function identityKey(st: BigIntStats): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
}

/** A durable cache of sha256 by `identityKey` (the ledger implements it; media never imports jobs). */
export interface HashCache {
  get(key: string): string | undefined;
  set(key: string, sha256: string): void;
}

export class FileHasher {
  private readonly cache = new Map<string, string>();
  private readonly now: () => number;
  private readonly racyNs: bigint;
  private readonly maxEntries: number;
  /** Counters for tests and benchmarks. */
  readonly stats = { hits: 0, reads: 0 };

  constructor(opts: FileHasherOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.racyNs = BigInt(Math.round((opts.racyMs ?? 1000) * 1e6));
    this.maxEntries = opts.maxEntries ?? 2000;
  }

  /**
   * sha256 of `path`, from the cache (this process's, then `store`) when the file's identity and
   * stamps are unchanged. A fresh, non-racy result is written to both.
   */
  async hash(path: string, store?: HashCache): Promise<HashedFile> {
    const fh = await open(path, 'r');
    try {
      const before = await fh.stat({ bigint: true });
      const key = identityKey(before);
      const hit = this.cache.get(key);
      if (hit) {
        this.stats.hits++;
        // Refresh its place: the map's insertion order is the eviction order.
        this.cache.delete(key);
        this.cache.set(key, hit);
        return { sha256: hit, size: Number(before.size) };
      }
      const stored = lookup(store, key);
      if (stored) {
        this.stats.hits++;
        this.remember(key, stored);
        return { sha256: stored, size: Number(before.size) };
      }
      const startedNs = BigInt(Math.floor(this.now())) * 1_000_000n;
      this.stats.reads++;
      const sha256 = await digestHandle(fh);
      const after = await fh.stat({ bigint: true });
      if (identityKey(after) === key && !this.isRacy(before, startedNs)) {
        this.remember(key, sha256);
        save(store, key, sha256);
      }
      return { sha256, size: Number(after.size) };
    } finally {
      await fh.close();
    }
  }

  clear(): void {
    this.cache.clear();
  }

  private isRacy(st: BigIntStats, startedNs: bigint): boolean {
    const since = startedNs - this.racyNs;
    return st.ctimeNs >= since || st.mtimeNs >= since;
  }

  private remember(key: string, sha256: string): void {
    this.cache.set(key, sha256);
    if (this.cache.size > this.maxEntries) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
  }
}

/** A broken durable cache (a locked or read-only ledger) only costs a re-hash. */
function lookup(store: HashCache | undefined, key: string): string | undefined {
  try {
    const v = store?.get(key);
    return v && /^[0-9a-f]{64}$/.test(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

function save(store: HashCache | undefined, key: string, sha256: string): void {
  try {
    store?.set(key, sha256);
  } catch {
    // Not cached: the next process hashes again.
  }
}

/** The process-wide hasher used for inputs. */
export const fileHasher = new FileHasher();
