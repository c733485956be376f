/**
 * The ledger's `hashes` table: input sha256 by file identity (media/hash.ts `identityKey`: device,
 * inode, size, mtime ns, ctime ns), so that a new process does not read an unchanged input again.
 * Bounded: past `maxRows`, the least recently used rows go first.
 */
import type { SqlDatabase } from './sqlite.js';

export const HASHES_SCHEMA = `
CREATE TABLE IF NOT EXISTS hashes (
  key TEXT PRIMARY KEY,
  sha256 TEXT NOT NULL,
  used_at INTEGER NOT NULL
);
`;

/** Structurally the media layer's `HashCache` (media never imports jobs). */
export interface HashStore {
  get(key: string): string | undefined;
  set(key: string, sha256: string): void;
}

export function hashStore(db: SqlDatabase, maxRows = 5000): HashStore {
  return {
    get(key) {
      const r = db.prepare('SELECT sha256 FROM hashes WHERE key = ?').get(key) as
        | { sha256: string }
        | undefined;
      if (r) db.prepare('UPDATE hashes SET used_at = ? WHERE key = ?').run(Date.now(), key);
      return r?.sha256;
    },
    set(key, sha256) {
      db.prepare('INSERT OR REPLACE INTO hashes (key, sha256, used_at) VALUES (?, ?, ?)').run(
        key,
        sha256,
        Date.now(),
      );
      db.prepare(
        'DELETE FROM hashes WHERE key IN (SELECT key FROM hashes ORDER BY used_at DESC LIMIT -1 OFFSET ?)',
      ).run(maxRows);
    },
  };
}
