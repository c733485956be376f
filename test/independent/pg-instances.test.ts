// Several instances on one PostgreSQL ledger, as a team behind a load balancer runs them: HTTP servers,
// stdio servers and CLI runs, each with its own disk (LIPSYNC_HOME, media paths), one database.
// Never pay twice, tell the same truth everywhere, hear changes made elsewhere, hold caps across them.
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { Heard } from '../helpers/wait.js';
import { JoggFake } from './fakes/jogg.js';
import {
  CANARY,
  errCode,
  type Home,
  joggEnv,
  lastJson,
  makeHome,
  mediaPair,
  runCli,
  STACK,
} from './helpers.js';
import {
  type Instance,
  instanceEnv,
  mediaOnce,
  type PgTestDatabase,
  pgLeaks,
  pgLeaksInTree,
  pgQuery,
  pgSkip,
  pgTestDatabase,
  startHttp,
  startStdio,
  stopAll,
  timedCall,
  withPassword,
} from './pg-helpers.js';

type Row = Record<string, unknown>;
const BUDGET_MS = 60_000;

/** Every task row as text, to look for secrets stored in the shared ledger. */
async function ledgerText(url: string): Promise<string> {
  const parts: string[] = [];
  for (const t of ['tasks', 'costs', 'uploads', 'downloads']) {
    const rows = await pgQuery<{ r: string }>(url, `SELECT x::text AS r FROM ${t} x`).catch(() => []);
    parts.push(...rows.map((r) => r.r));
  }
  return parts.join('\n');
}

function tasksOf(o: { data: Row; text: string }): Row[] {
  const t = o.data.tasks;
  return Array.isArray(t) ? (t as Row[]) : [];
}

