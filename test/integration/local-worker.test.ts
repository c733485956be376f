/**
 * Local jobs run in a detached worker: they outlive the server (or CLI) that started them, and a
 * worker that dies is reported as stopped and run again, for free, on the next identical request.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Harness, harness, structured, type TestEnv, testEnv } from '../helpers/app.js';
import { makeAudio, makeSpeechLike, makeVideo, mediaTools } from '../helpers/media.js';

let env: TestEnv;
let media: { ffmpeg: { path: string; source: string }; ffprobe: { path: string; source: string } };
let video = '';
let audio = '';

before(async () => {
  env = testEnv({ LIPSYNC_LOG_LEVEL: 'warn' });
  const t = await mediaTools();
  media = { ffmpeg: { path: t.ffmpeg, source: 'bundled' }, ffprobe: { path: t.ffprobe, source: 'bundled' } };
  video = await makeVideo({ file: join(env.work, 'talk.mp4'), seconds: 2, width: 160, height: 120 });
  audio = await makeAudio({
    file: join(env.work, 'long.wav'),
    pcm: makeSpeechLike(11, 6),
    sampleRate: 16_000,
  });
});
after(() => env.cleanup());

interface View {
  task_id: string;
  status: string;
  action?: string;
  result_url?: string;
  error?: { message: string };
  next_step?: string;
  extra?: Record<string, unknown>;
}

const open = () => harness(env.env, { media });

/** Follows a task with bounded waits until it is final (a bounded number of looks, no fixed sleeps). */
async function follow(h: Harness, taskId: string): Promise<View> {
  let view: View = { task_id: taskId, status: 'pending' };
  for (let i = 0; i < 400 && view.status !== 'success' && view.status !== 'failed'; i++) {
    view = structured<View>(await h.call('get_task_status', { task_id: taskId, wait_seconds: 50 }));
  }
  return view;
}

const create = (h: Harness) =>
  h.call('create_lip_sync', {
    video,
    audio,
    provider: 'local',
    playback_type: 'normal_reverse',
    wait_seconds: 0,
  });

test('a local job outlives the server that started it and finishes under a new one', async () => {
  const first = await open();
  const created = structured<View>(await create(first));
  assert.equal(created.action, 'created_new_task');
  assert.notEqual(created.status, 'success', 'the job runs in the background');
  // The CLI exits here, without waiting for anything in the background.
  await first.client.close();
  await first.app.close(0);

  const second = await open();
  try {
    const done = await follow(second, created.task_id);
    assert.equal(done.status, 'success', JSON.stringify(done.error));
    assert.ok(existsSync(fileURLToPath(done.result_url ?? '')), 'the output video exists');
    assert.equal(done.extra?.playback_type, 'normal_reverse');

    // download_result: a hard link to the local result (no second copy), mouth cues beside it.
    const dl = structured<{ path: string; mouth_cues_json?: string; mouth_cues_tsv?: string }>(
      await second.call('download_result', { task_id: created.task_id }),
    );
    assert.equal(
      statSync(dl.path).ino,
      statSync(fileURLToPath(done.result_url ?? '')).ino,
      'same file, linked',
    );
    assert.equal(dl.mouth_cues_json, dl.path.replace(/\.mp4$/, '.cues.json'));
    assert.equal(dl.mouth_cues_tsv, dl.path.replace(/\.mp4$/, '.cues.tsv'));
    assert.match(readFileSync(dl.mouth_cues_tsv ?? '', 'utf8'), /\tX\n?$/);
  } finally {
    await second.close();
  }
});

test('a worker that dies reads as stopped, speaks of no payment, and the same request runs again', async () => {
  const h = await open();
  try {
    const created = structured<View>(
      await h.call('create_lip_sync', {
        video,
        audio,
        provider: 'local',
        playback_type: 'normal',
        wait_seconds: 0,
      }),
    );
    const pid = (await h.app.ledger.get(created.task_id))?.operation?.worker_pid;
    assert.equal(typeof pid, 'number', 'the operation records the worker pid');
    // The worker leads its own process group (detached): stop it and its ffmpeg at once.
    process.kill(-Number(pid), 'SIGKILL');
    const stopped = await follow(h, created.task_id);
    assert.equal(stopped.status, 'failed');
    assert.match(stopped.error?.message ?? '', /stopped before it finished.*for free/);
    assert.doesNotMatch(JSON.stringify(stopped), /\bpay|charg|credit/i);

    const again = structured<View>(
      await h.call('create_lip_sync', {
        video,
        audio,
        provider: 'local',
        playback_type: 'normal',
        wait_seconds: 0,
      }),
    );
    assert.equal(again.action, 'created_new_task');
    assert.notEqual(again.task_id, created.task_id);
    assert.equal((await follow(h, again.task_id)).status, 'success');
  } finally {
    await h.close();
  }
});

test('warnings are true: a playback type that already extends the video is not advised again', async () => {
  const h = await open();
  try {
    const passed = structured<View & { warnings: string[] }>(await create(h));
    assert.doesNotMatch(passed.warnings.join('\n'), /use playback_type|longer than the video/);
    const plain = structured<View & { warnings: string[] }>(
      await h.call('create_lip_sync', {
        video,
        audio,
        provider: 'local',
        playback_type: 'normal',
        wait_seconds: 0,
      }),
    );
    assert.match(plain.warnings.join('\n'), /longer than the video.*use playback_type normal_reverse/);
    await Promise.all([follow(h, passed.task_id), follow(h, plain.task_id)]);
  } finally {
    await h.close();
  }
});
