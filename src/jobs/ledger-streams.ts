/**
 * Resumable answer streams (issue 26): the request behind each stream the HTTP face answers with SSE,
 * kept for a few minutes so that a client whose stream was cut (its instance died, a proxy dropped it)
 * can come back with the stream's id — to any instance on the same ledger — and be answered again
 * (src/http-server/resume.ts). One table on both backends, written once per streamed request (and once
 * more when its answer went out), read only on a resumption; rows older than the keep time are pruned
 * as new ones arrive.
 */
import { type Executor, one } from './ledger-sql.js';
import type { StreamRow, StreamStore } from './store.js';

/** Pruning runs on one insert in this many (and on the first): cheap, and the table stays bounded by age. */
const PRUNE_EVERY = 64;

export function streamStore(x: Executor): StreamStore {
  let inserts = 0;
  return {
    async put(row, keepMs) {
      const sql = 'INSERT INTO streams (id, principal, request, headers, created_at) VALUES (?, ?, ?, ?, ?)';
      await x.run(one({ sql, args: [row.id, row.principal, row.request, row.headers, row.createdAt] }));
      if (inserts++ % PRUNE_EVERY === 0)
        await x.run(one({ sql: 'DELETE FROM streams WHERE created_at < ?', args: [row.createdAt - keepMs] }));
    },
    async get(id, notBefore) {
      const sql =
        'SELECT id, principal, request, headers, created_at, answered_at FROM streams WHERE id = ? AND created_at >= ?';
      const [r] = await x.run(one({ sql, args: [id, notBefore] }));
      if (!r) return undefined;
      return {
        id: String(r.id),
        principal: r.principal === null ? null : String(r.principal),
        request: String(r.request),
        headers: String(r.headers),
        createdAt: Number(r.created_at),
        ...(r.answered_at === null ? {} : { answeredAt: Number(r.answered_at) }),
      } satisfies StreamRow;
    },
    async answered(id, now) {
      await x.run(one({ sql: 'UPDATE streams SET answered_at = ? WHERE id = ?', args: [now, id] }));
    },
  };
}
