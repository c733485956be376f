/**
 * Issue 24 item 5: the SQLite ledger reuses its prepared statements. Preparing anew on every call left
 * a native statement per call, freed only when V8 got round to collecting its wrapper (V8 does not see
 * that memory): 1,000 active tasks held about 50 MB of them (`npm run bench`, polls).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openDatabase } from '../../../src/jobs/sqlite.js';

test('the same SQL text gives the same prepared statement; the cache is bounded', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sqlite-statements-'));
  const db = openDatabase(join(dir, 'x.sqlite'), 1000);
  try {
    db.exec('CREATE TABLE t (a INTEGER)');
    const first = db.prepare('SELECT count(*) AS n FROM t');
    assert.equal(db.prepare('SELECT count(*) AS n FROM t'), first, 'prepared once');
    db.prepare('INSERT INTO t (a) VALUES (?)').run(1);
    assert.deepEqual({ ...(first.get() as object) }, { n: 1 }, 'a reused statement reads the current data');
    for (let i = 0; i < 300; i++) db.prepare(`SELECT ${i} AS n`).get();
    assert.notEqual(db.prepare('SELECT count(*) AS n FROM t'), first, 'the least recently used are dropped');
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
