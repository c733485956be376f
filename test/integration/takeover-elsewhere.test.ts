/**
 * A claim left unsent by an instance on another machine (a shared ledger): its stored paths name that
 * machine's files. An identical create here takes it over with its own files, also when the owner's
 * lease runs out while the call waits; a look without files of its own leaves it and says what to do,
 * never failing the task for a file it cannot see. (The black-box case is in
 * test/independent/pg-crash.test.ts; it needs PostgreSQL and unshare.)
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { JobEvent } from '../../src/jobs/core.js';
import { fingerprint } from '../../src/jobs/fingerprint.js';
import { inputsToJson } from '../../src/jobs/requests.js';
import type { TaskRow } from '../../src/jobs/store.js';
import { HOST } from '../../src/util/pid.js';
import { type FakeJogg, startFakeJogg } from '../fakes/jogg/index.js';
import { type Harness, harness, structured, testEnv, writeBytes } from '../helpers/app.js';
import { ManualClock } from '../helpers/clock.js';

type View = {
  action?: string;
  task_id: string;
  status: string;
  stage?: string;
  provider_task_id?: string;
  message?: string;
  next_step?: string;
  error?: unknown;
};

const CREATE = '/v2/create_lip_sync_video';
const OTHER = 'machine-two';
const PARAMS = { playback_type: 'normal' };

/** A pid that certainly belonged to a process on this machine and is now gone. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(r.stdout.toString());
}

describe('a claim whose files are on another machine', () => {
  let fake: FakeJogg;
  before(async () => {
    fake = await startFakeJogg();
  });
  after(async () => {
    await fake.close();
  });

  /**
   * Files here, and a claim for the same content left by `owner`, its request naming `paths`
   * (resolved on `inputsHost`).
   */
  async function setup(opts: {
    owner: { pid: number; host: string; leaseMs: number };
    inputsHost: string;
    paths: (here: { video: string; audio: string }) => { video: string; audio: string };
    /** Time moves only when the test moves it (else the harness's driven clock). */
    manual?: boolean;
  }) {
    const env = testEnv({ JOGG_API_KEY: fake.apiKey, JOGG_BASE_URL: fake.url });
    const h = await harness(env.env, opts.manual ? { clock: new ManualClock() } : {});
    const files = {
      video: writeBytes(join(env.work, 'v.mp4'), `${env.root}-v`),
      audio: writeBytes(join(env.work, 'a.wav'), `${env.root}-a`),
    };
    const inputs = await h.app.jobs.resolveInputs(files);
    const stored = inputsToJson(inputs) as Record<string, { path: string }>;
    const there = opts.paths(files);
    stored.video!.path = there.video;
    stored.audio!.path = there.audio;
    const now = h.clock.now();
    const claimed = await h.app.ledger.claim(
      {
        id: `ls_elsewhere${String(Math.random()).slice(2, 11)}`,
        fingerprint: fingerprint('jogg', 'lip_sync', inputs, PARAMS),
        provider: 'jogg',
        kind: 'lip_sync',
        request: { inputs: stored, inputs_host: opts.inputsHost, params: PARAMS, force: false },
        warnings: [],
        ownerPid: opts.owner.pid,
        ownerHost: opts.owner.host,
        leaseUntil: now + opts.owner.leaseMs,
        // Older than this server: the start-up recovery pass looks at it.
        now: now - 1000,
      },
      { force: false, isOwnerAlive: () => true },
    );
    assert.equal(claimed.kind, 'created');
    const close = async () => {
      await h.close();
      env.cleanup();
    };
    return { env, h, files, id: claimed.row.id, close };
  }

  const creates = () => fake.count('POST', CREATE);
  const stranger = { video: '/srv/machine-two/media/v.mp4', audio: '/srv/machine-two/media/a.wav' };
  const rowOf = async (h: Harness, id: string) => (await h.app.ledger.get(id)) as TaskRow;

  async function submitted(h: Harness, id: string): Promise<View> {
    let v = structured<View>(await h.call('get_task_status', { task_id: id, wait_seconds: 50 }));
    for (let i = 0; i < 20 && !v.provider_task_id; i++)
      v = structured<View>(await h.call('get_task_status', { task_id: id, wait_seconds: 50 }));
    return v;
  }

  test("an identical create waiting on the claim takes it over with its own files when the owner's lease runs out", async () => {
    // The owner's lease holds until the test moves the clock past it.
    const s = await setup({
      owner: { pid: 4242, host: OTHER, leaseMs: 3_600_000 },
      inputsHost: OTHER,
      paths: () => stranger,
      manual: true,
    });
    try {
      const c0 = creates();
      const reused = new Promise<void>((resolve) => {
        const on = (e: JobEvent) => {
          if (e.task_id !== s.id || e.event !== 'reused') return;
          s.h.app.jobs.events.off('job', on);
          resolve();
        };
        s.h.app.jobs.events.on('job', on);
      });
      const call = s.h.call('create_lip_sync', { ...s.files, provider: 'jogg' });
      // The owner was alive at the claim: the call follows it...
      await reused;
      // ...until its lease runs out (the machine died): then this call's own files submit it.
      (s.h.clock as ManualClock).advance(2 * 3_600_000);
      const r = await call;
      assert.ok(!r.isError, JSON.stringify(r.content).slice(0, 500));
      const v = structured<View>(r);
      assert.equal(v.task_id, s.id, 'the same task, not a second one');
      // The create answers once its submission settled (the harness's submit budget).
      assert.ok(v.provider_task_id, JSON.stringify(v));
      assert.equal(creates() - c0, 1, 'one create');
      const row = await rowOf(s.h, s.id);
      assert.equal(row.rejected, false);
      assert.deepEqual(
        Object.values(row.request.inputs as Record<string, { path: string }>).map((x) => x.path),
        [s.files.video, s.files.audio],
        "the request now names this machine's files",
      );
      assert.equal(row.request.inputs_host, HOST);
    } finally {
      await s.close();
    }
  });

  test('a look without files of its own leaves the claim and says what to do; the identical create then finishes it', async () => {
    const s = await setup({
      owner: { pid: 4242, host: OTHER, leaseMs: -1 },
      inputsHost: OTHER,
      paths: () => stranger,
    });
    try {
      const c0 = creates();
      await s.h.app.jobs.recover();
      const r = await s.h.call('get_task_status', { task_id: s.id, wait_seconds: 2 });
      assert.ok(!r.isError, JSON.stringify(r.content).slice(0, 500));
      const v = structured<View>(r);
      assert.equal(v.status, 'pending');
      assert.equal(v.error, undefined);
      assert.match(v.message ?? '', /machine-two.*nothing was paid/);
      assert.match(v.next_step ?? '', /create_lip_sync again with the same inputs/);
      const text = JSON.stringify(r.content);
      assert.ok(!text.includes('/srv/machine-two') && !/LIPSYNC_ALLOWED_DIRS/.test(text), text);
      let row = await rowOf(s.h, s.id);
      assert.deepEqual(
        [row.status, row.rejected, row.ownerHost],
        ['submitting', false, OTHER],
        'left as it was',
      );
      assert.equal(creates(), c0);

      const again = structured<View>(await s.h.call('create_lip_sync', { ...s.files, provider: 'jogg' }));
      assert.equal(again.task_id, s.id);
      const done = await submitted(s.h, s.id);
      assert.ok(done.provider_task_id);
      assert.equal(done.message, undefined, 'the note is gone once the claim is taken over');
      assert.equal(creates() - c0, 1, 'one create');
      row = await rowOf(s.h, s.id);
      assert.equal(row.error, null);
    } finally {
      await s.close();
    }
  });

  test('a look whose machine holds the same bytes at the stored paths submits the claim from them', async () => {
    const s = await setup({
      owner: { pid: 4242, host: OTHER, leaseMs: -1 },
      inputsHost: OTHER,
      // Shared storage: the other machine's paths exist here too, with the same content.
      paths: (here) => {
        const dir = join(here.video, '..', 'shared');
        mkdirSync(dir, { recursive: true });
        copyFileSync(here.video, join(dir, 'v.mp4'));
        copyFileSync(here.audio, join(dir, 'a.wav'));
        return { video: join(dir, 'v.mp4'), audio: join(dir, 'a.wav') };
      },
    });
    try {
      const c0 = creates();
      const done = await submitted(s.h, s.id);
      assert.ok(done.provider_task_id, JSON.stringify(done));
      assert.equal(creates() - c0, 1);
    } finally {
      await s.close();
    }
  });

  test("this machine's own claim whose file is gone since: the task is refused, nothing paid, the file named", async () => {
    const s = await setup({
      owner: { pid: deadPid(), host: HOST, leaseMs: 3_600_000 },
      inputsHost: HOST,
      paths: (here) => ({ video: join(here.video, '..', 'gone.mp4'), audio: here.audio }),
    });
    try {
      const c0 = creates();
      await s.h.call('get_task_status', { task_id: s.id });
      const row = await rowOf(s.h, s.id);
      assert.equal(row.rejected, true);
      assert.equal(row.status, 'failed');
      assert.match(row.error?.message ?? '', /gone\.mp4|video/i);
      assert.equal(creates(), c0);
    } finally {
      await s.close();
    }
  });
});
