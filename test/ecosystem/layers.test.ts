/** scripts/check-layers.mjs reads imports from the syntax tree, so no form of import slips past it. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('../../../scripts/check-layers.mjs', import.meta.url));

/** Runs the check on a temp tree holding `files` (plus a config.ts that may read the environment). */
function checkTree(files: Record<string, string>) {
  const root = mkdtempSync(join(tmpdir(), 'layers-'));
  try {
    const all = { 'src/config.ts': 'export const home = process.env.HOME;\n', ...files };
    for (const [path, text] of Object.entries(all)) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
    }
    return spawnSync(process.execPath, [script, root], { encoding: 'utf8' });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

test('the project passes the layer check', () => {
  const res = spawnSync(process.execPath, [script], {
    cwd: fileURLToPath(new URL('../../../', import.meta.url)),
    encoding: 'utf8',
  });
  assert.equal(res.status, 0, res.stderr);
});

test('a tool with a dynamic import of undici fails the check', () => {
  const res = checkTree({
    'tools/x.ts': "export async function f() {\n  return await import('undici');\n}\n",
  });
  assert.equal(res.status, 1);
  assert.match(res.stderr, /tools\/x\.ts:2: tools\/ may not import undici/);
});

test('require, export-from, import-equals and type imports are checked too', () => {
  const res = checkTree({
    'tools/a.ts': "const u = require('undici');\nexport { u };\n",
    'tools/b.ts': "export * from '../src/http/client.js';\n",
    'tools/c.ts': "import h = require('../src/http/client.js');\nexport { h };\n",
    'src/providers/p.ts': "export type L = import('../jobs/ledger.js').Ledger;\n",
    'src/jobs/j.ts': "export const x = 1;\nconst m = 'undici';\nexport const y = import(m);\n",
  });
  assert.equal(res.status, 1);
  assert.match(res.stderr, /tools\/a\.ts:1: tools\/ may not import undici/);
  assert.match(res.stderr, /tools\/b\.ts:1: tools\/ may not import \.\.\/src\/http\/client\.js/);
  assert.match(res.stderr, /tools\/c\.ts:1: tools\/ may not import \.\.\/src\/http\/client\.js/);
  assert.match(res.stderr, /src\/providers\/p\.ts:1: src\/providers\/ may not import \.\.\/jobs\/ledger\.js/);
  assert.match(res.stderr, /src\/jobs\/j\.ts:3: an import whose target is not a string literal/);
});

test('only src/config.ts reads process.env', () => {
  const res = checkTree({ 'src/jobs/k.ts': "export const key = process['env'].KEY;\n" });
  assert.equal(res.status, 1);
  assert.match(res.stderr, /src\/jobs\/k\.ts: reads process\.env/);
});

test('an allowed import passes', () => {
  const res = checkTree({ 'src/http/ok.ts': "import { request } from 'undici';\nexport { request };\n" });
  assert.equal(res.status, 0, res.stderr);
});
