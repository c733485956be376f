/** `npm pack` ships only what a user needs: the compiled server and CLI, the skill, the manifests, the README. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));

test('npm pack --dry-run lists only the runtime files', { timeout: 120_000 }, (t) => {
  if (!existsSync(`${root}dist/src/cli.js`)) return t.skip('not built');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const out = execFileSync(npm, ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    shell: process.platform === 'win32',
  });
  const [info] = JSON.parse(out.slice(out.indexOf('['))) as { files: { path: string }[] }[];
  assert.ok(info);
  const files = info.files.map((f) => f.path.replace(/\\/g, '/'));
  for (const need of [
    'package.json',
    'dist/bin/lipsync-mcp.js',
    'dist/bin/worker.js',
    'dist/src/cli.js',
    'dist/src/server.js',
    'dist/tools/index.js',
    'skill/SKILL.md',
    'README.md',
    'server.json',
    'mcp.json',
  ])
    assert.ok(files.includes(need), `${need} is missing from the package`);
  const unwanted = files.filter(
    (f) =>
      f.startsWith('test/') ||
      f.startsWith('dist/test/') ||
      f.startsWith('scripts/') ||
      f.startsWith('dist/scripts/') ||
      f.startsWith('src/') ||
      f.startsWith('tools/') ||
      (f.endsWith('.ts') && !f.endsWith('.d.ts')) ||
      f.includes('node_modules/'),
  );
  assert.deepEqual(unwanted, [], 'test, scripts and TypeScript sources must not be packed');
});
