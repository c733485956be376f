import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { startFakeJogg } from '../fakes/jogg/index.js';
import { testEnv } from '../helpers/app.js';
import { makePair } from '../helpers/clips.js';
import { CLI } from '../helpers/spawn.js';
import { until } from '../helpers/wait.js';

const CANARY = 'CANARY-stdio-key-55aa77bb99';

test('the spawned stdio server writes only JSON-RPC to stdout, never the key, and exits soon after stdin closes', async () => {
  const fake = await startFakeJogg({ apiKey: CANARY });
  const env = testEnv({ JOGG_API_KEY: CANARY, JOGG_BASE_URL: fake.url, LIPSYNC_LOG_LEVEL: 'debug' });
  let kill = () => {};
  try {
    const { video, audio } = await makePair(env.work, 201);
    const child = spawn(process.execPath, [CLI], { env: env.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    kill = () => child.kill('SIGKILL');
    const send = (m: object) => child.stdin.write(`${JSON.stringify(m)}\n`);
    // Waits for the answer itself (each stdout chunk is an event); a loaded machine only makes it later.
    const waitFor = async (id: number) => {
      const find = () => stdout.split('\n').find((l) => l.includes(`"id":${id}`));
      await until(() => find() !== undefined || child.exitCode !== null, `an answer to ${id}`);
      const hit = find();
      if (!hit) throw new Error(`no answer to ${id}; stderr: ${stderr}`);
      return JSON.parse(hit);
    };
    send({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
    });
    await waitFor(1);
    send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    send({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
    const list = await waitFor(2);
    const names = list.result.tools.map((t: { name: string }) => t.name);
    for (const n of [
      'create_lip_sync',
      'get_task_status',
      'download_result',
      'list_tasks',
      'check_credits',
      'upload_asset',
    ])
      assert.ok(names.includes(n), n);
    for (const t of list.result.tools) {
      assert.ok(t.outputSchema, `${t.name} has an output schema`);
      assert.equal(typeof t.annotations.readOnlyHint, 'boolean');
      assert.equal(typeof t.annotations.destructiveHint, 'boolean');
      assert.equal(typeof t.annotations.idempotentHint, 'boolean');
      assert.equal(typeof t.annotations.openWorldHint, 'boolean');
    }
    send({
      jsonrpc: '2.0',
      id: 3,
      method: 'tools/call',
      params: { name: 'create_lip_sync', arguments: { video, audio, provider: 'jogg' } },
    });
    const created = await waitFor(3);
    assert.equal(created.result.isError, undefined, JSON.stringify(created));
    send({
      jsonrpc: '2.0',
      id: 4,
      method: 'tools/call',
      params: { name: 'create_lip_sync', arguments: { video: '/etc/passwd', audio } },
    });
    await waitFor(4);

    // Closing stdin alone ends the process (no signal): the event, not a wall-clock limit.
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    child.stdin.end();
    const code = await exited;
    assert.equal(code, 0, 'exited by itself with code 0 after stdin closed');
    for (const line of stdout.split('\n').filter(Boolean)) {
      const msg = JSON.parse(line);
      assert.equal(msg.jsonrpc, '2.0', `non JSON-RPC line on stdout: ${line}`);
    }
    assert.ok(stderr.length > 0, 'logs go to stderr');
    assert.ok(!stdout.includes(CANARY) && !stderr.includes(CANARY), 'the key never appears');
  } finally {
    kill();
    await fake.close();
    env.cleanup();
  }
});
