import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type FakeJogg, startFakeJogg } from '../fakes/jogg/index.js';
import { testEnv } from '../helpers/app.js';
import { makePair } from '../helpers/clips.js';
import { runCli } from '../helpers/spawn.js';

describe('lipsync-mcp spend and caps across processes (the spawned CLI)', () => {
  let fake: FakeJogg;
  before(async () => {
    fake = await startFakeJogg();
  });
  after(async () => {
    await fake.close();
  });

  test('a second process is refused at the cap before any request; `spend` adds up what the fake charged', async () => {
    const env = testEnv({
      JOGG_API_KEY: fake.apiKey,
      JOGG_BASE_URL: fake.url,
      LIPSYNC_CAP_PAID_CREATES_PER_DAY: '1',
    });
    try {
      const q0 = fake.quota;
      const clip = async (i: number) => {
        const { video, audio } = await makePair(env.work, 300 + i, {
          video: `v${i}.mp4`,
          audio: `a${i}.wav`,
        });
        return ['--video', video, '--audio', audio];
      };
      const first = await runCli(['run', ...(await clip(1)), '--no-poll'], env.env);
      assert.equal(first.code, 0, first.stderr);
      const calls = fake.calls.length;
      const second = await runCli(['run', ...(await clip(2)), '--no-poll'], env.env);
      assert.equal(second.code, 1);
      const err = JSON.parse(second.stderr.trim().split('\n').at(-1)!);
      assert.equal(err.code, 'spend_cap');
      assert.match(err.error, /LIPSYNC_CAP_PAID_CREATES_PER_DAY/);
      assert.deepEqual(fake.calls.slice(calls), [], 'the refused process sent nothing');

      const spend = await runCli(['spend'], env.env);
      assert.equal(spend.code, 0, spend.stderr);
      const report = JSON.parse(spend.stdout) as {
        days: { provider: string; amount: number }[];
        tasks: { provider: string; amount?: number; source: string }[];
        today: { provider: string; amount: number; paid_jobs: number }[];
      };
      const total = report.days.filter((d) => d.provider === 'jogg').reduce((s, d) => s + d.amount, 0);
      assert.equal(total, q0 - fake.quota, "the report adds up the fake's charges");
      assert.deepEqual(
        report.tasks.map((t) => t.source),
        ['balance'],
      );
      assert.equal(report.today.find((t) => t.provider === 'jogg')?.paid_jobs, 1);
    } finally {
      env.cleanup();
    }
  });
});
