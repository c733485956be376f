#!/usr/bin/env node
// The README's two first commands (`npm run demo`, `npm test`) must work on a fresh machine, and the
// Node a fresh machine has may still be 20. The product needs Node >= 22.13 for its built-in
// node:sqlite (package.json `engines`; why: README "Node"); below that the ledger runs on better-sqlite3,
// an optional peer that npm never installs by itself (so that `npm ci` compiles nothing where Node has
// SQLite). In a checkout on such a Node, this script adds that driver once, saying so, with the same
// command the README gives for Node 20 — it compiles for about two minutes. On Node >= 22.13, or when the
// driver is already there and loads, it does nothing. Users of the published package are never touched
// by it: it runs only from this repository's npm scripts.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

async function builtIn() {
  try {
    await import('node:sqlite');
    return true;
  } catch {
    return false;
  }
}

// In a child process: a module that failed to resolve once stays failed in this one.
function driverLoads() {
  const probe = "const D = require('better-sqlite3'); new D(':memory:').close();";
  return spawnSync(process.execPath, ['-e', probe], { cwd: root, stdio: 'ignore' }).status === 0;
}

if (!(await builtIn()) && !driverLoads()) {
  const range = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
    .peerDependencies['better-sqlite3'];
  const spec = `better-sqlite3@${range}`;
  console.error(
    `Node ${process.version} has no built-in SQLite (node:sqlite comes with Node 22.13). Adding the driver for ` +
      `Node 20 to this checkout once: npm i --no-save --save-optional ${spec} (it compiles for about two ` +
      'minutes and needs python3, make and a C++ compiler; Node 22.13 or newer needs none of this).',
  );
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(npm, ['i', '--no-save', '--save-optional', '--no-audit', '--no-fund', spec], {
    stdio: ['ignore', 2, 2],
    cwd: root,
  });
  if (r.status !== 0 || !driverLoads()) {
    console.error(
      `Could not add ${spec} (npm exited ${r.status ?? r.signal}). Use Node 22.13 or newer (Node 24 LTS ` +
        'recommended), or install a C++ toolchain (python3, make, g++) and run the command above again.',
    );
    process.exit(1);
  }
}
