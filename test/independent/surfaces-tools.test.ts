// Issue 24, surfaces 7, 8 and 10: schema errors as invalid_input tool results, provider_task_id with path
// characters (never reaches the provider), and a crash between "create accepted" and "answer recorded".
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { Raw, resultText, structured } from './bundle-helpers.js';
import { JoggFake } from './fakes/jogg.js';
import { CANARY, call, type Home, joggEnv, lastJson, makeHome, mediaPair, runCli } from './helpers.js';
import { BIN, type BinMcp, rpcError, startBin, toolError } from './surfaces-helpers.js';

const CREATE = '/v2/create_lip_sync_video';

describe('schema errors and provider_task_id (stdio, jogg fake)', () => {
  let fake: JoggFake;
  let h: Home;
  let env: Record<string, string>;
  let m: BinMcp;
  let pair: { video: string; audio: string };
  before(async () => {
    fake = await new JoggFake(CANARY.jogg).start();
    h = makeHome();
    env = joggEnv(h, fake.url);
    m = await startBin(env);
    pair = mediaPair(h.media, 7);
  });
  after(async () => {
    await m.close();
    await fake.close();
    rmSync(h.root, { recursive: true, force: true });
  });

  const BAD: Array<[string, string, Record<string, unknown>, string]> = [
    ['wrong type', 'list_tasks', { limit: 'x' }, 'limit'],
    ['wrong type (number for string)', 'get_task_status', { task_id: 42 }, 'task_id'],
    [
      'unknown enum value',
      'create_lip_sync',
      { video: '/v.mp4', audio: '/a.wav', provider: 'acme' },
      'provider',
    ],
    [
      'unknown enum value',
      'create_lip_sync',
      { video: '/v.mp4', audio: '/a.wav', playback_type: 'sideways' },
      'playback_type',
    ],
    ['dry_run: "yes"', 'create_lip_sync', { video: '/v.mp4', audio: '/a.wav', dry_run: 'yes' }, 'dry_run'],
    ['missing required', 'create_lip_sync', { video: '/v.mp4' }, 'audio'],
    ['missing required', 'download_result', {}, 'task_id'],
    ['extra field', 'check_credits', { provider: 'jogg', bogus_field: 1 }, 'bogus_field'],
    ['over-long string', 'get_task_status', { task_id: 't'.repeat(100_000) }, 'task_id'],
    ['wrong type (array)', 'generate_video', { prompt: ['a', 'b'] }, 'prompt'],
    ['negative wait', 'get_task_status', { task_id: 'x', wait_seconds: -5 }, 'wait_seconds'],
  ];
  // Unknown arguments are still dropped, as the SDK and JSON Schema's default do (clients' models add
  // harmless extras); refusing them is a decision of its own, kept open in the closing note of issue 24.
  const OPEN: Record<string, string> = {
    'extra field': 'unknown arguments are dropped, not refused (open decision, see issue 24 note)',
  };
  for (const [what, tool, args, arg] of BAD) {
    test(`${tool} with ${what} (${arg}) is an invalid_input tool result naming ${arg}`, {
      todo: OPEN[what],
    }, async () => {
      const n = fake.log.length;
      const r = await call(m, tool, args, 15_000);
      assert.equal(r.isError, true, `accepted: ${r.text.slice(0, 300)}`);
      const e = toolError(r);
      assert.equal(
        e.code,
        'invalid_input',
        `expected JSON {error:{code:"invalid_input"}}, got ${r.text.slice(0, 300)}`,
      );
      assert.ok(e.message && e.hint, `message and hint expected: ${r.text.slice(0, 300)}`);
      assert.match(
        `${e.message} ${e.hint}`,
        new RegExp(arg),
        `the error does not name ${arg}: ${r.text.slice(0, 300)}`,
      );
      assert.ok(r.text.length < 5000, `the error is ${r.text.length} chars (echoes the input?)`);
      assert.equal(fake.log.length, n, 'the provider was contacted');
    });
  }

  test('an unknown tool name is a JSON-RPC protocol error, not a tool result', async () => {
    const e = await rpcError('unknown tool', m.client.callTool({ name: 'no_such_tool', arguments: {} }));
    assert.equal(e.code, -32602, `expected -32602, got ${e.code}: ${e.message}`);
  });

  const IDS = [
    '../x',
    'a/b',
    '%2e%2e',
    '..%2fx',
    '?q=1',
    'x#frag',
    'a b',
    'x\u0000y',
    'x\ny',
    'x\ty',
    'p'.repeat(10_000),
  ];
  for (const id of IDS) {
    test(`get_task_status {provider: jogg, provider_task_id: ${JSON.stringify(id.slice(0, 20))}} is invalid_input, nothing sent`, async () => {
      const n = fake.log.length;
      const r = await call(m, 'get_task_status', { provider: 'jogg', provider_task_id: id }, 15_000);
      assert.equal(
        fake.log.length,
        n,
        `a request reached the fake: ${fake.log
          .slice(n)
          .map((x) => x.path.slice(0, 80))
          .join(', ')}`,
      );
      assert.equal(r.isError, true, `accepted: ${r.text.slice(0, 300)}`);
      assert.equal(toolError(r).code, 'invalid_input', r.text.slice(0, 300));
    });
  }

  for (const id of ['../x', 'a/b', '%2e%2e', '?q=1', 'x#frag', 'a b', 'p'.repeat(10_000)]) {
    test(`CLI run --task-id ${JSON.stringify(id.slice(0, 20))} --provider jogg is invalid_input, nothing sent`, async () => {
      const n = fake.log.length;
      const r = await runCli(env, ['run', '--task-id', id, '--provider', 'jogg', '--no-poll']);
      assert.equal(
        fake.log.length,
        n,
        `a request reached the fake: ${fake.log
          .slice(n)
          .map((x) => x.path.slice(0, 80))
          .join(', ')}`,
      );
      assert.notEqual(r.code, 0, `exit 0: ${r.stdout.slice(0, 300)}`);
      const e = lastJson(r.stderr);
      assert.equal(e.code, 'invalid_input', `last stderr line: ${r.stderr.slice(-400)}`);
    });
  }

  test('a well-formed provider_task_id still reaches the provider (control)', async () => {
    const c = await call(m, 'create_lip_sync', { ...pair, provider: 'jogg' });
    assert.equal(c.isError, false, c.text);
    const r = await call(m, 'get_task_status', {
      provider: 'jogg',
      provider_task_id: String(c.data.provider_task_id),
    });
    assert.equal(r.isError, false, r.text);
  });
});

