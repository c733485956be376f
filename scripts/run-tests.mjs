#!/usr/bin/env node
// Runs every compiled test file (dist/test/**/*.test.js) with node's test runner.
// Node 20 has no glob support in `--test`, so the files are listed here.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = 'dist/test';
const only = process.argv.slice(2);
const files = [];
(function walk(dir) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith('.test.js')) files.push(p);
  }
})(root);
const selected = only.length ? files.filter((f) => only.some((o) => f.includes(o))) : files;
if (!selected.length) {
  console.error('no test files found');
  process.exit(1);
}
// The ledger's SQLite is built into Node from 22.13; below that (Node 20) better-sqlite3 is installed by
// hand. Without either, say so once, with the fix, rather than fail hundreds of tests one by one.
const sqlite = await import('../dist/src/jobs/sqlite.js')
  .then((m) => m.sqliteProblem())
  .catch(() => undefined);
if (sqlite) {
  console.error(`The tests cannot run on this Node: ${sqlite}`);
  process.exit(1);
}
// A hang fails the run instead of stalling it. Node 22+ applies --test-timeout to every test; Node 20
// applies it to each test file as a whole, so the bound is sized for the longest file on a loaded
// machine. Tests that legitimately need longer set their own `timeout`.
const TEST_TIMEOUT_MS = 600_000;
const res = spawnSync(
  process.execPath,
  [
    '--test',
    '--test-concurrency=2',
    `--test-timeout=${TEST_TIMEOUT_MS}`,
    '--test-reporter=spec',
    ...selected,
  ],
  { stdio: 'inherit' },
);
process.exit(res.status ?? 1);
