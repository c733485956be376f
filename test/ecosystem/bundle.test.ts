/**
 * The command users run is package.json's bin: the bundle scripts/bundle.mjs builds from the compiled
 * modules. The rest of the suite runs those modules; these tests check that the bundle is the same
 * server: the same answers to a client's first questions, a whole local job (its worker process, the
 * SQLite ledger, ffmpeg), the start-up log line through pino, and `doctor`.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { startFakeJogg } from '../fakes/jogg/index.js';
import { testEnv } from '../helpers/app.js';
import { makePair } from '../helpers/clips.js';
import { CLI, runCli } from '../helpers/spawn.js';
import { statusUntil, until } from '../helpers/wait.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
const BIN = join(ROOT, PKG.bin['lipsync-mcp'] as string);

async function connect(entry: string, env: Record<string, string>) {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [entry],
    env,
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (d) => {
    stderr += d;
  });
  const client = new Client({ name: 'bundle-test', version: '1' });
  await client.connect(transport);
  return { client, stderr: () => stderr };
}

/** What a client learns before its first call. */
async function firstAnswers(client: Client) {
  return {
    server: client.getServerVersion(),
    capabilities: client.getServerCapabilities(),
    instructions: client.getInstructions(),
    tools: (await client.listTools()).tools,
    prompts: (await client.listPrompts()).prompts,
    resources: (await client.listResources()).resources,
    templates: (await client.listResourceTemplates()).resourceTemplates,
  };
}

