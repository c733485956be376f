import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type FakeJogg, startFakeJogg } from '../fakes/jogg/index.js';
import { harness, testEnv } from '../helpers/app.js';
import { ManualClock } from '../helpers/clock.js';

async function seed(h: Awaited<ReturnType<typeof harness>>, fake: FakeJogg, n: number): Promise<string[]> {
  const now = h.clock.now();
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const id = `task_scale_${i}`;
    const ptid = `jogg_${i}`;
    fake.tasks.set(ptid, {
      task_id: ptid,
      video_url: 'https://example.com/v.mp4',
      audio_url: 'https://example.com/a.wav',
      playback_type: 'normal',
      status: 'processing',
      queries: 0,
      created_at: Math.floor(now / 1000),
    });
    await h.app.ledger.claim(
      {
        id,
        fingerprint: `fp${i}`,
        provider: 'jogg',
        kind: 'lip_sync',
        request: {},
        warnings: [],
        ownerPid: 1,
        ownerHost: 'seed',
        leaseUntil: now,
        now,
      },
      { force: false, isOwnerAlive: () => true },
    );
    await h.app.ledger.update(
      id,
      { status: 'processing', phase: null, providerTaskId: ptid, operation: { task_id: ptid } },
      now,
    );
    ids.push(id);
  }
  return ids;
}

test('a recovery pass and an agent polling every task at once ask the provider at most once per task per interval', async () => {
  const fake = await startFakeJogg();
  fake.faults.queriesToFinish = 1e9;
  const env = testEnv({ JOGG_API_KEY: fake.apiKey, JOGG_BASE_URL: fake.url });
  // Time moves only when the test moves it: the 10 s poll interval cannot pass during this test.
  const h = await harness(env.env, { preflight: false, clock: new ManualClock() });
  try {
    const ids = await seed(h, fake, 40);
    await h.app.jobs.recover();
    await Promise.all(ids.map((id) => h.app.jobs.status({ taskId: id }, 0)));
    await h.app.jobs.drain(30_000);
    const perTask = new Map<string, number>();
    for (const c of fake.calls) {
      if (c.method === 'GET' && c.path.startsWith('/v2/lip_sync_video/')) {
        perTask.set(c.path, (perTask.get(c.path) ?? 0) + 1);
      }
    }
    assert.equal(perTask.size, 40);
    assert.deepEqual([...new Set(perTask.values())], [1]);
  } finally {
    await h.close();
    await fake.close();
    env.cleanup();
  }
});
