import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { startFakeJogg } from '../fakes/jogg/index.js';
import { harness, structured, testEnv, writeBytes } from '../helpers/app.js';

const CANARY = 'CANARY-jogg-key-7f3e9a1b2c4d';

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...filesUnder(p));
    else out.push(p);
  }
  return out;
}

test('a canary API key never appears in tool results, errors, logs or the ledger file', async () => {
  const fake = await startFakeJogg({ apiKey: CANARY });
  const env = testEnv({ JOGG_API_KEY: CANARY, JOGG_BASE_URL: fake.url });
  const h = await harness(env.env);
  const seen: string[] = [];
  try {
    const video = writeBytes(join(env.work, 'v.mp4'), 'video-canary');
    const audio = writeBytes(join(env.work, 'a.wav'), 'audio-canary');
    const created = await h.call('create_lip_sync', { video, audio, wait_seconds: 50 });
    seen.push(JSON.stringify(created));
    const id = structured<{ task_id: string }>(created).task_id;
    seen.push(JSON.stringify(await h.call('get_task_status', { task_id: id, wait_seconds: 50 })));
    seen.push(JSON.stringify(await h.call('list_tasks', {})));
    seen.push(JSON.stringify(await h.call('check_credits', {})));
    // Errors too: a provider error whose message echoes the key back.
    fake.faults.allCode = 10105;
    seen.push(JSON.stringify(await h.call('check_credits', {})));
    seen.push(
      JSON.stringify(
        await h.call('create_lip_sync', { video: writeBytes(join(env.work, 'v2.mp4'), 'x'), audio }),
      ),
    );
    fake.faults.allCode = undefined;
    assert.ok(
      fake.calls.some((c) => c.apiKey === CANARY),
      'the key was used against the provider',
    );
  } finally {
    await h.close();
    await fake.close();
  }
  for (const s of seen) assert.ok(!s.includes(CANARY), `leak in a tool result: ${s.slice(0, 200)}`);
  assert.ok(h.logs.length > 0, 'logs were written');
  for (const line of h.logs) assert.ok(!line.includes(CANARY), `leak in a log line: ${line}`);
  for (const f of filesUnder(join(env.root, 'lipsync'))) {
    assert.ok(!readFileSync(f).includes(CANARY), `leak in ${f}`);
  }
  env.cleanup();
});