test('the bin is the bundle, built next to its worker', () => {
  assert.match(PKG.bin['lipsync-mcp'] ?? '', /^dist\/bin\//);
  assert.ok(existsSync(BIN), `${BIN} is built (npm run build)`);
  assert.ok(existsSync(join(ROOT, 'dist', 'bin', 'worker.js')), 'the local engine worker is bundled');
  assert.match(readFileSync(BIN, 'utf8'), /^#!\/usr\/bin\/env node\n/);
});

test('the bundle answers a client exactly as the compiled modules do', async () => {
  const env = testEnv({ LIPSYNC_LOG_LEVEL: 'info' });
  const a = await connect(BIN, env.env);
  const b = await connect(CLI, env.env);
  try {
    assert.deepEqual(await firstAnswers(a.client), await firstAnswers(b.client));
    // The start-up line is written (through pino, loaded from node_modules) once the handshake is done.
    await until(() => a.stderr().includes('lipsync-mcp ready on stdio'), 'the ready line from the bundle');
    const line = JSON.parse(
      a
        .stderr()
        .split('\n')
        .find((l) => l.includes('ready on stdio')) ?? '{}',
    );
    assert.equal(line.level, 30);
    assert.deepEqual(line.providers, ['local', 'jogg', 'nemovideo', 'director']);
    // The 1.x client opens with initialize: the line names the era a user can check.
    assert.equal(line.protocol, '2025 (initialize)');
  } finally {
    await a.client.close();
    await b.client.close();
    env.cleanup();
  }
});

test('over stdio, the bundle answers arguments that fail a schema in the documented error shape, as the modules do', async () => {
  const env = testEnv({ LIPSYNC_LOG_LEVEL: 'silent' });
  const a = await connect(BIN, env.env);
  const b = await connect(CLI, env.env);
  try {
    const calls: [string, Record<string, unknown>, string][] = [
      ['generate_image', { prompt: '' }, 'prompt must not be empty'],
      ['get_task_status', { task_id: 'x', wait_seconds: 51 }, 'wait_seconds must be at most 50'],
      ['create_lip_sync', { audio: 'a.wav', dry_run: 'yes' }, 'dry_run must be true or false'],
      ['list_tasks', { provider: 'heygen' }, 'provider must be one of local, jogg, nemovideo, director'],
    ];
    for (const [name, args, says] of calls) {
      const ours = (await a.client.callTool({ name, arguments: args })) as CallToolResult;
      assert.deepEqual(ours, await b.client.callTool({ name, arguments: args }), name);
      assert.equal(ours.isError, true, name);
      const { error } = JSON.parse((ours.content[0] as { text: string }).text) as {
        error: { code: string; message: string; hint?: string };
      };
      assert.equal(error.code, 'invalid_input', name);
      assert.ok(error.message.includes(says), `${name}: ${error.message}`);
      assert.ok(error.hint, name);
    }
  } finally {
    await a.client.close();
    await b.client.close();
    env.cleanup();
  }
});

test('a local lip-sync job runs through the bundle: worker process, ledger, download, then reuse', async () => {
  const env = testEnv({ LIPSYNC_LOG_LEVEL: 'warn', LIPSYNC_DEFAULT_PROVIDER: 'local' });
  const { client } = await connect(BIN, env.env);
  const call = (name: string, args: Record<string, unknown>) =>
    client.callTool({ name, arguments: args }) as Promise<CallToolResult>;
  try {
    const { video, audio } = await makePair(env.work, 9301);
    const created = await call('create_lip_sync', { video, audio, provider: 'local', align: 'off' });
    assert.equal(created.isError, undefined, JSON.stringify(created.content));
    const id = (created.structuredContent as { task_id: string }).task_id;
    const done = await statusUntil<{ status: string }>(
      { call },
      id,
      (s) => s.status !== 'processing' && s.status !== 'pending',
    );
    assert.equal(done.status, 'success', JSON.stringify(done));
    const saved = await call('download_result', { task_id: id });
    assert.equal(saved.isError, undefined, JSON.stringify(saved.content));
    const path = (saved.structuredContent as { path: string }).path;
    assert.ok(statSync(path).size > 0, `${path} is a video`);
    const again = await call('create_lip_sync', { video, audio, provider: 'local', align: 'off' });
    assert.equal((again.structuredContent as { task_id: string; reused: boolean }).task_id, id);
    assert.equal((again.structuredContent as { reused: boolean }).reused, true);
  } finally {
    await client.close();
    env.cleanup();
  }
});

test('doctor runs from the bundle and finds ffmpeg through the installer packages', async () => {
  const env = testEnv();
  try {
    const r = await runCli(['doctor', '--json'], env.env, undefined, BIN);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as { providers: { name: string }[] };
    assert.deepEqual(
      report.providers.map((p) => p.name),
      ['local', 'jogg', 'nemovideo', 'director'],
    );
  } finally {
    env.cleanup();
  }
});

test('a cloud job runs through the bundle (its HTTP client): Jogg is asked once, the task succeeds, credits read', async () => {
  const fake = await startFakeJogg();
  const env = testEnv({ JOGG_API_KEY: fake.apiKey, JOGG_BASE_URL: fake.url, LIPSYNC_LOG_LEVEL: 'warn' });
  const { client } = await connect(BIN, env.env);
  const call = (name: string, args: Record<string, unknown>) =>
    client.callTool({ name, arguments: args }) as Promise<CallToolResult>;
  try {
    const { video, audio } = await makePair(env.work, 9302);
    const created = await call('create_lip_sync', { video, audio, provider: 'jogg' });
    assert.equal(created.isError, undefined, JSON.stringify(created.content));
    const id = (created.structuredContent as { task_id: string }).task_id;
    const done = await statusUntil<{ status: string }>(
      { call },
      id,
      (s) => s.status === 'success' || s.status === 'failed',
    );
    assert.equal(done.status, 'success', JSON.stringify(done));
    assert.equal(fake.count('POST', '/v2/create_lip_sync_video'), 1);
    const credits = await call('check_credits', { provider: 'jogg' });
    assert.equal(credits.isError, undefined, JSON.stringify(credits.content));
    assert.doesNotMatch(JSON.stringify(credits.structuredContent), /could not/i);
    const cli = await runCli(['credits', '--provider', 'jogg'], env.env, undefined, BIN);
    assert.equal(cli.code, 0, cli.stderr);
  } finally {
    await client.close();
    await fake.close();
    env.cleanup();
  }
});
