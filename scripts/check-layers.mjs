#!/usr/bin/env node
// Import rules between layers (design.md section 2): cli -> server -> tools -> jobs -> providers -> http.
// Tools never import undici or the HTTP layer; providers never import jobs/ (the ledger); only
// src/config.ts reads process.env. Fails with a list of violations.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const files = [];
(function walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (p.endsWith('.ts')) files.push(p);
  }
})('src');
(function walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (p.endsWith('.ts')) files.push(p);
  }
})('tools');

const problems = [];
for (const f of files) {
  const text = readFileSync(f, 'utf8');
  const imports = [...text.matchAll(/from\s+'([^']+)'/g)].map((m) => m[1]);
  if (f !== 'src/config.ts' && /process\.env\b/.test(text.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '')))
    problems.push(`${f}: reads process.env (only src/config.ts may)`);
  if (f.startsWith('tools/')) {
    for (const i of imports) {
      if (
        i === 'undici' ||
        i.includes('/http/') ||
        (i.includes('/providers/') && !i.endsWith('/provider.js'))
      )
        problems.push(`${f}: tools may not import ${i}`);
    }
  }
  if (f.startsWith('src/providers/')) {
    for (const i of imports)
      if (i.includes('/jobs/') || i.includes('/tools/') || i.includes('server.js'))
        problems.push(`${f}: providers may not import ${i}`);
  }
  if (f.startsWith('src/jobs/')) {
    for (const i of imports)
      if (i.includes('/tools/') || i.includes('server.js') || i.includes('/cli/') || i.endsWith('/cli.js'))
        problems.push(`${f}: jobs may not import ${i}`);
  }
}
if (problems.length) {
  console.error(`layer check failed:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(`layer check: ${files.length} files ok`);