describe('one PostgreSQL ledger, HTTP + stdio + CLI instances: one paid create, one truth', {
  skip: pgSkip,
}, () => {
  let fake: JoggFake;
  let db: PgTestDatabase;
  let url: string;
  const homes: Record<string, Home> = {};
  let A: Instance;
  let B: Instance;
  let S: Instance;
  /** A stdio server that cannot reach Jogg at all: it can only learn through the ledger. */
  let W: Instance;
  const seen: string[] = [];
  const envFor = (name: string, base?: string) => {
    homes[name] ??= makeHome();
    return instanceEnv(joggEnv(homes[name]!, base ?? `${fake.url}/via/${name}`), url);
  };
  /** The job's files on that instance's disk, written once (concurrent calls must not rewrite them). */
  const pair = (name: string, seed: number) => mediaOnce(homes[name]!.media, seed, `job${seed}`);
  const create = async (i: Instance, seed: number, extra: Row = {}) => {
    const r = await timedCall(i, 'create_lip_sync', {
      ...pair(i.name, seed),
      provider: 'jogg',
      confirm: true,
      ...extra,
    });
    seen.push(r.text);
    return r;
  };

  before(async () => {
    fake = await new JoggFake(CANARY.jogg).start();
    db = await pgTestDatabase('instances');
    url = withPassword(db.url);
    [A, B, S, W] = await Promise.all([
      startHttp(envFor('A'), { name: 'A' }),
      startHttp(envFor('B'), { name: 'B' }),
      startStdio(envFor('S'), 'S'),
      startStdio(envFor('W', 'http://127.0.0.1:9'), 'W'),
    ]);
  });
  after(async () => {
    const errs = [A, B, S, W].map((i) => i?.stderr() ?? '').join('\n');
    await stopAll([A, B, S, W]);
    const stored = await ledgerText(db.url);
    await db.drop();
    await fake.close();
    assert.deepEqual(pgLeaks(seen.join('\n')), [], 'a secret in a tool answer');
    assert.deepEqual(pgLeaks(errs), [], 'a secret in an instance log');
    assert.deepEqual(pgLeaks(stored), [], 'a secret stored in the shared ledger');
    for (const h of Object.values(homes)) assert.deepEqual(pgLeaksInTree(h.root), []);
  });

  test('16 identical calls at once over 2 HTTP servers, a stdio server and 4 CLI runs: one create, one task, one upload per file', async () => {
    const seed = 11;
    const creates0 = fake.creates;
    const uploads0 = fake.count('POST', '/v2/upload/asset');
    const clis = ['C1', 'C2', 'C3', 'C4'].map((n) => {
      const env = envFor(n);
      const p = pair(n, seed);
      return runCli(env, ['run', '--video', p.video, '--audio', p.audio, '--provider', 'jogg', '--no-poll']);
    });
    const calls = [A, B, S, A, B, S, A, B, S, A, B, S].map((i) => create(i, seed));
    const [rs, cs] = await Promise.all([Promise.all(calls), Promise.all(clis)]);
    const ids = new Set<string>();
    for (const r of rs) {
      assert.equal(r.isError, false, `${r.text.slice(0, 400)}`);
      assert.ok(r.ms < BUDGET_MS, `answered after ${r.ms} ms`);
      ids.add(String(r.data.task_id));
    }
    for (const c of cs) {
      seen.push(c.stdout, c.stderr);
      assert.equal(c.code, 0, c.stderr.slice(-600));
      ids.add(String(lastJson(c.stdout).task_id));
    }
    assert.equal(fake.creates - creates0, 1, `paid ${fake.creates - creates0} times`);
    assert.equal(ids.size, 1, [...ids].join(', '));
    assert.equal(
      fake.count('POST', '/v2/upload/asset') - uploads0,
      2,
      'each file uploaded once, whichever instance did it',
    );
    assert.equal(
      rs.filter((r) => r.data.reused === false).length +
        cs.filter((c) => lastJson(c.stdout).reused === false).length,
      1,
    );
  });

  test('a job made on one instance is reused from the others (other disks, other paths): no upload, no create', async () => {
    const seed = 12;
    const first = await create(A, seed);
    assert.equal(first.isError, false, first.text);
    const creates0 = fake.creates;
    const uploads0 = fake.count('POST', '/v2/upload/asset');
    const again = await Promise.all([create(B, seed), create(S, seed)]);
    const p = pair('C1', seed);
    const cli = await runCli(envFor('C1'), [
      'run',
      '--video',
      p.video,
      '--audio',
      p.audio,
      '--provider',
      'jogg',
      '--no-poll',
    ]);
    seen.push(cli.stdout, cli.stderr);
    for (const r of again) {
      assert.equal(r.data.task_id, first.data.task_id, r.text);
      assert.equal(r.data.reused, true, r.text);
    }
    assert.equal(lastJson(cli.stdout).task_id, first.data.task_id, cli.stdout + cli.stderr.slice(-400));
    assert.equal(fake.creates, creates0);
    assert.equal(fake.count('POST', '/v2/upload/asset'), uploads0, 'the upload cache is shared');
  });

  test('a task finished by one instance is heard by a subscriber on another that cannot reach Jogg', async () => {
    fake.finishAfter = 1_000;
    const made = await create(A, 13);
    assert.equal(made.isError, false, made.text);
    const id = String(made.data.task_id);
    const uri = `lipsync://tasks/${id}`;
    const updates = new Heard<string>();
    W.mcp.client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => updates.push(n.params.uri));
    await W.mcp.client.subscribeResource({ uri });
    const readW = async () => {
      const r = await W.mcp.client.readResource({ uri });
      const c = r.contents[0] as { text?: string } | undefined;
      return JSON.parse(c?.text ?? '{}') as Row;
    };
    assert.notEqual((await readW()).status, 'success', 'not finished yet');
    fake.finishAfter = 1;
    const done = await timedCall(B, 'get_task_status', { task_id: id, wait_seconds: 30 });
    seen.push(done.text);
    assert.equal(done.data.status, 'success', done.text);
    // W never talks to Jogg: it can only have been told through the ledger. Wait for its
    // notifications, each one followed by a read, until W reads success (events, no time limit).
    // `read` counts the notifications seen before the latest read: any later one means read again.
    let read = 0;
    let got = await readW();
    while (got.status !== 'success' || !updates.seen.includes(uri)) {
      await updates.when(
        (_, i) => i >= read,
        `W to be told about ${uri} (notifications/resources/updated; it reads ${JSON.stringify(got).slice(0, 300)})`,
      );
      read = updates.seen.length;
      got = await readW();
    }
    assert.equal(got.result_url, done.data.result_url);
    // Every instance tells the same truth about it.
    for (const i of [A, B, S, W]) {
      const s = await timedCall(i, 'get_task_status', { task_id: id });
      seen.push(s.text);
      assert.equal(s.data.status, 'success', `${i.name}: ${s.text.slice(0, 300)}`);
      const l = await timedCall(i, 'list_tasks', {});
      const t = tasksOf(l).find((x) => x.task_id === id);
      assert.equal(t?.status, 'success', `${i.name} list_tasks: ${l.text.slice(0, 300)}`);
    }
  });

  test('download_result on two instances (two disks): each gets the file on its own disk', async () => {
    const l = await timedCall(A, 'list_tasks', {});
    const done = tasksOf(l).find((t) => t.status === 'success');
    assert.ok(done, l.text.slice(0, 300));
    const id = String(done.task_id);
    const paths: string[] = [];
    for (const i of [A, B]) {
      const d = await timedCall(i, 'download_result', { task_id: id });
      seen.push(d.text);
      assert.equal(d.isError, false, `${i.name}: ${d.text.slice(0, 300)}`);
      const path = String(d.data.path ?? d.data.file ?? '');
      const home = homes[i.name]!.root;
      assert.ok(path.startsWith(home), `${i.name} says the file is at ${path}, not on its disk (${home})`);
      assert.ok(existsSync(path), `${i.name}: ${path} does not exist`);
      assert.deepEqual(readFileSync(path), fake.videoBytes);
      paths.push(path);
    }
    assert.notEqual(paths[0], paths[1]);
  });

  test('list_tasks and spend_report agree on every instance and in the CLI', async () => {
    const lists = await Promise.all([A, B, S, W].map((i) => timedCall(i, 'list_tasks', { limit: 50 })));
    const spends = await Promise.all([A, B, S, W].map((i) => timedCall(i, 'spend_report', { days: 1 })));
    const cli = await runCli(envFor('C1'), ['spend', '--days', '1']);
    seen.push(...lists.map((l) => l.text), ...spends.map((s) => s.text), cli.stdout, cli.stderr);
    const idsOf = (l: { data: Row; text: string }) =>
      tasksOf(l)
        .map((t) => `${String(t.task_id)}:${String(t.status)}`)
        .sort()
        .join(',');
    for (const l of lists) assert.equal(idsOf(l), idsOf(lists[0]!), l.text);
    assert.equal(tasksOf(lists[0]!).length, 3, lists[0]!.text);
    // spend_report's structured answer is {since, days, tasks}; the CLI prints the same plus `today`.
    const days = (d: Row) => JSON.stringify(d.days);
    for (const s of spends) assert.equal(days(s.data), days(spends[0]!.data), s.text);
    assert.match(days(spends[0]!.data), /"amount":3/, spends[0]!.text);
    assert.equal(JSON.stringify(lastJson(cli.stdout).days), days(spends[0]!.data), cli.stdout);
    assert.equal(fake.creates, 3);
  });
});

