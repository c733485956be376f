/**
 * Part (c): a canary in every credential variable. Calls every tool down the normal paths and the
 * failing ones (auth refused, provider down); no canary may appear in any result, log line or file
 * under LIPSYNC_HOME other than the token caches.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { startFakeJogg } from '../fakes/jogg/index.js';
import { harness } from '../helpers/app.js';
import { makePair } from '../helpers/clips.js';
import { CANARIES, checkResult, filesWithSecrets, hostileEnv, listFiles } from './shared.js';

test('canary secrets never appear in results, logs or files (token caches excepted)', async () => {
  const fake = await startFakeJogg({ apiKey: CANARIES.JOGG_API_KEY });
  const env = hostileEnv(fake);
  const h = await harness(env.env);
  const results: CallToolResult[] = [];
  const call = async (name: string, args: Record<string, unknown>) => {
    const r = await h.call(name, args);
    checkResult(r, name);
    results.push(r);
    return r;
  };
  try {
    const { video, audio } = await makePair(env.work, 777);
    const { tools } = await h.client.listTools();
    await call('check_credits', {});
    await call('upload_asset', { file: video, provider: 'jogg' });
    const created = await call('create_lip_sync', { video, audio, provider: 'jogg' });
    const taskId = (created.structuredContent as { task_id: string }).task_id;
    for (let i = 0; i < 3; i++) await call('get_task_status', { task_id: taskId, wait_seconds: 20 });
    await call('download_result', { task_id: taskId });
    await call('list_tasks', {});
    const names = new Set(tools.map((t) => t.name));
    if (names.has('generate_video')) await call('generate_video', { prompt: 'a cat reading the news' });
    if (names.has('edit_video'))
      await call('edit_video', { session_id: 'sess-1', instruction: 'make it blue' });
    if (names.has('export_render')) await call('export_render', { session_id: 'sess-1' });
    // Refusals: the provider rejects the key, then answers HTML, then a new create is refused.
    fake.faults.allCode = 10105;
    await call('check_credits', { provider: 'jogg' });
    await call('get_task_status', { provider: 'jogg', provider_task_id: 'jt_missing' });
    fake.faults.allCode = undefined;
    fake.faults.htmlOk = true;
    const pair2 = await makePair(env.work, 778, { video: 'v2.mp4', audio: 'a2.wav' });
    await call('create_lip_sync', { ...pair2, provider: 'jogg' });
    await call('check_credits', {});
    fake.faults.htmlOk = false;

    const text = JSON.stringify(results);
    const logs = h.logs.join('');
    for (const [k, v] of Object.entries(CANARIES)) {
      assert.ok(!text.includes(v), `${k} in a tool result`);
      assert.ok(!logs.includes(v), `${k} in a log line`);
    }
    const home = env.env.LIPSYNC_HOME as string;
    const files = listFiles(home);
    assert.deepEqual(filesWithSecrets(home), [], 'secret in a file');
    // The fake saw the real key: the canary was really in use, not silently dropped.
    assert.ok(fake.calls.some((c) => c.apiKey === CANARIES.JOGG_API_KEY));
    console.log(
      `hostile secrets: ${Object.keys(CANARIES).length} canaries x (${results.length} tool results, ${h.logs.length} log lines, ${files.length} files)`,
    );
  } finally {
    await h.close();
    await fake.close();
    env.cleanup();
  }
});
