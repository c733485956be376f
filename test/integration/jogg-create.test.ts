import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type FakeJogg, startFakeJogg } from '../fakes/jogg/index.js';
import { errorOf, harness, structured, testEnv, writeBytes } from '../helpers/app.js';
import { statusUntil } from '../helpers/wait.js';

type Created = {
  action: string;
  reused: boolean;
  task_id: string;
  status: string;
  provider_task_id?: string;
  result_url?: string;
  error?: { message: string };
};

describe('Jogg lip sync through MCP', () => {
  let fake: FakeJogg;
  before(async () => {
    fake = await startFakeJogg();
  });
  after(async () => {
    await fake.close();
  });

  const joggEnv = (extra: Record<string, string> = {}) =>
    testEnv({ JOGG_API_KEY: fake.apiKey, JOGG_BASE_URL: fake.url, ...extra });

  test('same inputs twice (second time from another path): one upload per file, one create, reused', async () => {
    const env = joggEnv();
    const h = await harness(env.env);
    try {
      const video = writeBytes(join(env.work, 'talk.mp4'), 'video-A');
      const audio = writeBytes(join(env.work, 'dub_es.wav'), 'audio-A');
      const before = { creates: fake.count('POST', '/v2/create_lip_sync_video'), uploads: fake.puts.length };
      const first = structured<Created>(await h.call('create_lip_sync', { video, audio }));
      assert.equal(first.action, 'created_new_task');
      assert.equal(first.reused, false);
      assert.ok(first.provider_task_id, 'provider task id is known after the create');

      mkdirSync(join(env.work, 'copy'));
      const video2 = join(env.work, 'copy', 'renamed.mp4');
      const audio2 = join(env.work, 'copy', 'voice.wav');
      copyFileSync(video, video2);
      copyFileSync(audio, audio2);
      const second = structured<Created>(await h.call('create_lip_sync', { video: video2, audio: audio2 }));
      assert.equal(second.reused, true);
      assert.equal(second.action, 'reused_existing_task');
      assert.equal(second.task_id, first.task_id);
      assert.equal(fake.count('POST', '/v2/create_lip_sync_video') - before.creates, 1, 'exactly one create');
      assert.equal(fake.puts.length - before.uploads, 2, 'exactly one upload per file');
      assert.ok(
        fake.puts.every((p) => !p.apiKeySeen),
        'the API key never goes to the signed URL',
      );
      // The uploaded bytes are the file's bytes (streamed, not mangled).
      const sha = (await import('node:crypto'))
        .createHash('sha256')
        .update(readFileSync(video))
        .digest('hex');
      assert.ok(fake.puts.some((p) => p.sha256 === sha));

      // Follow it to success and download it.
      const status = await statusUntil<Created>(h, first.task_id, (s) => s.status === 'success');
      assert.equal(status.status, 'success');
      assert.match(status.result_url ?? '', /^http:\/\/127\.0\.0\.1:\d+\/result\//);
      const dl = structured<{ path: string; size: number; already_present: boolean }>(
        await h.call('download_result', { task_id: first.task_id }),
      );
      assert.ok(dl.path.startsWith(env.outputs), 'saved inside the output directory');
      assert.ok(dl.size > 0);
      const again = structured<{ path: string; already_present: boolean }>(
        await h.call('download_result', { task_id: first.task_id }),
      );
      assert.equal(again.path, dl.path);
      assert.equal(again.already_present, true);
    } finally {
      await h.close();
      env.cleanup();
    }
  });

  test('eight concurrent identical create_lip_sync calls reach the provider once', async () => {
    const env = joggEnv();
    const h = await harness(env.env);
    try {
      const video = writeBytes(join(env.work, 'v8.mp4'), 'video-8');
      const audio = writeBytes(join(env.work, 'a8.wav'), 'audio-8');
      const before = {
        creates: fake.count('POST', '/v2/create_lip_sync_video'),
        uploads: fake.count('POST', '/v2/upload/asset'),
      };
      const results = await Promise.all(
        Array.from({ length: 8 }, () => h.call('create_lip_sync', { video, audio })),
      );
      const ids = new Set(results.map((r) => structured<Created>(r).task_id));
      assert.equal(ids.size, 1, 'one task id for all');
      assert.equal(
        results.filter((r) => !structured<Created>(r).reused).length,
        1,
        'exactly one created, seven reused',
      );
      assert.equal(fake.count('POST', '/v2/create_lip_sync_video') - before.creates, 1);
      assert.equal(fake.count('POST', '/v2/upload/asset') - before.uploads, 2);
    } finally {
      await h.close();
      env.cleanup();
    }
  });

  test('create accepted but the answer lost: no second create; reconciled via the latest-matching query', async () => {
    const env = joggEnv();
    const h = await harness(env.env, { httpAttempts: 3 });
    try {
      const video = writeBytes(join(env.work, 'lost.mp4'), 'video-lost');
      const audio = writeBytes(join(env.work, 'lost.wav'), 'audio-lost');
      const creates0 = fake.count('POST', '/v2/create_lip_sync_video');
      fake.faults.loseCreateAnswer = 1;
      const first = structured<Created>(await h.call('create_lip_sync', { video, audio }));
      // Reconciled at once (the fake has the task) or reported unknown; never created twice.
      assert.ok(['pending', 'processing', 'unknown'].includes(first.status), first.status);
      const retry = structured<Created>(await h.call('create_lip_sync', { video, audio }));
      assert.equal(retry.task_id, first.task_id);
      assert.equal(retry.reused, true);
      const st = structured<Created>(await h.call('get_task_status', { task_id: first.task_id }));
      assert.ok(st.provider_task_id, 'the lost task was found by the latest-matching query');
      assert.ok(fake.tasks.has(st.provider_task_id!));
      assert.equal(fake.count('POST', '/v2/create_lip_sync_video') - creates0, 1, 'exactly one create');
    } finally {
      await h.close();
      env.cleanup();
    }
  });

  test('a lost answer that cannot be reconciled is reported unknown with a next step; a restart never creates again', async () => {
    const env = joggEnv();
    const video = writeBytes(join(env.work, 'u.mp4'), 'video-unknown');
    const audio = writeBytes(join(env.work, 'u.wav'), 'audio-unknown');
    const creates0 = fake.count('POST', '/v2/create_lip_sync_video');
    fake.faults.loseCreateAnswer = 1;
    fake.faults.lookupBlind = true;
    let h = await harness(env.env);
    let taskId = '';
    try {
      const first = structured<Created & { next_step: string }>(
        await h.call('create_lip_sync', { video, audio }),
      );
      taskId = first.task_id;
      assert.equal(first.status, 'unknown');
      assert.match(first.next_step, /force_recreate/);
      const retry = structured<Created>(await h.call('create_lip_sync', { video, audio }));
      assert.equal(retry.task_id, taskId);
      assert.equal(retry.status, 'unknown');
    } finally {
      await h.close();
    }
    // Restart: still no second create; once the lookup sees the task, it is reconciled.
    h = await harness(env.env);
    try {
      await h.app.jobs.recover();
      const again = structured<Created>(await h.call('create_lip_sync', { video, audio }));
      assert.equal(again.task_id, taskId);
      fake.faults.lookupBlind = false;
      const st = structured<Created>(await h.call('get_task_status', { task_id: taskId, wait_seconds: 20 }));
      assert.ok(st.provider_task_id, 'reconciled through the latest-matching query');
      assert.notEqual(st.status, 'unknown');
      assert.equal(
        fake.count('POST', '/v2/create_lip_sync_video') - creates0,
        1,
        'exactly one create overall',
      );
    } finally {
      fake.faults.lookupBlind = false;
      await h.close();
      env.cleanup();
    }
  });

  test('a failed task is returned, not recreated, unless force_recreate', async () => {
    const env = joggEnv();
    const h = await harness(env.env);
    try {
      fake.faults.failTasks = 'face not detected';
      const video = writeBytes(join(env.work, 'f.mp4'), 'video-fail');
      const audio = writeBytes(join(env.work, 'f.wav'), 'audio-fail');
      const c0 = fake.count('POST', '/v2/create_lip_sync_video');
      const first = structured<Created>(await h.call('create_lip_sync', { video, audio, wait_seconds: 50 }));
      const st =
        first.status === 'failed'
          ? first
          : await statusUntil<Created>(h, first.task_id, (s) => s.status === 'failed');
      assert.equal(st.status, 'failed');
      assert.match(st.error?.message ?? '', /face not detected/);
      const again = structured<Created>(await h.call('create_lip_sync', { video, audio }));
      assert.equal(again.task_id, first.task_id);
      assert.equal(again.status, 'failed');
      assert.equal(fake.count('POST', '/v2/create_lip_sync_video') - c0, 1);
      fake.faults.failTasks = undefined;
      const forced = structured<Created>(
        await h.call('create_lip_sync', { video, audio, force_recreate: true }),
      );
      assert.notEqual(forced.task_id, first.task_id);
      assert.equal(forced.reused, false);
      assert.equal(fake.count('POST', '/v2/create_lip_sync_video') - c0, 2);
    } finally {
      fake.faults.failTasks = undefined;
      await h.close();
      env.cleanup();
    }
  });

  test('missing key: names JOGG_API_KEY and the pricing link, with zero requests', async () => {
    const env = testEnv({ JOGG_BASE_URL: fake.url });
    const h = await harness(env.env);
    try {
      const calls0 = fake.calls.length;
      const video = writeBytes(join(env.work, 'k.mp4'), 'video-k');
      const audio = writeBytes(join(env.work, 'k.wav'), 'audio-k');
      const err = errorOf(await h.call('create_lip_sync', { video, audio, provider: 'jogg' }));
      assert.equal(err.code, 'missing_credentials');
      assert.match(`${err.message} ${err.hint}`, /JOGG_API_KEY/);
      assert.match(err.hint ?? '', /https:\/\/www\.jogg\.ai\/api-pricing\//);
      const credits = structured<{ providers: { provider: string; configured: boolean; fix?: string }[] }>(
        await h.call('check_credits', {}),
      );
      const jogg = credits.providers.find((p) => p.provider === 'jogg');
      assert.equal(jogg?.configured, false);
      assert.match(jogg?.fix ?? '', /api-pricing/);
      assert.equal(fake.calls.length, calls0, 'no request reached the fake');
    } finally {
      await h.close();
      env.cleanup();
    }
  });

  test('a key that looks like an unsubstituted template counts as missing and says so', async () => {
    const env = testEnv({ JOGG_BASE_URL: fake.url, JOGG_API_KEY: ['$', '{JOGG_API_KEY}'].join('') });
    const h = await harness(env.env);
    try {
      const video = writeBytes(join(env.work, 't.mp4'), 'video-t');
      const audio = writeBytes(join(env.work, 't.wav'), 'audio-t');
      const err = errorOf(await h.call('create_lip_sync', { video, audio, provider: 'jogg' }));
      assert.equal(err.code, 'missing_credentials');
      assert.match(err.hint ?? '', /template/);
    } finally {
      await h.close();
      env.cleanup();
    }
  });

  test('check_credits shows the remaining quota', async () => {
    const env = joggEnv();
    const h = await harness(env.env);
    try {
      const credits = structured<{
        providers: { provider: string; configured: boolean; balance?: { remaining_quota: number } }[];
      }>(await h.call('check_credits', { provider: 'jogg' }));
      assert.equal(credits.providers[0]?.configured, true);
      assert.equal(credits.providers[0]?.balance?.remaining_quota, fake.quota);
    } finally {
      await h.close();
      env.cleanup();
    }
  });

  test('envelope errors on HTTP 200 map to clear messages (insufficient credit -> nothing charged, can retry)', async () => {
    const env = joggEnv();
    const h = await harness(env.env);
    try {
      const video = writeBytes(join(env.work, 'c.mp4'), 'video-credit');
      const audio = writeBytes(join(env.work, 'c.wav'), 'audio-credit');
      fake.faults.createCode = 18020;
      const err = errorOf(await h.call('create_lip_sync', { video, audio }));
      assert.equal(err.code, 'insufficient_credits');
      assert.match(err.hint ?? '', /api-pricing/);
      fake.faults.createCode = undefined;
      const ok = structured<Created>(await h.call('create_lip_sync', { video, audio }));
      assert.equal(ok.reused, false, 'a refused create is not a task to reuse');
      assert.ok(ok.provider_task_id);
    } finally {
      fake.faults.createCode = undefined;
      await h.close();
      env.cleanup();
    }
  });
});

test('a provider that hangs on a status look cannot hold get_task_status past its budget', async () => {
  const fake = await startFakeJogg();
  const env = testEnv({ JOGG_API_KEY: fake.apiKey, JOGG_BASE_URL: fake.url });
  const h = await harness(env.env, { maxLookMs: 300 });
  try {
    const video = writeBytes(join(env.work, 'hang.mp4'), 'video-hang');
    const audio = writeBytes(join(env.work, 'hang.wav'), 'audio-hang');
    const created = structured<Created>(await h.call('create_lip_sync', { video, audio }));
    const task = fake.tasks.get(created.provider_task_id!)!;
    const queries0 = task.queries;
    fake.faults.delayMs = 5000;
    const st = structured<Created & { error?: unknown }>(
      await h.call('get_task_status', { task_id: created.task_id }),
    );
    // The event, not a wall-clock limit: the answer came while the fake still held the look (a held
    // look is counted only once the fake answers it).
    assert.equal(task.queries, queries0, 'answered before the provider did');
    assert.equal(st.status, created.status, 'the state is unchanged');
    assert.equal(st.error, undefined, 'a look cut short is not reported as a failure');
  } finally {
    fake.faults.delayMs = 0;
    await h.close();
    await fake.close();
    env.cleanup();
  }
});
