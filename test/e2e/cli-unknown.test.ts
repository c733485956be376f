/** CLI `run --poll` does not stop at `unknown` while a reconcile can still settle it (issue 12 item 2). */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type FakeJogg, startFakeJogg } from '../fakes/jogg/index.js';
import { harness, structured, testEnv, writeBytes } from '../helpers/app.js';
import { runCli } from '../helpers/spawn.js';

let fake: FakeJogg;
before(async () => {
  fake = await startFakeJogg();
});
after(async () => {
  await fake.close();
});

test('run --task-id --poll keeps following an unknown task until the reconcile finds it', async () => {
  const env = testEnv({ JOGG_API_KEY: fake.apiKey, JOGG_BASE_URL: fake.url });
  try {
    const video = writeBytes(join(env.work, 'v.mp4'), 'unk-v');
    const audio = writeBytes(join(env.work, 'a.wav'), 'unk-a');
    fake.faults.loseCreateAnswer = 1;
    fake.faults.lookupBlind = true;
    const h = await harness(env.env);
    let id = '';
    try {
      const c = structured<{ task_id: string; status: string }>(
        await h.call('create_lip_sync', { video, audio }),
      );
      id = c.task_id;
      let v = c;
      for (let i = 0; i < 20 && v.status !== 'unknown'; i++)
        v = structured(await h.call('get_task_status', { task_id: id }));
      assert.equal(v.status, 'unknown');
    } finally {
      await h.close();
    }
    const n0 = fake.calls.length;
    const cli = runCli(['run', '--task-id', id, '--poll', '--poll-interval-seconds', '1'], env.env);
    // The CLI's first look is still blind (the provider's index lags); the next one finds the task.
    // Waits on the look itself (an event at the fake), not on a real-time poll.
    await fake.seen(
      (c) => c.method === 'GET' && c.path.startsWith('/v2/lip_sync_video?') && fake.calls.indexOf(c) >= n0,
    );
    fake.faults.lookupBlind = false;
    const out = await cli;
    assert.equal(out.code, 0, out.stderr);
    const r = JSON.parse(out.stdout.trim());
    assert.equal(r.status, 'success', out.stdout);
    assert.ok(r.provider_task_id);
  } finally {
    fake.faults.lookupBlind = false;
    fake.faults.loseCreateAnswer = 0;
    env.cleanup();
  }
});
