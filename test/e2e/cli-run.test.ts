import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type FakeJogg, startFakeJogg } from '../fakes/jogg/index.js';
import { testEnv, writeBytes } from '../helpers/app.js';
import { makePair } from '../helpers/clips.js';
import { runCli } from '../helpers/spawn.js';

describe('lipsync-mcp run (the CLI contract)', () => {
  let fake: FakeJogg;
  before(async () => {
    fake = await startFakeJogg();
  });
  after(async () => {
    await fake.close();
  });

  test('create with --no-poll, the same files again from another path reuse the task, then --task-id --poll finishes', async () => {
    const env = testEnv({ JOGG_API_KEY: fake.apiKey, JOGG_BASE_URL: fake.url, LIPSYNC_LOG_LEVEL: 'info' });
    try {
      const { video, audio } = await makePair(env.work, 101, { video: 'talk.mp4', audio: 'dub_es.wav' });
      const c0 = fake.count('POST', '/v2/create_lip_sync_video');
      const u0 = fake.puts.length;
      const first = await runCli(['run', '--video', video, '--audio', audio, '--no-poll'], env.env);
      assert.equal(first.code, 0, first.stderr);
      const lines = first.stdout.trim().split('\n');
      assert.equal(lines.length, 1, 'exactly one JSON object on stdout');
      const a = JSON.parse(lines[0]!);
      assert.equal(a.action, 'created_new_task');
      assert.equal(a.reused, false);
      assert.ok(['pending', 'processing'].includes(a.status));
      assert.equal(a.completed, false);
      assert.ok(a.provider_task_id);
      assert.match(first.stderr, /uploading/, 'progress on stderr');

      mkdirSync(join(env.work, 'other'));
      copyFileSync(video, join(env.work, 'other', 'v.mp4'));
      copyFileSync(audio, join(env.work, 'other', 'a.wav'));
      const second = await runCli(
        [
          'run',
          '--video',
          join(env.work, 'other', 'v.mp4'),
          '--audio',
          join(env.work, 'other', 'a.wav'),
          '--no-poll',
        ],
        env.env,
      );
      assert.equal(second.code, 0, second.stderr);
      const b = JSON.parse(second.stdout);
      assert.equal(b.action, 'reused_existing_task');
      assert.equal(b.reused, true);
      assert.equal(b.task_id, a.task_id);
      assert.equal(fake.count('POST', '/v2/create_lip_sync_video') - c0, 1);
      assert.equal(fake.puts.length - u0, 2);

      const polled = await runCli(
        ['run', '--task-id', a.task_id, '--poll', '--poll-interval-seconds', '1'],
        env.env,
      );
      assert.equal(polled.code, 0, polled.stderr);
      const c = JSON.parse(polled.stdout);
      assert.equal(c.action, 'queried_task');
      assert.equal(c.status, 'success');
      assert.equal(c.completed, true);
      assert.match(c.result_url, /^http/);
      assert.equal(typeof c.duration_seconds, 'number');
    } finally {
      env.cleanup();
    }
  });

  test('four concurrent CLI processes with identical inputs make exactly one create', async () => {
    const env = testEnv({ JOGG_API_KEY: fake.apiKey, JOGG_BASE_URL: fake.url, LIPSYNC_LOG_LEVEL: 'warn' });
    try {
      const { video, audio } = await makePair(env.work, 102, { video: 'p.mp4', audio: 'p.wav' });
      const c0 = fake.count('POST', '/v2/create_lip_sync_video');
      fake.faults.delayMs = 30;
      const results = await Promise.all(
        Array.from({ length: 4 }, () =>
          runCli(['run', '--video', video, '--audio', audio, '--no-poll'], env.env),
        ),
      );
      fake.faults.delayMs = 0;
      for (const r of results) assert.equal(r.code, 0, r.stderr);
      const outs = results.map((r) => JSON.parse(r.stdout));
      assert.equal(new Set(outs.map((o) => o.task_id)).size, 1);
      assert.equal(outs.filter((o) => o.reused === false).length, 1);
      assert.equal(fake.count('POST', '/v2/create_lip_sync_video') - c0, 1, 'one create across processes');
    } finally {
      fake.faults.delayMs = 0;
      env.cleanup();
    }
  });

  test('errors are one JSON object on stderr with a non-zero exit: missing key names JOGG_API_KEY, no request', async () => {
    const env = testEnv({ JOGG_BASE_URL: fake.url, LIPSYNC_DEFAULT_PROVIDER: 'jogg' });
    try {
      const calls0 = fake.calls.length;
      const video = writeBytes(join(env.work, 'm.mp4'), 'mk-video');
      const audio = writeBytes(join(env.work, 'm.wav'), 'mk-audio');
      const r = await runCli(['run', '--video', video, '--audio', audio], env.env);
      assert.equal(r.code, 1);
      assert.equal(r.stdout, '');
      const err = JSON.parse(r.stderr.trim().split('\n').at(-1)!);
      assert.equal(err.missing_key, 'JOGG_API_KEY');
      assert.match(err.hint, /api-pricing/);
      assert.equal(fake.calls.length, calls0);
      const bad = await runCli(
        ['run', '--video', video, '--audio', audio, '--playback-type', 'zigzag'],
        env.env,
      );
      assert.equal(bad.code, 1);
      assert.match(JSON.parse(bad.stderr.trim().split('\n').at(-1)!).error, /playback type/);
    } finally {
      env.cleanup();
    }
  });
});
