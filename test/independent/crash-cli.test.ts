// Crashes, restarts and several processes at once, through the built CLI and stdio server.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { JoggFake } from './fakes/jogg.js';
import {
  CANARY,
  call,
  type Home,
  joggEnv,
  lastJson,
  leaks,
  leaksInTree,
  makeHome,
  mediaPair,
  runCli,
  STACK,
  startMcp,
} from './helpers.js';

const CREATE = 'POST /v2/create_lip_sync_video';

describe('CLI: SIGKILL at each step, then re-run', () => {
  let fake: JoggFake;
  let h: Home;
  let env: Record<string, string>;
  const texts: string[] = [];
  before(async () => {
    fake = await new JoggFake(CANARY.jogg).start();
    h = makeHome();
    env = joggEnv(h, fake.url, { LIPSYNC_REQUEST_TIMEOUT_SECONDS: '20' });
  });
  after(async () => {
    await fake.close();
    assert.deepEqual(leaks(texts.join('\n')), []);
    assert.deepEqual(leaksInTree(h.root), []);
  });

  /** Runs the CLI, kills it with SIGKILL as soon as the fake sees `route`, then re-runs it. */
  const killAt = async (seed: number, route: string, kind: 'hang' | 'acceptThenHang' = 'hang') => {
    const p = mediaPair(h.media, seed);
    const args = ['run', '--video', p.video, '--audio', p.audio, '--provider', 'jogg', '--no-poll'];
    const [method, path] = route.split(' ') as [string, string];
    fake.faults.push({ route, kind });
    const from = fake.log.length;
    let child: ChildProcess | undefined;
    const first = runCli(env, args, (c) => {
      child = c;
    });
    await fake.waitFor((s) => fake.log.indexOf(s) >= from && s.method === method && s.path.startsWith(path));
    child?.kill('SIGKILL');
    const r1 = await first;
    assert.equal(r1.signal, 'SIGKILL');
    fake.faults.length = 0;
    const r2 = await runCli(env, args);
    texts.push(r1.stdout, r1.stderr, r2.stdout, r2.stderr);
    return { r2, out: lastJson(r2.stdout), err: lastJson(r2.stderr) };
  };

  test('killed during the first upload: the re-run creates exactly one job', async () => {
    const c = fake.creates;
    const { r2, out } = await killAt(201, 'POST /v2/upload/asset');
    assert.equal(r2.code, 0, r2.stderr.slice(-800));
    assert.equal(fake.creates - c, 1);
    assert.match(String(out.task_id), /\S/);
  });

  test('killed while the signed PUT hangs: the re-run creates exactly one job', async () => {
    const c = fake.creates;
    const { r2 } = await killAt(202, 'PUT /signed/');
    assert.equal(r2.code, 0, r2.stderr.slice(-800));
    assert.equal(fake.creates - c, 1);
  });

  test('killed during the latest-matching query: the re-run creates exactly one job', async () => {
    const c = fake.creates;
    const { r2 } = await killAt(203, 'GET /v2/lip_sync_video');
    assert.equal(r2.code, 0, r2.stderr.slice(-800));
    assert.equal(fake.creates - c, 1);
  });

  test('killed after Jogg accepted the create but before the answer: the re-run finds it, no second create', async () => {
    const c = fake.creates;
    const { out, r2 } = await killAt(204, CREATE, 'acceptThenHang');
    assert.equal(fake.creates - c, 1, 'paid exactly once');
    assert.equal(fake.count('POST', '/v2/create_lip_sync_video') - c, 1, r2.stderr.slice(-1500));
    assert.match(String(out.task_id ?? ''), /\S/, r2.stdout + r2.stderr.slice(-600));
  });

  test('killed while the create request was in flight and never accepted: re-run does not silently pay again', async () => {
    const n = fake.count('POST', '/v2/create_lip_sync_video');
    const { out, err, r2 } = await killAt(205, CREATE, 'hang');
    const resent = fake.count('POST', '/v2/create_lip_sync_video') - n - 1;
    // The create may or may not have been received: the product must not resend it on its own.
    assert.equal(resent, 0, `create resent: ${r2.stdout} ${r2.stderr.slice(-600)}`);
    assert.ok(out.status === 'unknown' || err.code !== undefined, r2.stdout + r2.stderr.slice(-600));
  });

  test('killed while polling after a create: re-run reuses the same task', async () => {
    const p = mediaPair(h.media, 206);
    const args = ['run', '--video', p.video, '--audio', p.audio, '--provider', 'jogg', '--poll'];
    fake.finishAfter = 100;
    const from = fake.log.length;
    let child: ChildProcess | undefined;
    const first = runCli(env, [...args, '--poll-interval-seconds', '1'], (c) => {
      child = c;
    });
    await fake.waitFor((s) => fake.log.indexOf(s) >= from && /^\/v2\/lip_sync_video\/.+/.test(s.path));
    child?.kill('SIGKILL');
    await first;
    const c = fake.creates;
    const r2 = await runCli(env, [
      'run',
      '--video',
      p.video,
      '--audio',
      p.audio,
      '--provider',
      'jogg',
      '--no-poll',
    ]);
    fake.finishAfter = 2;
    texts.push(r2.stdout, r2.stderr);
    assert.equal(fake.creates, c);
    assert.equal(lastJson(r2.stdout).reused, true, r2.stdout);
  });
});

