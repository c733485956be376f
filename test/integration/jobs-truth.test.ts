/**
 * Every job answer true (issues 11, 12, 13): force really regenerates, foreign ids are followed, a dead
 * owner's claim is taken over at once, stalled waits answer at once, repeats skip preflight, a
 * zero wait serves from the ledger, and calls without a wait of their own still have a budget.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fingerprint } from '../../src/jobs/fingerprint.js';
import { type FakeJogg, startFakeJogg } from '../fakes/jogg/index.js';
import { harness, structured, testEnv, writeBytes } from '../helpers/app.js';
import { makePair } from '../helpers/clips.js';
import { ManualClock } from '../helpers/clock.js';

type View = {
  action?: string;
  reused?: boolean;
  task_id: string;
  status: string;
  stage?: string;
  provider_task_id?: string;
  result_url?: string;
};

const CREATE = '/v2/create_lip_sync_video';

/** A pid that certainly belonged to a process on this machine and is now gone. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(r.stdout.toString());
}

describe('job answers are true', () => {
  let fake: FakeJogg;
  before(async () => {
    fake = await startFakeJogg();
  });
  after(async () => {
    await fake.close();
  });
  const joggEnv = () => testEnv({ JOGG_API_KEY: fake.apiKey, JOGG_BASE_URL: fake.url });

  async function settle(h: Awaited<ReturnType<typeof harness>>, id: string, until: (v: View) => boolean) {
    let v = structured<View>(await h.call('get_task_status', { task_id: id, wait_seconds: 50 }));
    for (let i = 0; i < 20 && !until(v); i++)
      v = structured<View>(await h.call('get_task_status', { task_id: id, wait_seconds: 50 }));
    return v;
  }

  test('force_recreate after a success makes one new paid create; the old task stays as history', async () => {
    const env = joggEnv();
    const h = await harness(env.env);
    try {
      const video = writeBytes(join(env.work, 'v.mp4'), 'force-v');
      const audio = writeBytes(join(env.work, 'a.wav'), 'force-a');
      const c0 = fake.count('POST', CREATE);
      const first = structured<View>(await h.call('create_lip_sync', { video, audio }));
      const done = await settle(h, first.task_id, (v) => v.status === 'success');
      assert.equal(done.status, 'success');
      assert.equal(fake.count('POST', CREATE) - c0, 1);

      const forced = structured<View>(
        await h.call('create_lip_sync', { video, audio, force_recreate: true }),
      );
      const f = await settle(h, forced.task_id, (v) => !!v.provider_task_id);
      assert.equal(forced.action, 'created_new_task');
      assert.equal(forced.reused, false);
      assert.notEqual(forced.task_id, first.task_id);
      assert.equal(fake.count('POST', CREATE) - c0, 2, 'exactly one new paid create');
      assert.notEqual(f.provider_task_id, done.provider_task_id, 'a new provider task, not the replaced one');

      // The new task supersedes the old one for reuse; the old one is still listed.
      const again = structured<View>(await h.call('create_lip_sync', { video, audio }));
      assert.equal(again.task_id, forced.task_id);
      const listed = structured<{ tasks: View[] }>(await h.call('list_tasks', {}));
      assert.ok(listed.tasks.some((t) => t.task_id === first.task_id));
      assert.equal(fake.count('POST', CREATE) - c0, 2);
    } finally {
      await h.close();
      env.cleanup();
    }
  });

  test('a task created elsewhere is looked up by its provider id, recorded, and followed', async () => {
    const env = joggEnv();
    const h = await harness(env.env);
    try {
      // Create directly at the fake, as the vendor's own runner would.
      const res = await fetch(`${fake.url}${CREATE}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': fake.apiKey },
        body: JSON.stringify({
          video_url: 'https://x.test/v.mp4',
          audio_url: 'https://x.test/a.wav',
          playback_type: 'normal',
        }),
      });
      const foreign = ((await res.json()) as { data: { task_id: string } }).data.task_id;
      const v = structured<View>(
        await h.call('get_task_status', { provider: 'jogg', provider_task_id: foreign }),
      );
      assert.equal(v.provider_task_id, foreign);
      assert.match(v.task_id, /^ls_/);
      const done = await settle(h, v.task_id, (x) => x.status === 'success');
      assert.equal(done.status, 'success');
      // Asking by provider id again finds the same ledger task.
      const again = structured<View>(
        await h.call('get_task_status', { provider: 'jogg', provider_task_id: foreign }),
      );
      assert.equal(again.task_id, v.task_id);
      // An id the provider does not know is a clear not_found.
      const missing = await h.call('get_task_status', { provider: 'jogg', provider_task_id: 'jt_nope' });
      assert.equal(missing.isError, true);
      assert.match(JSON.stringify(missing.content), /not_found/);
    } finally {
      await h.close();
      env.cleanup();
    }
  });

  test("a dead owner's claim is taken over at once, not after its lease", async () => {
    const env = joggEnv();
    const h = await harness(env.env);
    try {
      const video = writeBytes(join(env.work, 'v.mp4'), 'dead-v');
      const audio = writeBytes(join(env.work, 'a.wav'), 'dead-a');
      const inputs = await h.app.jobs.resolveInputs({ video, audio });
      const fp = fingerprint('jogg', 'lip_sync', inputs, { playback_type: 'normal' });
      const now = h.clock.now();
      // A claim left by a process killed during its uploads, its lease still an hour long.
      const claimed = await h.app.ledger.claim(
        {
          id: 'ls_deadowner0000000000',
          fingerprint: fp,
          provider: 'jogg',
          kind: 'lip_sync',
          request: { inputs: {}, params: { playback_type: 'normal' }, force: false },
          warnings: [],
          ownerPid: deadPid(),
          ownerHost: hostname(),
          leaseUntil: now + 3_600_000,
          now,
        },
        { force: false, isOwnerAlive: () => true },
      );
      assert.equal(claimed.kind, 'created');
      const c0 = fake.count('POST', CREATE);
      const res = structured<View>(await h.call('create_lip_sync', { video, audio }));
      assert.equal(res.task_id, 'ls_deadowner0000000000', 'the same task, not a second one');
      const v = await settle(h, res.task_id, (x) => !!x.provider_task_id);
      assert.ok(v.provider_task_id, 'submitted by the taker');
      assert.equal(fake.count('POST', CREATE) - c0, 1);
    } finally {
      await h.close();
      env.cleanup();
    }
  });

  test('an identical request that reuses a task skips preflight', async () => {
    const env = joggEnv();
    let preflights = 0;
    const h = await harness(env.env, {
      preflight: async () => {
        preflights += 1;
        return { warnings: [] };
      },
    });
    try {
      const video = writeBytes(join(env.work, 'v.mp4'), 'pf-v');
      const audio = writeBytes(join(env.work, 'a.wav'), 'pf-a');
      const first = structured<View>(await h.call('create_lip_sync', { video, audio }));
      const second = structured<View>(await h.call('create_lip_sync', { video, audio }));
      assert.equal(second.task_id, first.task_id);
      assert.equal(preflights, 1, 'preflight ran for the paid create only');
    } finally {
      await h.close();
      env.cleanup();
    }
  });

  test('get_task_status with wait_seconds 0 serves from the ledger until the poll interval has passed', async () => {
    const env = joggEnv();
    // Time moves only when this test moves it: the 10 s interval cannot pass by itself.
    const clock = new ManualClock();
    const h = await harness(env.env, { clock });
    try {
      const video = writeBytes(join(env.work, 'v.mp4'), 'w0-v');
      const audio = writeBytes(join(env.work, 'a.wav'), 'w0-a');
      const first = structured<View>(await h.call('create_lip_sync', { video, audio }));
      assert.ok(first.provider_task_id);
      const q = () =>
        fake.calls.filter((c) => c.method === 'GET' && c.path.startsWith(`/v2/lip_sync_video/`)).length;
      const q0 = q();
      for (let i = 0; i < 3; i++) {
        clock.advance(2_000); // 2 s apart: within Jogg's 10 s interval (next_poll_seconds: 10)
        await h.call('get_task_status', { task_id: first.task_id });
      }
      assert.ok(q() - q0 <= 1, `at most one provider look in one interval (saw ${q() - q0})`);
    } finally {
      await h.close();
      env.cleanup();
    }
  });

  test('check_credits answers within its budget when the balance request hangs', async () => {
    const env = joggEnv();
    const h = await harness(env.env, { callBudgetMs: 300 });
    try {
      fake.faults.delayMs = 20_000;
      const r = structured<{ providers: { provider: string; summary: string; fix?: string }[] }>(
        await h.call('check_credits', { provider: 'jogg' }),
      );
      const jogg = r.providers.find((p) => p.provider === 'jogg');
      assert.match(jogg?.summary ?? '', /did not answer the balance request in time/);
      assert.ok(jogg?.fix);
    } finally {
      fake.faults.delayMs = 0;
      await h.close();
      env.cleanup();
    }
  });

  test('upload_asset and download_result answer within their budget; the transfer goes on and a later call gets it', async () => {
    const env = joggEnv();
    const h = await harness(env.env, { callBudgetMs: 150 });
    try {
      const { video } = await makePair(env.work, 77, { video: 'big.mp4', audio: 'unused.wav' });
      fake.faults.delayMs = 800; // every request to the provider and its storage is slow
      const first = structured<{ status: string; url?: string; next_step?: string }>(
        await h.call('upload_asset', { file: video, role: 'video' }),
      );
      assert.equal(first.status, 'uploading');
      assert.match(first.next_step ?? '', /again/);
      let again = first;
      for (let i = 0; i < 100 && again.status !== 'uploaded'; i++)
        again = structured(await h.call('upload_asset', { file: video, role: 'video' }));
      assert.equal(again.status, 'uploaded');
      assert.ok(again.url);
      const sha = createHash('sha256').update(readFileSync(video)).digest('hex');
      assert.equal(fake.puts.filter((p) => p.sha256 === sha).length, 1, 'uploaded once');

      fake.faults.delayMs = 0;
      const audio = writeBytes(join(env.work, 'a.wav'), 'budget-a');
      const c = structured<View>(await h.call('create_lip_sync', { video, audio, wait_seconds: 50 }));
      let v = c;
      for (let i = 0; i < 20 && v.status !== 'success'; i++)
        v = structured(await h.call('get_task_status', { task_id: c.task_id, wait_seconds: 50 }));
      assert.equal(v.status, 'success');
      fake.faults.delayMs = 800;
      const d1 = structured<{ status: string; path?: string }>(
        await h.call('download_result', { task_id: c.task_id }),
      );
      assert.equal(d1.status, 'downloading');
      let d = d1;
      for (let i = 0; i < 100 && d.status !== 'saved'; i++)
        d = structured(await h.call('download_result', { task_id: c.task_id }));
      assert.equal(d.status, 'saved');
      assert.ok(d.path);
    } finally {
      fake.faults.delayMs = 0;
      await h.close();
      env.cleanup();
    }
  });

  test('upload_asset refuses a text document before any request', async () => {
    const env = joggEnv();
    const h = await harness(env.env);
    try {
      const doc = join(env.work, 'notes.mp4');
      (await import('node:fs')).writeFileSync(doc, 'Dear diary, my passwords are...\n'.repeat(200));
      const n0 = fake.calls.length;
      const r = await h.call('upload_asset', { file: doc, role: 'video' });
      assert.equal(r.isError, true);
      assert.match(JSON.stringify(r.content), /invalid_input/);
      assert.equal(fake.calls.length, n0, 'no request reached the provider');
    } finally {
      await h.close();
      env.cleanup();
    }
  });
});
