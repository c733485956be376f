// tools/call against the shipped bundle, where tools/list comes from a generated catalog and each tool
// module is imported on its first call: hostile arguments, first calls racing each other, calls before
// the handshake ends, a cancel or a kill while a tool first loads, and a restart after it.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TOOL_CATALOG } from '../../tools/catalog.js';
import { BIN, Raw, type RpcMsg, resultText, structured } from './bundle-helpers.js';
import { JoggFake } from './fakes/jogg.js';
import { CANARY, type Home, joggEnv, leaks, leaksInTree, makeHome, mediaPair, STACK } from './helpers.js';

const CREATE = '/v2/create_lip_sync_video';

/** A tool error the way an MCP client shows it: isError with a readable text, no stack, no secret. */
function assertToolError(a: RpcMsg, re: RegExp): void {
  assert.equal(a.error, undefined, `JSON-RPC error instead of a tool error: ${JSON.stringify(a.error)}`);
  assert.equal(a.result?.isError, true, JSON.stringify(a));
  const t = resultText(a);
  assert.match(t, re);
  assert.doesNotMatch(t, STACK);
  assert.deepEqual(leaks(t), []);
}

describe('bundle tools/call: hostile arguments (offline)', () => {
  let h: Home;
  let s: Raw;
  before(async () => {
    h = makeHome({ JOGG_API_KEY: CANARY.jogg, JOGG_BASE_URL: 'http://127.0.0.1:9' });
    s = new Raw(BIN, h.env);
    await s.init();
  });
  after(async () => {
    Raw.killAll();
    await s.close();
    assert.deepEqual(s.badLines, [], 'stdout carried something that is not JSON-RPC');
    assert.deepEqual(leaks(s.err + s.lines.join('\n')), []);
  });

  test('unknown tools, including Object.prototype names, are JSON-RPC errors -32602 naming the tool (MCP 2025-11-25: a protocol error)', async () => {
    let id = 100;
    for (const name of [
      'nope',
      '__proto__',
      'constructor',
      'toString',
      'hasOwnProperty',
      'CREATE_LIP_SYNC',
      '',
    ]) {
      const a = await s.call(id++, name, {});
      assert.equal(a.result, undefined, `a tool result instead of a protocol error: ${JSON.stringify(a)}`);
      assert.equal(a.error?.code, -32602, JSON.stringify(a));
      // SDK 1.x wrote protocol errors as `MCP error -32602: …`, v2 as the message alone.
      assert.match(a.error?.message ?? '', new RegExp(`^(MCP error -32602: )?Unknown tool: ${name}$`));
      assert.doesNotMatch(a.error?.message ?? '', STACK);
    }
    const still = await s.call(id++, 'list_tasks', {});
    assert.notEqual(still.result?.isError, true, resultText(still));
  });

  test('wrong types, missing and extra arguments: isError naming the argument, server keeps serving', async () => {
    assertToolError(await s.call(200, 'list_tasks', { limit: 'ten' }), /limit/);
    assertToolError(await s.call(201, 'create_lip_sync', {}), /audio/);
    assertToolError(await s.call(202, 'get_task_status', { task_id: 42 }), /task_id/);
    assertToolError(await s.call(203, 'create_lip_sync', { audio: { a: 1 }, video: ['x'] }), /audio|video/);
    assertToolError(
      await s.call(204, 'get_task_status', { wait_seconds: 1e9, task_id: 'x' }),
      /wait_seconds/,
    );
    const extra = await s.call(205, 'list_tasks', { bogus: true, also: [1, 2, 3] });
    assert.equal(extra.error, undefined);
    assert.notEqual(extra.result?.isError, true, resultText(extra));
  });

  test('arguments null / array / string / missing: a protocol error or an isError result, never a stack', async () => {
    for (const [i, args] of ([null, [1, 2], 'str', 7] as unknown[]).entries()) {
      const a = await s.call(300 + i, 'list_tasks', args);
      if (a.error) {
        assert.ok([-32602, -32603, -32600].includes(a.error.code), JSON.stringify(a.error));
        assert.doesNotMatch(a.error.message, STACK);
      } else assert.equal(a.result?.isError, true, JSON.stringify(a));
    }
    s.send({ id: 310, method: 'tools/call', params: { name: 'list_tasks' } });
    const none = await s.answer(310);
    assert.ok(none.error === undefined, 'no arguments is allowed by MCP');
    const still = await s.call(311, 'list_tasks', {});
    assert.notEqual(still.result?.isError, true, resultText(still));
  });

  test('__proto__ / constructor keys do not pollute or crash; the next call is unaffected', async () => {
    s.send(
      '{"jsonrpc":"2.0","id":400,"method":"tools/call","params":{"name":"list_tasks","arguments":{"__proto__":{"limit":"x","isError":true},"constructor":{"prototype":{"polluted":1}}}}}',
    );
    const a = await s.answer(400);
    assert.equal(a.error, undefined);
    const b = await s.call(401, 'get_task_status', { task_id: 'no-such', constructor: 'x', __proto__: null });
    assertToolError(b, /task/i);
    const c = await s.call(402, 'list_tasks', {});
    assert.notEqual(c.result?.isError, true, resultText(c));
    assert.deepEqual(structured(c).tasks, []);
  });

  test('huge and deeply nested arguments are refused readably, and the server stays up', async () => {
    assertToolError(
      await s.call(500, 'create_lip_sync', { audio: 'a'.repeat(3_000_000), video: '/x' }),
      /audio/,
    );
    s.send(
      `{"jsonrpc":"2.0","id":501,"method":"tools/call","params":{"name":"create_lip_sync","arguments":{"audio":${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}}}}`,
    );
    const deep = await s.answer(501);
    assert.ok(deep.error || deep.result?.isError, JSON.stringify(deep).slice(0, 300));
    assert.doesNotMatch(JSON.stringify(deep), STACK);
    s.send(
      `{"jsonrpc":"2.0","id":502,"method":"tools/call","params":{"name":"list_tasks","arguments":{"x":${'['.repeat(200_000)}${']'.repeat(200_000)}}}}`,
    );
    await s.answer(502);
    const keys: Record<string, number> = {};
    for (let i = 0; i < 50_000; i++) keys[`k${i}`] = i;
    await s.call(503, 'list_tasks', keys);
    const ok = await s.call(504, 'check_credits', { provider: 'local' });
    assert.notEqual(ok.result?.isError, true, resultText(ok));
  });
});

