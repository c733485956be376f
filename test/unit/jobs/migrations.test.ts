/**
 * The ledger's one list of migrations (src/jobs/migrations.ts): each backend numbers its own steps 1, 2,
 * 3, … along the list, the numbers existing files and databases recorded before the lists were merged.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MIGRATIONS, stepsOf } from '../../../src/jobs/migrations.js';
import { MIGRATIONS as PG_MIGRATIONS } from '../../../src/jobs/pg-migrations.js';

test('each backend numbers its steps 1, 2, 3, … in list order, and every step concerns a backend', () => {
  for (const backend of ['sqlite', 'postgres'] as const) {
    const versions = stepsOf(backend).map((s) => s.version);
    assert.deepEqual(
      versions,
      versions.map((_, i) => i + 1),
      backend,
    );
  }
  assert.ok(MIGRATIONS.every((m) => m.sqlite || m.postgres));
  // PostgreSQL's steps as databases recorded them before the lists were merged (names included).
  assert.deepEqual(
    PG_MIGRATIONS.slice(0, 2).map((m) => [m.version, m.name]),
    [
      [1, 'tasks, costs, uploads, downloads; change notifications'],
      [2, "listing indexes: pages of all, one provider's and unfinished tasks in order"],
    ],
  );
});
