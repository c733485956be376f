#!/usr/bin/env node
// `npm ci` under npm 11 refuses a lock that lacks an entry for any optional dependency, including the
// per-platform binaries of @biomejs/biome, @ffmpeg-installer/ffmpeg, @ffprobe-installer/ffprobe and
// esbuild. npm can write such a lock itself (npm/cli#4828: a lock rebuilt from a node_modules tree where
// other platforms' binaries were never installed); npm 10's `npm ci` accepted it, npm 11's does not.
// This check reads the lock only (no network): every optional dependency of every locked package
// must have its own entry. Usage: node scripts/check-lock.mjs [path/to/package-lock.json]
import { readFileSync } from 'node:fs';
import { dirname, posix } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Where npm would find `name` for the package at `from` (node_modules lookup, innermost first). */
function resolves(packages, from, name) {
  let dir = from;
  for (;;) {
    if (packages[posix.join(dir, 'node_modules', name)]) return true;
    if (!dir) return false;
    const up = dir.lastIndexOf('/node_modules/');
    dir = up < 0 ? '' : dir.slice(0, up);
  }
}

export function missingOptionals(lock) {
  const packages = lock.packages ?? {};
  const missing = [];
  for (const [path, entry] of Object.entries(packages)) {
    for (const [name, range] of Object.entries(entry.optionalDependencies ?? {})) {
      if (!resolves(packages, path, name))
        missing.push(`${name}@${range} (optional dependency of ${path || 'the root package'})`);
    }
  }
  return missing;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const file = process.argv[2] ?? 'package-lock.json';
  const lock = JSON.parse(readFileSync(file, 'utf8'));
  const missing = missingOptionals(lock);
  if (missing.length) {
    console.error(
      `lock check failed: ${file} lacks ${missing.length} optional package(s), so \`npm ci\` (npm 11) refuses it:\n  ${missing.join('\n  ')}\n` +
        `Fix: in a clean clone (no node_modules folder) of ${dirname(file) === '.' ? 'the project' : dirname(file)}, run \`npx -y npm@11 install --package-lock-only\`, then commit package-lock.json (npm 10 leaves such a lock as it is).`,
    );
    process.exit(1);
  }
  console.log(`lock check: every optional dependency in ${file} has an entry`);
}
