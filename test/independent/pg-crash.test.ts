// An instance SIGKILLed at each moment of a paid job, on one PostgreSQL ledger: another instance
// finishes the job without a second create, and every instance tells the truth about it. Also an
// instance on "another machine" (its own host name and pid space): alive, its claim is respected;
// dead, its lease runs out and the job is taken over, still without paying twice.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { JoggFake } from './fakes/jogg.js';
import { CANARY, type Home, joggEnv, makeHome } from './helpers.js';
import {
  type HttpOpts,
  type Instance,
  instanceEnv,
  mediaOnce,
  otherHostSkip,
  type PgTestDatabase,
  pgLeaks,
  pgSkip,
  pgTestDatabase,
  startHttp,
  startStdio,
  stopAll,
  timedCall,
  until,
  withPassword,
} from './pg-helpers.js';

type Row = Record<string, unknown>;
const CREATE = '/v2/create_lip_sync_video';
const BUDGET_MS = 60_000;

describe('SIGKILL of an instance mid-job, one shared ledger', { skip: pgSkip }, () => {
  let fake: JoggFake;
  let db: PgTestDatabase;
  let url: string;
  const homes: Record<string, Home> = {};
  let B: Instance;
  let S: Instance;
  const victims: Instance[] = [];
  const seen: string[] = [];
  const envFor = (name: string) => {
    homes[name] ??= makeHome();
    return instanceEnv(joggEnv(homes[name]!, `${fake.url}/via/${name}`), url);
  };
  const args = (name: string, seed: number, extra: Row = {}) => ({
    ...mediaOnce(homes[name]!.media, seed, `job${seed}`),
    provider: 'jogg',
    confirm: true,
    ...extra,
  });
  const callOn = async (i: Instance, tool: string, a: Row, timeout?: number) => {
    const r = await timedCall(i, tool, a, timeout);
    seen.push(r.text);
    return r;
  };
  const listed = async (i: Instance): Promise<Row[]> => {
    const l = await callOn(i, 'list_tasks', { limit: 100 });
    return Array.isArray(l.data.tasks) ? (l.data.tasks as Row[]) : [];
  };
  const creates = () => fake.count('POST', CREATE);
  /** Starts a victim, starts its create, waits until the fake sees `path` from it, SIGKILLs it. */
  const killDuring = async (
    name: string,
    seed: number,
    method: string,
    path: string,
    opts: HttpOpts = {},
    sig: NodeJS.Signals = 'SIGKILL',
  ) => {
    const v = await startHttp(envFor(name), { name, ...opts });
    victims.push(v);
    const pending = timedCall(v, 'create_lip_sync', args(name, seed));
    await fake.waitFor((s) => s.via === name && s.method === method && s.path.startsWith(path), 45_000);
    await v.kill(sig);
    await pending;
    return v;
  };
  /** Follows a task on an instance until it is finished (each step is a bounded status call). */
  const finish = (i: Instance, taskId: string) =>
    until(`${taskId} to succeed on ${i.name}`, async () => {
      const s = await callOn(i, 'get_task_status', { task_id: taskId, wait_seconds: 10 });
      assert.ok(s.ms < BUDGET_MS, `get_task_status took ${s.ms} ms`);
      return s.data.status === 'success' ? s : undefined;
    });

  before(async () => {
    fake = await new JoggFake(CANARY.jogg).start();
    db = await pgTestDatabase('crash');
    url = withPassword(db.url);
    [B, S] = await Promise.all([startHttp(envFor('B'), { name: 'B' }), startStdio(envFor('S'), 'S')]);
  });
  after(async () => {
    const logs = [B, S, ...victims].map((i) => i?.stderr() ?? '').join('\n');
    await stopAll([B, S, ...victims]);
    await db.drop();
    await fake.close();
    assert.deepEqual(pgLeaks(seen.join('\n') + logs), []);
  });

  for (const [sig, seed, name] of [
    ['SIGKILL', 21, 'K1'],
    ['SIGTERM', 27, 'T1'],
  ] as const) {
    test(`${sig} while uploading${sig === 'SIGTERM' ? ' (a rolling deploy)' : ''}: the same call on another instance finishes the job with one create`, async () => {
      const tasks0 = (await listed(S)).length;
      fake.faults.push({ route: 'POST /v2/upload/asset', kind: 'hang', via: name });
      await killDuring(name, seed, 'POST', '/v2/upload/asset', {}, sig);
      const c0 = creates();
      const r = await callOn(B, 'create_lip_sync', args('B', seed));
      assert.equal(r.isError, false, r.text.slice(0, 500));
      assert.ok(r.ms < BUDGET_MS, `answered after ${r.ms} ms`);
      const done = await finish(S, String(r.data.task_id));
      assert.equal(creates() - c0, 1, 'one create');
      const after = await listed(B);
      assert.equal(after.length, tasks0 + 1, 'one task for the job, not two');
      assert.equal(after.find((t) => t.task_id === r.data.task_id)?.status, 'success');
      assert.match(String(done.data.result_url), /\/results\//);
    });
  }

  test('killed right after Jogg accepted the create (answer never came): reconciled, never created again', async () => {
    const seed = 22;
    const c0 = creates();
    const paid0 = fake.creates;
    fake.faults.push({ route: `POST ${CREATE}`, kind: 'acceptThenHang', via: 'K2' });
    await killDuring('K2', seed, 'POST', CREATE);
    const jogg = fake.tasks.at(-1)!;
    const r = await callOn(B, 'create_lip_sync', args('B', seed));
    assert.ok(r.ms < BUDGET_MS, `answered after ${r.ms} ms`);
    assert.ok(!r.isError || /unknown/i.test(r.text), r.text.slice(0, 500));
    const done = await finish(S, String(r.data.task_id));
    assert.equal(done.data.provider_task_id, jogg.task_id, 'found the task Jogg made');
    assert.equal(creates() - c0, 1, 'the create request left once');
    assert.equal(fake.creates - paid0, 1);
    // A later identical call anywhere is a reuse.
    const again = await callOn(S, 'create_lip_sync', args('S', seed));
    assert.equal(again.data.task_id, r.data.task_id);
    assert.equal(creates() - c0, 1);
  });

  test('killed while its create hung unanswered (maybe never received): not resent, reported unknown everywhere', async () => {
    const seed = 23;
    const c0 = creates();
    const paid0 = fake.creates;
    const ids0 = new Set((await listed(S)).map((t) => t.task_id));
    fake.faults.push({ route: `POST ${CREATE}`, kind: 'hang', via: 'K3' });
    await killDuring('K3', seed, 'POST', CREATE);
    const t = (await listed(S)).find((x) => !ids0.has(x.task_id));
    assert.ok(t, 'the dead instance left its task in the ledger');
    const id = String(t.task_id);
    // Any instance that looks at it reconciles (Jogg has nothing) and says unknown, without resending.
    const st = await until('the task to be reported unknown', async () => {
      const s = await callOn(S, 'get_task_status', { task_id: id, wait_seconds: 5 });
      return s.data.status === 'unknown' ? s : undefined;
    });
    assert.match(st.text, /force_recreate/, 'says what the user can do');
    const r = await callOn(B, 'create_lip_sync', args('B', seed));
    assert.equal(r.data.task_id, id, r.text.slice(0, 400));
    assert.equal(r.data.status, 'unknown', r.text.slice(0, 400));
    assert.equal(creates() - c0, 1, 'the create was not sent again');
    assert.equal(fake.creates, paid0);
    for (const i of [B, S]) {
      const x = (await listed(i)).find((y) => y.task_id === id);
      assert.equal(x?.status, 'unknown', `${i.name}: ${JSON.stringify(x)}`);
    }
    // The user decides to pay again: exactly one new create.
    const forced = await callOn(S, 'create_lip_sync', args('S', seed, { force_recreate: true }));
    assert.equal(forced.isError, false, forced.text.slice(0, 400));
    assert.equal(fake.creates - paid0, 1);
  });

  test('killed while following its task: another instance follows it to success, nothing created', async () => {
    const seed = 24;
    fake.finishAfter = 1_000;
    const v = await startHttp(envFor('K4'), { name: 'K4' });
    victims.push(v);
    const made = await callOn(v, 'create_lip_sync', args('K4', seed));
    const id = String(made.data.task_id);
    const c0 = creates();
    // Its status wait is under way (Jogg has been asked) when it dies.
    const from = fake.log.length;
    const waiting = timedCall(v, 'get_task_status', { task_id: id, wait_seconds: 50 });
    await fake.waitFor((x) => x.via === 'K4' && /^\/v2\/lip_sync_video\/.+/.test(x.path), 45_000, from);
    const s = await callOn(S, 'get_task_status', { task_id: id });
    assert.ok(s.data.provider_task_id, `the task is known elsewhere by its Jogg id: ${s.text.slice(0, 300)}`);
    await v.kill('SIGKILL');
    await waiting;
    fake.finishAfter = 1;
    const done = await finish(B, id);
    assert.equal(creates(), c0, 'nothing created');
    const onS = await callOn(S, 'get_task_status', { task_id: id });
    assert.equal(onS.data.result_url, done.data.result_url);
    fake.finishAfter = 2;
  });

  test('another machine, alive but stuck uploading: its claim is respected; killed: taken over after its lease, one create', {
    skip: otherHostSkip,
  }, async () => {
    const seed = 25;
    const c0 = creates();
    const from = fake.log.length;
    fake.faults.push({ route: 'PUT /signed/', kind: 'hang', via: 'M1' });
    const v = await startHttp(envFor('M1'), { name: 'M1', otherHost: 'machine-two' });
    victims.push(v);
    const pending = timedCall(v, 'create_lip_sync', args('M1', seed));
    await fake.waitFor((s) => s.via === 'M1' && s.method === 'PUT', 45_000);
    // Alive (its lease is renewed): an identical call elsewhere must not start a second upload/create.
    const r = await callOn(B, 'create_lip_sync', args('B', seed, { wait_seconds: 0 }));
    assert.ok(r.ms < BUDGET_MS, `answered after ${r.ms} ms`);
    assert.equal(r.data.reused, true, r.text.slice(0, 500));
    const id = String(r.data.task_id);
    assert.equal(
      fake.log
        .slice(from)
        .filter((s) => s.via === 'B' && (s.path === '/v2/upload/asset' || s.method === 'PUT')).length,
      0,
      'B did not upload while the owner lives',
    );
    assert.equal(creates(), c0);
    await v.kill('SIGKILL');
    await pending;
    // Dead on another host: after its lease (2 x LIPSYNC_REQUEST_TIMEOUT_SECONDS = 6 s) the identical
    // call (what an agent does when its connection dropped), with this machine's own copies of the
    // files, takes the job over. None of these calls may fail: the files it was given are fine.
    const answers: string[] = [];
    const done = await until('the job to be taken over and finished', async () => {
      const again = await callOn(B, 'create_lip_sync', args('B', seed, { wait_seconds: 10 }));
      answers.push(again.text.slice(0, 300));
      assert.ok(again.ms < BUDGET_MS, `answered after ${again.ms} ms`);
      assert.equal(again.isError, false, `the identical call failed: ${answers.join('\n')}`);
      return again.data.status === 'success' ? again : undefined;
    });
    assert.equal(creates() - c0, 1, 'one create');
    assert.match(String(done.data.result_url), /\/results\//);
    // The task id B handed out first must not be left blaming a file on the dead machine.
    const x = await callOn(B, 'get_task_status', { task_id: id });
    const otherDisk = homes.M1!.media;
    assert.ok(
      !x.text.includes(otherDisk) && !/LIPSYNC_ALLOWED_DIRS/.test(x.text),
      `task ${id}: ${x.text.slice(0, 400)}`,
    );
  });

  test('another machine frozen mid-upload (SIGSTOP) past its lease, taken over, then thawed: it must not create too', {
    skip: otherHostSkip,
  }, async () => {
    const seed = 28;
    const c0 = creates();
    const from = fake.log.length;
    fake.faults.push({ route: 'PUT /signed/', kind: 'hold', via: 'M3' });
    const v = await startHttp(envFor('M3'), { name: 'M3', otherHost: 'machine-four' });
    victims.push(v);
    const pending = timedCall(v, 'create_lip_sync', args('M3', seed));
    await fake.waitFor((s) => s.via === 'M3' && s.method === 'PUT', 45_000, from);
    v.pause();
    try {
      // Its lease runs out; the identical call on B takes the job over and finishes it.
      const done = await until('B to take the job over', async () => {
        const a = await callOn(B, 'create_lip_sync', args('B', seed, { wait_seconds: 10 }));
        return a.data.status === 'success' ? a : undefined;
      });
      assert.equal(creates() - c0, 1, 'B made it once');
      // The frozen machine wakes up, its upload answer arrives: it must see it lost the claim.
      v.resume();
      fake.release();
      await pending;
      // Its chance to (wrongly) go on: the next request it would send, or 8 s of nothing.
      await fake
        .waitFor((s) => s.via === 'M3' && (s.path === CREATE || s.path === '/v2/lip_sync_video'), 8_000, from)
        .catch(() => undefined);
      assert.equal(creates() - c0, 1, 'the thawed instance created the job a second time');
      const s = await callOn(S, 'get_task_status', { task_id: String(done.data.task_id) });
      assert.equal(s.data.status, 'success', s.text.slice(0, 300));
    } finally {
      v.resume();
      fake.release();
    }
  });

  test('another machine dies right after its create was accepted: reconciled after its lease, never created again', {
    skip: otherHostSkip,
  }, async () => {
    const seed = 26;
    const c0 = creates();
    const paid0 = fake.creates;
    fake.faults.push({ route: `POST ${CREATE}`, kind: 'acceptThenHang', via: 'M2' });
    await killDuring('M2', seed, 'POST', CREATE, { otherHost: 'machine-three' });
    const jogg = fake.tasks.at(-1)!;
    const done = await until('the job to be reconciled and finished', async () => {
      const again = await callOn(S, 'create_lip_sync', args('S', seed, { wait_seconds: 10 }));
      assert.ok(again.ms < BUDGET_MS, `answered after ${again.ms} ms`);
      return again.data.status === 'success' ? again : undefined;
    });
    assert.equal(done.data.provider_task_id, jogg.task_id);
    assert.equal(creates() - c0, 1, 'the create request left once');
    assert.equal(fake.creates - paid0, 1);
  });
});
