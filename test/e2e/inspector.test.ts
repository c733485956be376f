import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { testEnv } from '../helpers/app.js';
import { makePair } from '../helpers/clips.js';
import { CLI } from '../helpers/spawn.js';
import { nodeSkip } from '../helpers/system-tools.js';

// The MCP Inspector's CLI drives the built server as a real client would. It needs Node >= 22.19, so it
// runs in CI's Node 24 leg (and is skipped, saying why, on the Node 20 leg).
const INSPECTOR = '@modelcontextprotocol/inspector@2.12.0';
const skip = nodeSkip(22, 19, 'the MCP Inspector');

function inspector(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const serverEnv = Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
    const child = spawn('npx', ['-y', INSPECTOR, '--cli', ...serverEnv, process.execPath, CLI, ...args], {
      env: { ...process.env, npm_config_update_notifier: 'false' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('MCP Inspector --cli: tools/list, then a full local create -> status flow, JSON out, exit codes', {
  skip,
  timeout: 300_000,
}, async () => {
  const env = testEnv({ LIPSYNC_LOG_LEVEL: 'warn', LIPSYNC_DEFAULT_PROVIDER: 'local' });
  try {
    const serverEnv = {
      HOME: env.env.HOME!,
      LIPSYNC_HOME: env.env.LIPSYNC_HOME!,
      LIPSYNC_ALLOWED_DIRS: env.env.LIPSYNC_ALLOWED_DIRS!,
      LIPSYNC_LOG_LEVEL: 'warn',
    };
    const list = await inspector(['--method', 'tools/list'], serverEnv);
    assert.equal(list.code, 0, list.stderr);
    const names = (JSON.parse(list.stdout) as { tools: { name: string }[] }).tools.map((t) => t.name);
    for (const n of ['create_lip_sync', 'get_task_status', 'download_result', 'list_tasks', 'check_credits'])
      assert.ok(names.includes(n), n);

    const { video, audio } = await makePair(env.work, 301);
    const createArgs = [
      '--method',
      'tools/call',
      '--tool-name',
      'create_lip_sync',
      '--tool-arg',
      `video=${video}`,
      '--tool-arg',
      `audio=${audio}`,
      '--tool-arg',
      'provider=local',
    ];
    const created = await inspector(createArgs, serverEnv);
    assert.equal(created.code, 0, created.stderr);
    const c = JSON.parse(created.stdout).structuredContent as { task_id: string; reused: boolean };
    assert.equal(c.reused, false);
    let status = '';
    for (let i = 0; i < 5 && status !== 'success'; i++) {
      const st = await inspector(
        [
          '--method',
          'tools/call',
          '--tool-name',
          'get_task_status',
          '--tool-arg',
          `task_id=${c.task_id}`,
          '--tool-arg',
          'wait_seconds=20',
        ],
        serverEnv,
      );
      assert.equal(st.code, 0, st.stderr);
      status = JSON.parse(st.stdout).structuredContent.status;
    }
    assert.equal(status, 'success');
    const again = await inspector(createArgs, serverEnv);
    assert.equal(
      JSON.parse(again.stdout).structuredContent.reused,
      true,
      'a new server process reuses the task from the ledger',
    );
    const bad = await inspector(['--method', 'tools/call', '--tool-name', 'no_such_tool'], serverEnv);
    assert.notEqual(bad.code, 0, 'an unknown tool is a failing exit code');
  } finally {
    env.cleanup();
  }
});
