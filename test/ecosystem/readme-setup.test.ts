/**
 * The README's client setup works from a clone: the snippets run the built CLI with `node` and an
 * absolute path (the package is not on the npm registry yet). The Claude Desktop snippet, copied and
 * given this checkout's path, starts the server: initialize + tools/list over stdio.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { testEnv } from '../helpers/app.js';
import { until } from '../helpers/wait.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const PLACEHOLDER = '/absolute/path/to/lipsync-mcp';
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const setup = readme.slice(readme.indexOf('## Client setup'), readme.indexOf('**Once published**'));

interface ServerEntry {
  command: string;
  args: string[];
  env?: Record<string, string>;
}

function jsonSnippets(): ServerEntry[] {
  return [...setup.matchAll(/```json\n([\s\S]*?)```/g)].map(
    (m) => (JSON.parse(m[1] ?? '') as { mcpServers: { lipsync: ServerEntry } }).mcpServers.lipsync,
  );
}

test('every client snippet runs the checkout with node and the absolute path (no npx before publishing)', () => {
  const entries = jsonSnippets();
  assert.equal(entries.length, 2, 'Claude Desktop and Cursor');
  for (const e of entries) {
    assert.equal(e.command, 'node');
    assert.deepEqual(e.args, [`${PLACEHOLDER}/dist/bin/lipsync-mcp.js`]);
  }
  const cli = `${PLACEHOLDER}/dist/bin/lipsync-mcp.js`;
  assert.ok(
    setup.includes(`claude mcp add lipsync --env JOGG_API_KEY=your-key -- node ${cli}`),
    'Claude Code',
  );
  assert.ok(setup.includes(`openclaw mcp add lipsync --command node --arg ${cli}`), 'OpenClaw 2026.9 form');
  assert.ok(setup.includes(`npx @modelcontextprotocol/inspector node ${cli}`), 'Inspector UI');
  assert.ok(setup.includes(`npx @modelcontextprotocol/inspector --cli node ${cli} --method tools/list`));
  for (const block of setup.matchAll(/```\w*\n([\s\S]*?)```/g))
    assert.doesNotMatch(
      block[1] ?? '',
      /npx -y lipsync-mcp/,
      'no snippet that answers 404 before publishing',
    );
  assert.match(setup, /npm link/);
});

test('the Claude Desktop snippet, given this checkout path, starts the server (initialize + tools/list)', async () => {
  const entry = jsonSnippets()[0]!;
  const args = entry.args.map((a) => a.replace(PLACEHOLDER, root.replace(/\/$/, '')));
  const env = testEnv();
  const child = spawn(entry.command, args, {
    env: { ...env.env, ...entry.env, LIPSYNC_ALLOWED_DIRS: env.home },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const answer = async (id: number) => {
    const find = () => stdout.split('\n').find((l) => l.includes(`"id":${id}`));
    await until(() => find() !== undefined || child.exitCode !== null, `an answer to ${id}`);
    const line = find();
    if (!line) throw new Error(`no answer to ${id}; stderr: ${stderr}`);
    return JSON.parse(line);
  };
  const send = (m: object) => child.stdin.write(`${JSON.stringify(m)}\n`);
  try {
    send({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: {
        protocolVersion: '2025-06-18',
        capabilities: {},
        clientInfo: { name: 'readme', version: '1' },
      },
    });
    const init = await answer(1);
    assert.equal(init.result.serverInfo.name, 'lipsync-mcp');
    send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    send({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
    const list = await answer(2);
    const names = list.result.tools.map((t: { name: string }) => t.name);
    assert.ok(names.includes('create_lip_sync'), names.join(', '));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    child.stdin.end();
    assert.equal(await exited, 0);
  } finally {
    child.kill('SIGKILL');
    env.cleanup();
  }
});