describe('crash between "create accepted" and "answer recorded" (SIGKILL, jogg)', () => {
  let fake: JoggFake;
  let h: Home;
  let env: Record<string, string>;
  before(async () => {
    fake = await new JoggFake(CANARY.jogg).start();
    fake.finishAfter = 1000;
    h = makeHome();
    env = joggEnv(h, fake.url);
  });
  after(async () => {
    Raw.killAll();
    await fake.close();
    rmSync(h.root, { recursive: true, force: true });
  });

  /** Starts a create that the fake accepts but never answers, waits for the fake to see it, SIGKILLs. */
  const crash = async (args: Record<string, unknown>) => {
    const from = fake.log.length;
    fake.faults.push({ route: `POST ${CREATE}`, kind: 'acceptThenHang' });
    const s = new Raw(BIN, env);
    await s.init();
    s.send({ id: 10, method: 'tools/call', params: { name: 'create_lip_sync', arguments: args } });
    await fake.waitFor(
      (x) => fake.log.indexOf(x) >= from && x.method === 'POST' && x.path === CREATE,
      30_000,
    );
    s.proc.kill('SIGKILL');
    await s.exited;
    fake.faults.length = 0;
  };

  for (const reask of ['create_lip_sync', 'get_task_status'] as const) {
    test(`after restart, the first ${reask} answers the real task (reconciled), not unknown, and never a second create`, async () => {
      const p = mediaPair(h.media, reask === 'create_lip_sync' ? 31 : 32);
      const args = { video: p.video, audio: p.audio, provider: 'jogg' };
      const c0 = fake.creates;
      await crash(args);
      assert.equal(fake.creates - c0, 1, 'the fake accepted one create');
      const real = fake.tasks.at(-1)!.task_id;
      const r = new Raw(BIN, env);
      await r.init();
      let first: Record<string, unknown>;
      if (reask === 'create_lip_sync') {
        first = structured(await r.call(20, 'create_lip_sync', args));
      } else {
        const list = structured(await r.call(20, 'list_tasks', { provider: 'jogg', limit: 50 }));
        const tasks = (list.tasks ?? []) as Array<Record<string, unknown>>;
        const ours = tasks.find((t) => t.status === 'unknown' || t.provider_task_id === real) ?? tasks[0];
        assert.ok(ours, `the job was lost: ${JSON.stringify(list).slice(0, 300)}`);
        const a = await r.call(21, 'get_task_status', { task_id: ours.task_id });
        first = structured(a);
        assert.ok(first.status, resultText(a).slice(0, 300));
      }
      assert.notEqual(
        first.status,
        'unknown',
        `first re-ask answered unknown: ${JSON.stringify(first).slice(0, 400)}`,
      );
      assert.equal(
        first.provider_task_id,
        real,
        `not reconciled to the real task ${real}: ${JSON.stringify(first).slice(0, 400)}`,
      );
      assert.equal(fake.creates - c0, 1, 'paid twice');
      await r.close();
    });
  }
});
