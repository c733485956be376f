/**
 * Issue 24 item 3: a page of the ledger (list_tasks, resources/list) is read along an index, in order:
 * no sort of the whole ledger, whatever the filters and however deep the cursor. The query plans of
 * both backends are asserted (not times: performance is measured in `npm run bench`).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import pg from 'pg';
import { Ledger, pageQuery } from '../../src/jobs/ledger.js';
import { PgLedger, pgPageQuery } from '../../src/jobs/ledger-pg.js';
import { openDatabase } from '../../src/jobs/sqlite.js';
import type { ListOptions, PageKey } from '../../src/jobs/store.js';
import { pgSkip, pgTestDatabase } from '../helpers/pg.js';

const CASES: [string, ListOptions & { after?: PageKey }][] = [
  ['first page', { limit: 20 }],
  ['a deep page', { limit: 20, after: { createdAt: 5000, rowid: 4000 } }],
  ['unfinished only, deep', { limit: 20, unfinishedOnly: true, after: { createdAt: 5000, rowid: 4000 } }],
  ['one provider, deep', { limit: 20, provider: 'jogg', after: { createdAt: 5000, rowid: 4000 } }],
  // A user's page (OAuth). The local principal's pages are never filtered (it sees every task); a
  // `principal: null` page would be sorted on PostgreSQL (IS NULL does not order an index scan).
  [
    "one user's, deep",
    { limit: 20, principal: 'https://id.example#u1', after: { createdAt: 5000, rowid: 4000 } },
  ],
];

test('SQLite: every page is an index search in order, never a sort of the whole ledger', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ledger-plan-'));
  const file = join(dir, 'ledger.sqlite');
  new Ledger(file).closeSync();
  const db = openDatabase(file, 1000);
  try {
    for (const [what, opts] of CASES) {
      const q = pageQuery(opts);
      const plan = (db.prepare(`EXPLAIN QUERY PLAN ${q.sql}`).all(...q.args) as { detail: string }[])
        .map((r) => r.detail)
        .join('; ');
      assert.doesNotMatch(plan, /TEMP B-TREE/, `${what}: ${plan}`);
      assert.match(plan, /USING (COVERING )?INDEX tasks_(page|unfinished)/, `${what}: ${plan}`);
      if (opts.after) assert.match(plan, /created_at<\?/, `${what}: the cursor is an index bound: ${plan}`);
      if (opts.principal)
        assert.match(plan, /tasks_page_principal \(principal=\?/, `${what}: only the user's rows: ${plan}`);
    }
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

describe('PostgreSQL', { skip: pgSkip }, () => {
  test('every page is an index scan in order: no Sort, and filters are index conditions', async () => {
    const t = await pgTestDatabase('plan');
    const ledger = await PgLedger.open(t.url);
    const c = new pg.Client({ connectionString: t.url });
    await c.connect();
    try {
      // An empty table would be read whole whatever the indexes: ask which plan is possible at all.
      await c.query('SET enable_seqscan = off');
      await c.query('SET enable_bitmapscan = off');
      for (const [what, opts] of CASES) {
        const q = pgPageQuery(opts);
        const { rows } = await c.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${q.sql}`, q.args);
        const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
        assert.doesNotMatch(plan, /Sort|Seq Scan/, `${what}:\n${plan}`);
        assert.doesNotMatch(
          plan,
          /Filter: .*(status|provider|rejected|principal)/,
          `${what}: no filtering:\n${plan}`,
        );
      }
    } finally {
      await c.end();
      await ledger.close();
      await t.drop();
    }
  });
});
