/**
 * `npm ci` (npm 11) refuses a lock without an entry for every optional platform package; npm can write
 * such a lock itself (npm/cli#4828). scripts/check-lock.mjs guards it without network; CI also runs `npm ci`.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const script = join(root, 'scripts', 'check-lock.mjs');
type Lock = { packages: Record<string, { optionalDependencies?: Record<string, string> }> };
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as Lock;

const check = (file: string) => spawnSync(process.execPath, [script, file], { encoding: 'utf8' });

test('the lock has an entry for every platform binary of biome, ffmpeg-installer and ffprobe-installer', () => {
  for (const parent of ['@biomejs/biome', '@ffmpeg-installer/ffmpeg', '@ffprobe-installer/ffprobe']) {
    const optional = Object.keys(lock.packages[`node_modules/${parent}`]?.optionalDependencies ?? {});
    assert.ok(optional.length >= 5, `${parent} lists its platform packages`);
    for (const name of optional) assert.ok(lock.packages[`node_modules/${name}`], `${name} is in the lock`);
  }
  const res = check(join(root, 'package-lock.json'));
  assert.equal(res.status, 0, res.stderr);
});

test('a lock missing an optional platform package fails the check, naming it and the fix', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lock-check-'));
  try {
    const broken = structuredClone(lock);
    delete broken.packages['node_modules/@biomejs/cli-darwin-arm64'];
    const file = join(dir, 'package-lock.json');
    writeFileSync(file, JSON.stringify(broken));
    const res = check(file);
    assert.equal(res.status, 1);
    assert.match(res.stderr, /@biomejs\/cli-darwin-arm64@/);
    assert.match(res.stderr, /install --package-lock-only/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('every package in the lock with an install script is decided in allowScripts (npm ci warns otherwise)', () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    allowScripts?: Record<string, boolean>;
  };
  const decided = pkg.allowScripts ?? {};
  const packages = lock.packages as Record<string, { hasInstallScript?: boolean }>;
  const undecided = Object.entries(packages)
    .filter(([path, p]) => path && p.hasInstallScript)
    .map(([path]) => path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length))
    .filter((name) => typeof decided[name] !== 'boolean');
  assert.deepEqual(undecided, [], 'allow (true) or deny (false) each of these in package.json allowScripts');
  // esbuild's postinstall only checks (and re-links) its platform binary, which its optional platform
  // package already provides: denied, and the bundle still builds (the build ran before this test).
  assert.equal(decided.esbuild, false);
});