describe('bundle tools/call: first calls right after start', () => {
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
    Raw.killAll();
    await fake.close();
    assert.deepEqual(leaks(texts.join('\n')), []);
    assert.deepEqual(leaksInTree(h.root), []);
  });

  test('every catalog tool, called first and all at once right after initialize: every call is answered', async () => {
    const s = new Raw(BIN, env);
    await s.init();
    const ids = TOOL_CATALOG.map((t, i) => {
      s.send({ id: 1000 + i, method: 'tools/call', params: { name: t.name, arguments: {} } });
      return 1000 + i;
    });
    const answers = await Promise.all(ids.map((id) => s.answer(id)));
    for (const [i, a] of answers.entries()) {
      assert.equal(a.error, undefined, `${TOOL_CATALOG[i]?.name}: ${JSON.stringify(a.error)}`);
      assert.doesNotMatch(resultText(a), STACK);
      assert.doesNotMatch(resultText(a), /Cannot find module|is not a function|undefined is not|import/i);
    }
    await s.close();
    texts.push(s.err, ...s.lines);
    assert.deepEqual(s.badLines, []);
  });

  test('12 identical first create_lip_sync calls at once (jogg): one paid create, one task id', {}, async () => {
    const p = mediaPair(h.media, 601);
    const s = new Raw(BIN, env);
    await s.init();
    const c0 = fake.creates;
    const ids = Array.from({ length: 12 }, (_, i) => 2000 + i);
    for (const id of ids)
      s.send({
        id,
        method: 'tools/call',
        params: { name: 'create_lip_sync', arguments: { video: p.video, audio: p.audio, provider: 'jogg' } },
      });
    const answers = await Promise.all(ids.map((id) => s.answer(id)));
    const taskIds = new Set(answers.map((a) => String(structured(a).task_id)));
    assert.equal(taskIds.size, 1, answers.map(resultText).join('\n'));
    assert.equal(fake.creates - c0, 1, resultText(answers[0] ?? {}));
    await s.close();
    texts.push(s.err, ...s.lines);
  });

  test('tools/call before notifications/initialized and before initialize: answered, nothing garbled', async () => {
    const s = new Raw(BIN, env);
    s.send({ id: 1, method: 'tools/call', params: { name: 'list_tasks', arguments: {} } });
    const early = await s.answer(1);
    assert.ok(early.result || early.error, JSON.stringify(early));
    await s.init(false);
    const mid = await s.call(2, 'check_credits', { provider: 'local' });
    assert.ok(mid.result || mid.error, JSON.stringify(mid));
    s.send({ method: 'notifications/initialized' });
    const late = await s.call(3, 'list_tasks', {});
    assert.notEqual(late.result?.isError, true, resultText(late));
    await s.close();
    texts.push(s.err, ...s.lines);
    assert.deepEqual(s.badLines, []);
  });

  test('a first create cancelled while its tool loads: the server keeps answering; a retry pays at most once', {}, async () => {
    const p = mediaPair(h.media, 602);
    const s = new Raw(BIN, env);
    await s.init();
    const c0 = fake.creates;
    const args = { video: p.video, audio: p.audio, provider: 'jogg' };
    s.send({ id: 10, method: 'tools/call', params: { name: 'create_lip_sync', arguments: args } });
    s.send({ method: 'notifications/cancelled', params: { requestId: 10, reason: 'user' } });
    const again = await s.call(11, 'create_lip_sync', args);
    assert.notEqual(again.result?.isError, true, resultText(again) + s.err.slice(-1500));
    const again2 = await s.call(12, 'create_lip_sync', args);
    assert.equal(structured(again2).task_id, structured(again).task_id);
    assert.equal(structured(again2).reused, true);
    assert.equal(fake.creates - c0, 1);
    await s.close();
    texts.push(s.err, ...s.lines);
  });

  for (const sig of ['SIGKILL', 'SIGTERM'] as const) {
    test(`${sig} while the first create is at Jogg (accepted, answer pending): after restart the job is listed and not paid twice`, {}, async () => {
      const p = mediaPair(h.media, sig === 'SIGKILL' ? 603 : 604);
      const args = { video: p.video, audio: p.audio, provider: 'jogg' };
      const from = fake.log.length;
      fake.faults.push({ route: `POST ${CREATE}`, kind: 'acceptThenHang' });
      const c0 = fake.creates;
      const s = new Raw(BIN, env);
      await s.init();
      s.send({ id: 10, method: 'tools/call', params: { name: 'create_lip_sync', arguments: args } });
      // Whichever comes first: the fake sees the create (then kill), or the call answers (then it never got there).
      const first = await Promise.race([
        fake
          .waitFor((x) => fake.log.indexOf(x) >= from && x.method === 'POST' && x.path === CREATE)
          .then(() => 'seen')
          .catch(() => 'the fake never saw the create'),
        s
          .answer(10)
          .then((a) => `answered first: ${resultText(a)}`)
          .catch(() => new Promise<string>(() => undefined)),
      ]);
      if (first !== 'seen') {
        s.proc.kill('SIGKILL');
        await s.exited;
        fake.faults.length = 0;
        assert.fail(first);
      }
      s.proc.kill(sig);
      await s.exited;
      texts.push(s.err, ...s.lines);
      fake.faults.length = 0;
      assert.equal(fake.creates - c0, 1, 'the fake accepted the create');

      const r = new Raw(BIN, env);
      await r.init();
      const list = await r.call(20, 'list_tasks', { provider: 'jogg', limit: 50 });
      const tasks = (structured(list).tasks ?? []) as Array<Record<string, unknown>>;
      assert.ok(tasks.length > 0, `the job was lost: ${resultText(list)}`);
      const again = await r.call(21, 'create_lip_sync', args);
      assert.doesNotMatch(resultText(again), STACK);
      const again2 = await r.call(22, 'create_lip_sync', args);
      assert.equal(fake.creates - c0, 1, `paid twice: ${resultText(again)} / ${resultText(again2)}`);
      assert.equal(
        fake.count('POST', CREATE) - fake.log.slice(0, from).filter((x) => x.path === CREATE).length,
        1,
      );
      await r.close();
      texts.push(r.err, ...r.lines);
      assert.deepEqual(r.badLines, []);
    });
  }
});
