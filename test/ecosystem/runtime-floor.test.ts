/**
 * The runtime floor (issue 27 item 6): Node >= 22.13, whose built-in node:sqlite holds the ledger, so
 * installing lipsync-mcp compiles nothing. better-sqlite3 (which compiles wherever no prebuilt binary
 * can be fetched) is an optional peer dependency, only for Node 20; without it the product says what to
 * do, in words, before a job fails.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runCli } from '../helpers/spawn.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));
const FLOOR = [22, 13, 0];

/** Whether version `v` satisfies an npm `engines` range of the forms our dependencies use. */
function satisfies(v: number[], range: string): boolean {
  const cmp = (a: number[], b: number[]) => a[0]! - b[0]! || a[1]! - b[1]! || a[2]! - b[2]!;
  return range.split('||').some((alt) =>
    alt
      .trim()
      .replace(/(>=|<=|>|<|\^|~)\s+/g, '$1')
      .split(/\s+/)
      .every((c) => {
        const m = /^(>=|<=|>|<|\^|~|=)?v?(\d+)(?:\.(\d+|x))?(?:\.(\d+|x))?$/.exec(c);
        if (!m) throw new Error(`engines range not understood: ${range}`);
        const b = [Number(m[2]), Number(m[3]) || 0, Number(m[4]) || 0];
        const d = cmp(v, b);
        if (m[1] === '>=') return d >= 0;
        if (m[1] === '>') return d > 0;
        if (m[1] === '<=') return d <= 0;
        if (m[1] === '<') return d < 0;
        if (m[1] === '^') return v[0] === b[0] && d >= 0;
        if (m[1] === '~') return v[0] === b[0] && v[1] === b[1] && d >= 0;
        // A bare or x-range version (20, 22.x) is every release of that major (and minor).
        if (m[3] === undefined || m[3] === 'x') return v[0] === b[0];
        if (m[4] === undefined || m[4] === 'x') return v[0] === b[0] && v[1] === b[1];
        return d === 0;
      }),
  );
}

test('the package supports Node >= 22.13 and installs nothing that compiles', () => {
  assert.equal(pkg.engines.node, '>=22.13');
  for (const field of ['dependencies', 'optionalDependencies', 'devDependencies'])
    assert.equal(pkg[field]?.['better-sqlite3'], undefined, `better-sqlite3 in ${field}`);
  assert.ok(pkg.peerDependencies?.['better-sqlite3'], 'better-sqlite3 is an optional peer (the Node 20 way)');
  assert.equal(pkg.peerDependenciesMeta?.['better-sqlite3']?.optional, true);
  // What `npm ci` installs: only the bundled ffmpeg/ffprobe (prebuilt binaries) and dev tools run scripts.
  const scripted = Object.entries(
    lock.packages as Record<string, { hasInstallScript?: boolean; dev?: boolean }>,
  )
    .filter(([name, p]) => name && p.hasInstallScript && !p.dev)
    .map(([name]) => name.replace(/^node_modules\//, ''));
  assert.deepEqual(
    scripted.filter((n) => !/^@ff(mpeg|probe)-installer\//.test(n)),
    [],
    'packages with install scripts',
  );
  assert.equal(lock.packages['node_modules/better-sqlite3'], undefined);
});

test("every runtime dependency's engines allow the floor, Node 22.13", () => {
  const names = [...Object.keys(pkg.dependencies), ...Object.keys(pkg.optionalDependencies ?? {})];
  const refused: string[] = [];
  for (const name of names) {
    const range = lock.packages[`node_modules/${name}`]?.engines?.node as string | undefined;
    if (range && !satisfies(FLOOR, range)) refused.push(`${name}: ${range}`);
  }
  assert.deepEqual(refused, []);
  assert.ok(satisfies([22, 13, 0], '>=20.18.1') && !satisfies([20, 20, 2], '>=22.13'));
  assert.ok(satisfies([22, 13, 0], '20.x || 22.x') && !satisfies([23, 1, 0], '20.x || 22.x'));
});

/** Loaded first in the child: no node:sqlite (as on Node 20) and no better-sqlite3 installed. */
const HIDE_SQLITE = `
const M = require('node:module');
const resolve = M._resolveFilename;
M._resolveFilename = function (request, ...rest) {
  if (request === 'better-sqlite3') {
    const e = new Error("Cannot find module 'better-sqlite3'");
    e.code = 'MODULE_NOT_FOUND';
    throw e;
  }
  return resolve.call(this, request, ...rest);
};
process.getBuiltinModule = undefined;
`;

test('without node:sqlite and better-sqlite3, doctor says so, with the fix, before a job fails', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'no-sqlite-'));
  try {
    const preload = join(dir, 'hide-sqlite.cjs');
    writeFileSync(preload, HIDE_SQLITE);
    const env = {
      PATH: process.env.PATH ?? '',
      LIPSYNC_HOME: join(dir, 'home'),
      NODE_OPTIONS: `--require ${preload}`,
    };
    const r = await runCli(['doctor', '--json'], env, undefined, join(root, 'dist/bin/lipsync-mcp.js'));
    const report = JSON.parse(r.stdout) as { problems: string[] };
    const problem = report.problems.find((p) => p.includes('SQLite'));
    assert.ok(problem, `doctor lists no SQLite problem: ${r.stdout}`);
    assert.match(problem, /Node 22\.13 or newer/);
    assert.match(problem, /npm i -g lipsync-mcp better-sqlite3/);
    assert.doesNotMatch(problem, /\n\s+at /, 'no stack trace');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