describe('several processes at once', () => {
  let fake: JoggFake;
  let h: Home;
  let env: Record<string, string>;
  before(async () => {
    fake = await new JoggFake(CANARY.jogg).start();
    h = makeHome();
    env = joggEnv(h, fake.url);
  });
  after(async () => {
    await fake.close();
  });

  test('four CLI processes with identical inputs: one create, one task id', async () => {
    const p = mediaPair(h.media, 301);
    const args = ['run', '--video', p.video, '--audio', p.audio, '--provider', 'jogg', '--no-poll'];
    const rs = await Promise.all([1, 2, 3, 4].map(() => runCli(env, args)));
    const ids = new Set(rs.map((r) => lastJson(r.stdout).task_id));
    assert.equal(fake.creates, 1, rs.map((r) => r.stdout + r.stderr.slice(-300)).join('\n---\n'));
    assert.equal(ids.size, 1, [...ids].join(','));
    for (const r of rs) assert.equal(r.code, 0);
  });

  test('the same inputs copied to different paths in four processes: one create', async () => {
    const ps = [1, 2, 3, 4].map((i) => mediaPair(h.media, 302, `copy${i}`));
    const rs = await Promise.all(
      ps.map((p) =>
        runCli(env, ['run', '--video', p.video, '--audio', p.audio, '--provider', 'jogg', '--no-poll']),
      ),
    );
    assert.equal(fake.creates, 2, rs.map((r) => r.stdout).join('\n'));
  });

  test('two stdio servers on one ledger, concurrent identical calls: one create', async () => {
    const p = mediaPair(h.media, 303);
    const [a, b] = await Promise.all([startMcp(env), startMcp(env)]);
    try {
      const rs = await Promise.all([
        call(a, 'create_lip_sync', { ...p, provider: 'jogg' }),
        call(b, 'create_lip_sync', { ...p, provider: 'jogg' }),
        call(a, 'create_lip_sync', { ...p, provider: 'jogg' }),
        call(b, 'create_lip_sync', { ...p, provider: 'jogg' }),
      ]);
      assert.equal(new Set(rs.map((r) => r.data.task_id)).size, 1, rs.map((r) => r.text).join('\n'));
      assert.equal(fake.creates, 3);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});

describe('restart recovery', () => {
  let fake: JoggFake;
  let h: Home;
  let env: Record<string, string>;
  before(async () => {
    fake = await new JoggFake(CANARY.jogg).start();
    h = makeHome();
    env = joggEnv(h, fake.url);
  });
  after(async () => {
    await fake.close();
  });

  test('a task created by a server that exits is listed and followed to success by the next one', async () => {
    const p = mediaPair(h.media, 401);
    const a = await startMcp(env);
    const r = await call(a, 'create_lip_sync', { ...p, provider: 'jogg' });
    await a.close();
    fake.finishAfter = 1;
    const b = await startMcp(env);
    try {
      const l = await call(b, 'list_tasks', {});
      assert.match(l.text, new RegExp(String(r.data.task_id)));
      const s = await call(b, 'get_task_status', { task_id: r.data.task_id, wait_seconds: 0 });
      assert.equal(s.data.status, 'success', s.text);
    } finally {
      await b.close();
      fake.finishAfter = 2;
    }
  });

  test('a server SIGKILLed while its create hangs leaves the task visible (unknown), and a restart does not resend it', async () => {
    const p = mediaPair(h.media, 402);
    const e = { ...env, LIPSYNC_REQUEST_TIMEOUT_SECONDS: '30' };
    const a = await startMcp(e);
    fake.faults.push({ route: CREATE, kind: 'hang' });
    const n = fake.count('POST', '/v2/create_lip_sync_video');
    const pending = call(a, 'create_lip_sync', { ...p, provider: 'jogg' }).catch(() => undefined);
    await fake.waitFor(
      (s) =>
        s.path === '/v2/create_lip_sync_video' &&
        fake.log.indexOf(s) >= 0 &&
        fake.count('POST', '/v2/create_lip_sync_video') > n,
    );
    a.proc?.kill('SIGKILL');
    await pending;
    fake.faults.length = 0;
    const b = await startMcp(env);
    try {
      const l = await call(b, 'list_tasks', {});
      const tasks = (l.data.tasks ?? []) as Array<Record<string, unknown>>;
      assert.ok(tasks.length >= 1, l.text);
      const again = await call(b, 'create_lip_sync', { ...p, provider: 'jogg' });
      assert.equal(fake.count('POST', '/v2/create_lip_sync_video') - n, 1, again.text);
    } finally {
      await b.close();
    }
  });

  test('CLI run --task-id after a restart queries the task', async () => {
    const p = mediaPair(h.media, 403);
    const r1 = await runCli(env, [
      'run',
      '--video',
      p.video,
      '--audio',
      p.audio,
      '--provider',
      'jogg',
      '--no-poll',
    ]);
    const id = String(lastJson(r1.stdout).task_id);
    const r2 = await runCli(env, ['run', '--task-id', id]);
    const o = lastJson(r2.stdout);
    assert.equal(o.task_id, id, r2.stdout + r2.stderr.slice(-500));
    assert.equal(o.action, 'queried_task');
  });
});

describe('CLI errors are one JSON line, never a stack, never a secret', () => {
  let h: Home;
  before(() => {
    h = makeHome();
  });

  test('missing Jogg key: exit 1, missing_credentials, names the key and the pricing page, no network', async () => {
    const p = mediaPair(h.media, 501);
    const r = await runCli({ ...h.env, JOGG_BASE_URL: 'http://127.0.0.1:9' }, [
      'run',
      '--video',
      p.video,
      '--audio',
      p.audio,
      '--provider',
      'jogg',
      '--no-poll',
    ]);
    const e = lastJson(r.stderr);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(e.code, 'missing_credentials');
    assert.equal(e.missing_key, 'JOGG_API_KEY');
    assert.match(r.stderr, /jogg\.ai\/api-pricing/);
    assert.equal(r.stdout.trim(), '');
  });

  test('an unsubstituted template key counts as missing and says so', async () => {
    const p = mediaPair(h.media, 502);
    const r = await runCli({ ...h.env, JOGG_API_KEY: `\${JOGG_API_KEY}` }, [
      'run',
      '--video',
      p.video,
      '--audio',
      p.audio,
      '--provider',
      'jogg',
      '--no-poll',
    ]);
    assert.equal(lastJson(r.stderr).code, 'missing_credentials', r.stderr);
    assert.match(r.stderr, /template|substitut|\$\{/i);
  });

  test('an unknown flag: exit 2 with usage', async () => {
    const r = await runCli(h.env, ['run', '--vdeo', 'x']);
    assert.equal(r.code, 2);
    assert.equal(lastJson(r.stderr).code, 'invalid_input', r.stderr);
  });

  test('a non-numeric --max-wait-seconds: exit 2', async () => {
    const r = await runCli(h.env, ['run', '--task-id', 'x', '--max-wait-seconds', 'soon']);
    assert.equal(r.code, 2, r.stderr);
  });

  test('an unreachable Jogg (refused port): exit 1, unavailable, no stack, key not printed', async () => {
    const p = mediaPair(h.media, 503);
    const r = await runCli({ ...h.env, JOGG_API_KEY: CANARY.jogg, JOGG_BASE_URL: 'http://127.0.0.1:9' }, [
      'run',
      '--video',
      p.video,
      '--audio',
      p.audio,
      '--provider',
      'jogg',
      '--no-poll',
    ]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.ok(['unavailable', 'timeout'].includes(String(lastJson(r.stderr).code)), r.stderr.slice(-500));
    assert.ok(!STACK.test(r.stderr), r.stderr.slice(-1500));
    assert.deepEqual(leaks(r.stdout + r.stderr), []);
  });

  test('a Jogg base URL with the key in it is not echoed', async () => {
    const p = mediaPair(h.media, 504);
    const r = await runCli(
      { ...h.env, JOGG_API_KEY: CANARY.jogg, JOGG_BASE_URL: `http://u:${CANARY.http}@127.0.0.1:9` },
      ['run', '--video', p.video, '--audio', p.audio, '--provider', 'jogg', '--no-poll'],
    );
    assert.deepEqual(leaks(r.stdout + r.stderr), []);
  });

  test('doctor --json shows where keys came from without their values', async () => {
    const r = await runCli({ ...h.env, JOGG_API_KEY: CANARY.jogg, GATEWAY_TOKEN: CANARY.gateway }, [
      'doctor',
      '--json',
    ]);
    assert.deepEqual(leaks(r.stdout + r.stderr), []);
    assert.ok(r.stdout.includes('jogg'), r.stdout);
  });
});