describe('spend caps across instances on one ledger', { skip: pgSkip }, () => {
  let fake: JoggFake;
  let db: PgTestDatabase;
  let xs: Instance[] = [];
  const homes: Home[] = [];
  before(async () => {
    fake = await new JoggFake(CANARY.jogg).start();
    db = await pgTestDatabase('caps');
    const env = (i: number) => {
      homes[i] = makeHome();
      return instanceEnv(
        joggEnv(homes[i]!, fake.url, { LIPSYNC_CAP_PAID_CREATES_PER_DAY: '2' }),
        withPassword(db.url),
      );
    };
    xs = await Promise.all([
      startHttp(env(0), { name: 'H1' }),
      startHttp(env(1), { name: 'H2' }),
      startStdio(env(2)),
    ]);
  });
  after(async () => {
    await stopAll(xs);
    await db.drop();
    await fake.close();
  });

  test('LIPSYNC_CAP_PAID_CREATES_PER_DAY=2 on three instances, six different jobs at once: two creates, four spend_cap', async () => {
    const calls = [0, 1, 2, 3, 4, 5].map((k) => {
      const i = k % 3;
      const p = mediaPair(homes[i]!.media, 100 + k);
      // Every pair's video is the same base clip: make each one's bytes its own (a trailing MP4 `free`
      // box), or a second accepted job may take the video from the shared upload cache and the count
      // below would depend on timing.
      const box = Buffer.alloc(16);
      box.writeUInt32BE(16, 0);
      box.write('free', 4, 'latin1');
      box.writeUInt32BE(k, 8);
      appendFileSync(p.video, box);
      return timedCall(xs[i]!, 'create_lip_sync', { ...p, provider: 'jogg', confirm: true });
    });
    const rs = await Promise.all(calls);
    const ok = rs.filter((r) => !r.isError);
    const capped = rs.filter((r) => errCode(r) === 'spend_cap');
    assert.equal(fake.creates, 2, rs.map((r) => r.text.slice(0, 200)).join('\n'));
    assert.equal(ok.length, 2, rs.map((r) => r.text.slice(0, 200)).join('\n'));
    assert.equal(capped.length, 4, rs.map((r) => r.text.slice(0, 200)).join('\n'));
    for (const r of capped) {
      const e = r.data.error as { message: string; hint: string; details?: Row };
      assert.equal(e.details?.setting, 'LIPSYNC_CAP_PAID_CREATES_PER_DAY', JSON.stringify(e));
      assert.ok(!STACK.test(r.text));
    }
    assert.equal(fake.count('POST', '/v2/upload/asset'), 4, 'refused jobs upload nothing');
  });

  test('the cap still holds for a fresh instance started afterwards (counted from the ledger)', async () => {
    const h = makeHome();
    const p = mediaPair(h.media, 120);
    const r = await runCli(
      instanceEnv(joggEnv(h, fake.url, { LIPSYNC_CAP_PAID_CREATES_PER_DAY: '2' }), withPassword(db.url)),
      ['run', '--video', p.video, '--audio', p.audio, '--provider', 'jogg', '--no-poll'],
    );
    assert.equal(r.code, 1, r.stdout + r.stderr.slice(-400));
    assert.equal(lastJson(r.stderr).code, 'spend_cap', r.stderr.slice(-400));
    assert.equal(fake.creates, 2);
  });
});
