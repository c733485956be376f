// PostgreSQL failing under running instances, through a TCP proxy the test controls: gone (connections
// reset, port closed) or partitioned (connections open, nothing passes). Tool calls must answer within
// the budget with an actionable error, instances must survive, no paid request may leave unrecorded,
// and when the database is back nothing is paid twice and no job is lost.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { Heard, within } from '../helpers/wait.js';
import { JoggFake } from './fakes/jogg.js';
import { CANARY, errCode, type Home, joggEnv, makeHome, STACK } from './helpers.js';
import {
  type Instance,
  instanceEnv,
  mediaOnce,
  PgProxy,
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
const FEED_LISTENING = /^(?=.*"msg":"PostgreSQL change feed listening")/;
const FEED_RELISTENING = /^(?=.*"msg":"PostgreSQL change feed listening")(?=.*"reconnected":true)/;

describe('PostgreSQL gone or partitioned under running instances', { skip: pgSkip }, () => {
  let fake: JoggFake;
  let db: PgTestDatabase;
  let proxy: PgProxy;
  const homes: Record<string, Home> = {};
  /** P1 (HTTP) and P2 (stdio) reach PostgreSQL through the proxy; D (HTTP) directly. */
  let P1: Instance;
  let P2: Instance;
  let D: Instance;
  const seen: string[] = [];
  const envFor = (name: string, dbUrl: string, extra: Record<string, string> = {}) => {
    homes[name] ??= makeHome();
    return instanceEnv(joggEnv(homes[name]!, `${fake.url}/via/${name}`, extra), dbUrl);
  };
  const args = (name: string, seed: number, extra: Row = {}) => ({
    ...mediaOnce(homes[name]!.media, seed, `job${seed}`),
    provider: 'jogg',
    confirm: true,
    ...extra,
  });
  const callOn = async (i: Instance, tool: string, a: Row) => {
    const r = await timedCall(i, tool, a);
    seen.push(r.text);
    return r;
  };
  const creates = () => fake.count('POST', CREATE);
  /** Each step a list_tasks call (no timer between): after heal() the pool connects on demand. */
  const usable = (i: Instance) =>
    until(
      `${i.name} to use the ledger again`,
      async () => {
        const l = await callOn(i, 'list_tasks', {});
        return l.isError ? undefined : l;
      },
      { steps: 10 },
    );
  const finish = (i: Instance, id: string) =>
    until(`${id} to succeed on ${i.name}`, async () => {
      const s = await callOn(i, 'get_task_status', { task_id: id, wait_seconds: 10 });
      return s.data.status === 'success' ? s : undefined;
    });

  /** What every call made while the ledger is unreachable must look like. */
  const judge = (label: string, r: Awaited<ReturnType<typeof callOn>>, problems: string[]) => {
    if (r.ms >= BUDGET_MS) problems.push(`${label}: answered after ${r.ms} ms`);
    if (r.threw) problems.push(`${label}: no answer (${r.threw.slice(0, 200)})`);
    else if (r.isError) {
      const e = (r.data.error ?? {}) as { code?: string; message?: string; hint?: string };
      if (!['unavailable', 'timeout'].includes(String(e.code)))
        problems.push(`${label}: code ${String(e.code)}: ${r.text.slice(0, 300)}`);
      if (!/postgres|database|ledger/i.test(`${e.message} ${e.hint}`))
        problems.push(`${label}: does not say the database is the problem: ${r.text.slice(0, 300)}`);
    }
    if (STACK.test(r.text)) problems.push(`${label}: stack trace`);
  };

  before(async () => {
    fake = await new JoggFake(CANARY.jogg).start();
    db = await pgTestDatabase('outage');
    proxy = await PgProxy.forUrl(db.url).start();
    const via = withPassword(proxy.url(db.url));
    [P1, P2, D] = await Promise.all([
      startHttp(envFor('P1', via), { name: 'P1' }),
      startStdio(envFor('P2', via), 'P2'),
      startHttp(envFor('D', withPassword(db.url)), { name: 'D' }),
    ]);
  });
  after(async () => {
    const logs = [P1, P2, D].map((i) => i?.stderr() ?? '').join('\n');
    await proxy.heal().catch(() => undefined);
    await stopAll([P1, P2, D]);
    await proxy.close();
    await db.drop();
    await fake.close();
    assert.deepEqual(pgLeaks(seen.join('\n') + logs), []);
  });

  for (const how of ['gone', 'partitioned'] as const) {
    test(`PostgreSQL ${how} mid-job: every call answers in time and says so, no create leaves, nothing paid twice after`, async () => {
      const seedOld = how === 'gone' ? 31 : 41;
      const seedNew = seedOld + 1;
      fake.finishAfter = 1_000;
      const made = await callOn(P1, 'create_lip_sync', args('P1', seedOld));
      assert.equal(made.isError, false, made.text.slice(0, 400));
      const id = String(made.data.task_id);
      const c0 = creates();
      if (how === 'gone') await proxy.down();
      else proxy.freeze();
      const calls: Array<[string, Instance, string, Row]> = [
        ['P1 list_tasks', P1, 'list_tasks', {}],
        ['P1 get_task_status', P1, 'get_task_status', { task_id: id }],
        ['P2 get_task_status wait 20', P2, 'get_task_status', { task_id: id, wait_seconds: 20 }],
        ['P1 same create', P1, 'create_lip_sync', args('P1', seedOld)],
        ['P2 new create', P2, 'create_lip_sync', args('P2', seedNew)],
        ['P2 spend_report', P2, 'spend_report', {}],
      ];
      const rs = await Promise.all(calls.map(([, i, tool, a]) => callOn(i, tool, a)));
      const problems: string[] = [];
      rs.forEach((r, k) => {
        judge(calls[k]![0], r, problems);
      });
      const fresh = rs[4]!;
      if (!fresh.isError)
        problems.push(`a new paid job was accepted without its ledger: ${fresh.text.slice(0, 200)}`);
      if (creates() !== c0) problems.push('a create request left while the ledger was unreachable');
      if (!P1.alive() || !P2.alive()) problems.push('an instance died');
      await proxy.heal();
      // Checked after the recovery below too, so one failure does not hide the other.
      const recovered = async () => {
        // Back: the running job finishes, the new one is made once, the old one is reused.
        fake.finishAfter = 1;
        await usable(P2);
        await finish(P1, id);
        const again = await callOn(P1, 'create_lip_sync', args('P1', seedOld));
        assert.equal(again.data.task_id, id, again.text.slice(0, 300));
        const n = await callOn(P2, 'create_lip_sync', args('P2', seedNew));
        assert.equal(n.isError, false, n.text.slice(0, 300));
        assert.equal(creates() - c0, 1, 'only the new job was created');
      };
      try {
        await recovered();
      } finally {
        fake.finishAfter = 2;
      }
      assert.deepEqual(problems, [], problems.join('\n'));
    });
  }

  test('the ledger goes away between upload and create: the create does not leave; later, one create', async () => {
    const seed = 51;
    fake.finishAfter = 2;
    const c0 = creates();
    fake.faults.push({ route: 'PUT /signed/', kind: 'hold', via: 'P1' });
    const from = fake.log.length;
    const pending = callOn(P1, 'create_lip_sync', args('P1', seed));
    await fake.waitFor((s) => s.via === 'P1' && s.method === 'PUT', 45_000, from);
    await proxy.down();
    fake.release();
    const r = await pending;
    assert.ok(r.ms < BUDGET_MS, `answered after ${r.ms} ms`);
    // Give the instance a chance to (wrongly) go on: its second upload, or 6 s of nothing.
    let puts = 0;
    await fake.waitFor((x) => x.method === 'PUT' && ++puts >= 2, 6_000, from).catch(() => undefined);
    const probe = await callOn(P1, 'list_tasks', {});
    judge('P1 list_tasks while down', probe, []);
    assert.equal(creates(), c0, 'no create without the "sent" mark in the ledger');
    await proxy.heal();
    const done = await until('the job to be made once the ledger is back', async () => {
      const a = await callOn(P1, 'create_lip_sync', args('P1', seed, { wait_seconds: 10 }));
      return a.data.status === 'success' ? a : undefined;
    });
    assert.equal(creates() - c0, 1, 'one create');
    assert.match(String(done.data.result_url), /\/results\//);
  });

  test("the create's answer arrives while the ledger is down: the job is not lost and not paid again", async () => {
    const seed = 52;
    fake.finishAfter = 2;
    const c0 = creates();
    const paid0 = fake.creates;
    fake.faults.push({ route: `POST ${CREATE}`, kind: 'hold', via: 'P1' });
    const from = fake.log.length;
    const pending = callOn(P1, 'create_lip_sync', args('P1', seed));
    await fake.waitFor((s) => s.via === 'P1' && s.path === CREATE, 45_000, from);
    await proxy.down();
    fake.release(); // Jogg accepts (the money is spent) and answers P1, which cannot write it down.
    const jogg =
      fake.creates > paid0
        ? fake.tasks.at(-1)!
        : await within(
            once(fake, 'created').then(() => fake.tasks.at(-1)!),
            'Jogg to have the task',
          );
    const r = await pending;
    assert.ok(r.ms < BUDGET_MS, `answered after ${r.ms} ms`);
    await proxy.heal();
    // Any instance (here D, which never lost its database) finds the job and follows it.
    const answers: string[] = [];
    const done = await until(
      'the job to be found and finished',
      async () => {
        const a = await callOn(D, 'create_lip_sync', args('D', seed, { wait_seconds: 10 }));
        answers.push(`${a.ms} ms: ${a.text.slice(0, 300)}`);
        return a.data.status === 'success' ? a : undefined;
      },
      { note: () => `; P1 answered ${r.text.slice(0, 300)}; D answered:\n${answers.slice(-3).join('\n')}` },
    );
    assert.equal(done.data.provider_task_id, jogg.task_id, done.text.slice(0, 300));
    assert.equal(creates() - c0, 1, 'the create request left once');
    assert.equal(fake.creates - paid0, 1);
    if (r.data.task_id) assert.equal(done.data.task_id, r.data.task_id, 'the task id P1 gave out is the one');
  });

  test('a subscription on an instance whose database connection was cut still hears changes after it is back', async () => {
    fake.finishAfter = 1_000;
    const made = await callOn(D, 'create_lip_sync', args('D', 53));
    const id = String(made.data.task_id);
    const uri = `lipsync://tasks/${id}`;
    const updates = new Heard<string>();
    P2.mcp.client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) =>
      updates.push(n.params.uri),
    );
    await P2.mcp.client.subscribeResource({ uri });
    await P2.logLine(FEED_LISTENING, "P2's change feed to listen");
    const from = P2.stderr().length;
    await proxy.down();
    await proxy.heal();
    // P2 is usable again (its pool reconnected, its change feed listens again) before D finishes the job.
    await P2.logLine(FEED_RELISTENING, "P2's change feed to listen again after the cut", from);
    await usable(P2);
    updates.seen.length = 0;
    fake.finishAfter = 1;
    await finish(D, id);
    try {
      await updates.when(
        (u) => u === uri,
        'notifications/resources/updated on P2 after the database came back',
      );
    } finally {
      fake.finishAfter = 2;
    }
  });
});

