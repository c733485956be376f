/**
 * Nobody pays twice, on any machine (issue 31 item 5): a process that loses its claim between the
 * claim and the paid send (frozen past its lease; another process took the claim over) must not send.
 * Runs on SQLite with the pause injected at the fake's lookup, the last free step before the send; the
 * black-box PostgreSQL variant is test/independent/pg-crash.test.ts (it needs root `unshare`).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import type { JobCore } from '../../src/jobs/core.js';
import { Ledger } from '../../src/jobs/ledger.js';
import { HOST } from '../../src/util/pid.js';
import { startFakeJogg } from '../fakes/jogg/index.js';
import { harness, testEnv, writeBytes } from '../helpers/app.js';
import { within } from '../helpers/wait.js';

test('a claim taken over between claim and send is never sent by its first owner (SQLite)', async () => {
  const fake = await startFakeJogg();
  const env = testEnv({ JOGG_API_KEY: fake.apiKey, JOGG_BASE_URL: fake.url });
  const h = await harness(env.env);
  const other = new Ledger(join(env.env.LIPSYNC_HOME!, 'ledger.sqlite'));
  let release = () => {};
  fake.faults.lookupGate = new Promise<void>((r) => {
    release = r;
  });
  try {
    const video = writeBytes(join(env.work, 'v.mp4'), 'takeover-v');
    const audio = writeBytes(join(env.work, 'a.wav'), 'takeover-a');
    const lookup = fake.seen((c) => c.method === 'GET' && c.path.startsWith('/v2/lip_sync_video?'));
    const call = h.call('create_lip_sync', { video, audio, provider: 'jogg' }).catch((e: unknown) => e);
    // This process has claimed the job, uploaded, and is in its last free step: the pause.
    await lookup;
    const [row] = (await other.unfinished()).filter((r) => r.status === 'submitting');
    assert.ok(row, 'the claim is in the ledger');
    assert.equal(row.ownerPid, process.pid);
    // Another process takes the claim over (this one froze past its lease), the way a waiter does.
    const taker = { pid: process.ppid, host: HOST, leaseUntil: Date.now() + 3_600_000 };
    const taken = await other.takeOver(row.id, { pid: row.ownerPid, host: row.ownerHost }, taker, Date.now());
    assert.ok(taken, 'taken over');
    // The submission itself (private to the job service): awaited whole, so a send after the
    // lost claim would have reached the fake before the count below.
    const core = (h.app.jobs as unknown as { core: JobCore }).core;
    const submission = core.inflight.get(row.id);
    assert.ok(submission, 'the submission is in flight');
    release();
    await within(submission, 'the first owner’s submission ends');
    assert.ok(
      h.logs.some((l) => l.includes('the claim was taken over while this process prepared it')),
      'the first owner says it lost the claim',
    );
    assert.equal(fake.count('POST', '/v2/create_lip_sync_video'), 0, 'the first owner sent no paid create');
    const after = await other.get(row.id);
    assert.deepEqual(
      [after?.phase, after?.ownerPid],
      ['preparing', taker.pid],
      'the claim is still the new owner’s, unsent',
    );
    await h.close();
    await within(call, 'the create call ends once its server closes');
    assert.equal(fake.count('POST', '/v2/create_lip_sync_video'), 0, 'nothing sent while closing either');
  } finally {
    release();
    other.closeSync();
    await h.close().catch(() => undefined);
    await fake.close();
    env.cleanup();
  }
});
