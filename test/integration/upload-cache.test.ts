/**
 * The upload cache itself (issue 31 item 1): the same file in a job with other parameters is a new
 * task (nothing to reuse), so its inputs can only come from the cache: no second PUT at the fake, and
 * the new create names the asset URLs of the first upload. Across processes on one SQLite ledger and
 * across instances on one PostgreSQL.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type FakeJogg, startFakeJogg } from '../fakes/jogg/index.js';
import { harness, structured, testEnv, writeBytes } from '../helpers/app.js';
import { makePair } from '../helpers/clips.js';
import { pgSkip, pgTestDatabase } from '../helpers/pg.js';
import { runCli } from '../helpers/spawn.js';

const CREATE = '/v2/create_lip_sync_video';

interface CreateBody {
  video_url: string;
  audio_url: string;
  playback_type: string;
}

/** The bodies of the creates the fake accepted since `from`. */
function creates(fake: FakeJogg, from = 0): CreateBody[] {
  return fake.calls
    .filter((c) => c.method === 'POST' && c.path === CREATE)
    .slice(from)
    .map((c) => c.body as CreateBody);
}

describe('upload cache', () => {
  let fake: FakeJogg;
  before(async () => {
    fake = await startFakeJogg();
  });
  after(() => fake.close());

  test('SQLite: a second process with other parameters on the same files uploads nothing', async () => {
    const env = testEnv({ JOGG_API_KEY: fake.apiKey, JOGG_BASE_URL: fake.url, LIPSYNC_LOG_LEVEL: 'info' });
    try {
      const { video, audio } = await makePair(env.work, 311);
      const puts0 = fake.puts.length;
      const c0 = creates(fake).length;
      const run = (playback: string) =>
        runCli(
          ['run', '--video', video, '--audio', audio, '--playback-type', playback, '--no-poll'],
          env.env,
        );
      const first = await run('normal');
      assert.equal(first.code, 0, first.stderr);
      assert.equal(fake.puts.length - puts0, 2, 'the first process uploads video and audio');
      const second = await run('normal_reverse');
      assert.equal(second.code, 0, second.stderr);
      const a = JSON.parse(first.stdout);
      const b = JSON.parse(second.stdout);
      assert.equal(b.action, 'created_new_task', 'other parameters: a new task, nothing reused');
      assert.notEqual(b.task_id, a.task_id);
      assert.equal(fake.puts.length - puts0, 2, 'the second process took both inputs from the cache');
      const [x, y] = creates(fake, c0);
      assert.ok(x && y, 'two creates');
      assert.deepEqual([y.video_url, y.audio_url], [x.video_url, x.audio_url], 'the same asset URLs');
      assert.match(second.stderr, /already uploaded/);
    } finally {
      env.cleanup();
    }
  });

  test('PostgreSQL: a second instance with other parameters on the same files uploads nothing', {
    skip: pgSkip,
  }, async () => {
    const db = await pgTestDatabase('uploads');
    const env = testEnv({
      JOGG_API_KEY: fake.apiKey,
      JOGG_BASE_URL: fake.url,
      LIPSYNC_DATABASE_URL: db.url,
    });
    const one = await harness(env.env);
    const two = await harness(env.env);
    try {
      const video = writeBytes(`${env.work}/v.mp4`, 'cache-v');
      const audio = writeBytes(`${env.work}/a.wav`, 'cache-a');
      const puts0 = fake.puts.length;
      const c0 = creates(fake).length;
      const a = structured<{ task_id: string }>(
        await one.call('create_lip_sync', { video, audio, provider: 'jogg', playback_type: 'normal' }),
      );
      assert.equal(fake.puts.length - puts0, 2, 'the first instance uploads video and audio');
      const b = structured<{ task_id: string; action: string }>(
        await two.call('create_lip_sync', {
          video,
          audio,
          provider: 'jogg',
          playback_type: 'normal_reverse',
        }),
      );
      assert.equal(b.action, 'created_new_task', 'other parameters: a new task, nothing reused');
      assert.notEqual(b.task_id, a.task_id);
      assert.equal(fake.puts.length - puts0, 2, 'the second instance took both inputs from the cache');
      const [x, y] = creates(fake, c0);
      assert.ok(x && y, 'two creates');
      assert.deepEqual([y.video_url, y.audio_url], [x.video_url, x.audio_url], 'the same asset URLs');
    } finally {
      await one.close();
      await two.close();
      await db.drop();
      env.cleanup();
    }
  });
});
