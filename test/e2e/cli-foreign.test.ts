/**
 * `lipsync-mcp run --task-id` with a provider's own task id (issue 27 item 3): the CLI follows it the way
 * get_task_status {provider, provider_task_id} does. With --provider it asks that provider; without, our
 * own ids come first, then every configured provider that can look ids up, and stderr says which answered.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type FakeJogg, startFakeJogg } from '../fakes/jogg/index.js';
import { testEnv } from '../helpers/app.js';
import { makePair } from '../helpers/clips.js';
import { runCli } from '../helpers/spawn.js';

/** Creates a task directly at the fake, as Jogg's own runner or dashboard would. */
async function foreignTask(fake: FakeJogg, seed: number): Promise<string> {
  const res = await fetch(`${fake.url}/v2/create_lip_sync_video`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': fake.apiKey },
    body: JSON.stringify({
      video_url: `https://x.test/v${seed}.mp4`,
      audio_url: `https://x.test/a${seed}.wav`,
      playback_type: 'normal',
    }),
  });
  return ((await res.json()) as { data: { task_id: string } }).data.task_id;
}

function one(stdout: string): Record<string, unknown> {
  const lines = stdout.trim().split('\n');
  assert.equal(lines.length, 1, `exactly one JSON object on stdout: ${stdout}`);
  return JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
}

describe('lipsync-mcp run --task-id with a provider task id', () => {
  let fake: FakeJogg;
  before(async () => {
    fake = await startFakeJogg();
  });
  after(async () => {
    await fake.close();
  });
  const joggEnv = () =>
    testEnv({ JOGG_API_KEY: fake.apiKey, JOGG_BASE_URL: fake.url, LIPSYNC_LOG_LEVEL: 'warn' });

  test('with --provider jogg: the Jogg task is looked up, recorded and followed to success', async () => {
    const env = joggEnv();
    try {
      const id = await foreignTask(fake, 1);
      const r = await runCli(
        ['run', '--task-id', id, '--provider', 'jogg', '--poll', '--poll-interval-seconds', '1'],
        env.env,
      );
      assert.equal(r.code, 0, r.stderr);
      const o = one(r.stdout);
      assert.equal(o.action, 'queried_task');
      assert.equal(o.reused, false);
      assert.equal(o.provider, 'jogg');
      assert.equal(o.provider_task_id, id);
      assert.match(String(o.task_id), /^ls_/);
      assert.equal(o.status, 'success');
      assert.equal(o.completed, true);
      // Asked again by either id, it is the same ledger task.
      const again = one((await runCli(['run', '--task-id', id], env.env)).stdout);
      assert.equal(again.task_id, o.task_id);
      const ours = one((await runCli(['run', '--task-id', String(o.task_id)], env.env)).stdout);
      assert.equal(ours.provider_task_id, id);
    } finally {
      env.cleanup();
    }
  });

  test('without --provider: the configured providers are asked and stderr says which one answered', async () => {
    const env = joggEnv();
    try {
      const id = await foreignTask(fake, 2);
      const r = await runCli(['run', '--task-id', id], env.env);
      assert.equal(r.code, 0, r.stderr);
      const o = one(r.stdout);
      assert.equal(o.action, 'queried_task');
      assert.equal(o.provider, 'jogg');
      assert.equal(o.provider_task_id, id);
      assert.match(r.stderr, new RegExp(`Jogg has task ${id}`));
    } finally {
      env.cleanup();
    }
  });

  test('our own task ids stay first: a local task is found by its task_id, no provider is asked', async () => {
    const env = joggEnv();
    try {
      const { video, audio } = await makePair(env.work, 301, { video: 'v.mp4', audio: 'a.wav' });
      const created = one(
        (
          await runCli(
            // Polled to its end: no worker is left writing under the folder the test removes.
            [
              'run',
              '--video',
              video,
              '--audio',
              audio,
              '--provider',
              'local',
              '--poll-interval-seconds',
              '1',
            ],
            env.env,
          )
        ).stdout,
      );
      assert.equal(created.status, 'success', JSON.stringify(created));
      const gets = fake.count('GET', '/v2/lip_sync_video');
      const r = await runCli(['run', '--task-id', String(created.task_id), '--provider', 'jogg'], env.env);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(one(r.stdout).task_id, created.task_id);
      assert.equal(fake.count('GET', '/v2/lip_sync_video'), gets, 'no lookup at Jogg for our own id');
    } finally {
      env.cleanup();
    }
  });

  test('an id nobody knows: not_found that names the providers asked, and how to name one', async () => {
    const env = joggEnv();
    try {
      const r = await runCli(['run', '--task-id', 'jt_nobody_has_this'], env.env);
      assert.equal(r.code, 1);
      assert.equal(r.stdout, '');
      const err = JSON.parse(r.stderr.trim().split('\n').pop() ?? '{}') as { error: string; code: string };
      assert.equal(err.code, 'not_found');
      assert.match(err.error, /jt_nobody_has_this/);
      assert.match(err.error, /Jogg/);
      const named = await runCli(['run', '--task-id', 'jt_nobody_has_this', '--provider', 'jogg'], env.env);
      assert.equal(named.code, 1);
      assert.match(named.stderr, /Jogg has no task jt_nobody_has_this/);
    } finally {
      env.cleanup();
    }
  });
});