describe('a small pool: waits do not starve other calls', { skip: pgSkip }, () => {
  let fake: JoggFake;
  let db: PgTestDatabase;
  let X: Instance;
  let h: Home;
  before(async () => {
    fake = await new JoggFake(CANARY.jogg).start();
    db = await pgTestDatabase('pool');
    h = makeHome();
    X = await startHttp(
      instanceEnv(joggEnv(h, fake.url, { LIPSYNC_DATABASE_POOL_SIZE: '1' }), withPassword(db.url)),
      { name: 'X' },
    );
  });
  after(async () => {
    await stopAll([X]);
    await db.drop();
    await fake.close();
  });

  test('LIPSYNC_DATABASE_POOL_SIZE=1: three 15 s status waits and a burst of creates, list_tasks still answers at once', async () => {
    fake.finishAfter = 1_000;
    const ids: string[] = [];
    for (const seed of [61, 62, 63]) {
      const r = await timedCall(X, 'create_lip_sync', {
        ...mediaOnce(h.media, seed),
        provider: 'jogg',
        confirm: true,
      });
      assert.equal(r.isError, false, r.text.slice(0, 300));
      ids.push(String(r.data.task_id));
    }
    const waits = ids.map((id) => timedCall(X, 'get_task_status', { task_id: id, wait_seconds: 15 }));
    const burst = [64, 65, 66, 64, 65, 66].map((seed) =>
      timedCall(X, 'create_lip_sync', { ...mediaOnce(h.media, seed), provider: 'jogg', confirm: true }),
    );
    const l = await timedCall(X, 'list_tasks', {});
    assert.equal(l.isError, false, l.text.slice(0, 300));
    assert.ok(l.ms < 10_000, `list_tasks took ${l.ms} ms while waits were running`);
    const [ws, bs] = await Promise.all([Promise.all(waits), Promise.all(burst)]);
    for (const w of ws) assert.ok(w.ms < BUDGET_MS && !w.isError, w.text.slice(0, 300));
    for (const b of bs) assert.equal(b.isError, false, `${errCode(b)} ${b.text.slice(0, 300)}`);
    assert.equal(fake.creates, 6);
  });
});
