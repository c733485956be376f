/**
 * Attack: change notifications on the stateless face (PostgreSQL). 2026-07-28 `subscriptions/listen`
 * (Streamable HTTP: the ack lists "the subset the server accepted"; ext-tasks: taskIds without the
 * extension declared MUST be refused with -32021) and 2025 `resources/subscribe`, which README says has
 * no stream in stateless mode. Bounds: README (LIPSYNC_MAX_SUBSCRIPTIONS, "each to a task in the ledger")
 * and the house rule that every subscription has a bound.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type FakeDirector, startFakeDirector } from '../fakes/director/index.js';
import { type PgTestDatabase, pgSkip, pgTestDatabase } from '../helpers/pg.js';
import { within } from '../helpers/wait.js';
import {
  ackOf,
  call26,
  listen,
  parseMessages,
  post,
  rpcResult,
  type Served,
  serve,
  TASKS_EXT,
  V25,
} from './serve.js';

describe('subscriptions on the stateless face (PostgreSQL)', { skip: pgSkip }, () => {
  let director: FakeDirector;
  let db: PgTestDatabase;
  let s: Served;
  let known: string;

  before(async () => {
    director = await startFakeDirector();
    director.faults.stall = true;
    db = await pgTestDatabase('attack_subs');
    s = await serve({
      LIPSYNC_DATABASE_URL: db.url,
      GATEWAY_TOKEN: director.token,
      DIRECTOR_GATEWAY_URL: director.url,
      LIPSYNC_MAX_SUBSCRIPTIONS: '5',
    });
    const a = await call26(s.url, 1, 'tools/call', {
      name: 'generate_image',
      arguments: { prompt: 'a red kite over a beach', confirm: true },
    });
    known = rpcResult<{ structuredContent: { task_id: string } }>(a).structuredContent.task_id;
    assert.ok(known, a.text.slice(0, 300));
  });
  after(async () => {
    await s?.stop();
    await db?.drop();
    await director?.close();
  });

  test('2026 listen on a task in the ledger is acknowledged with that task', async () => {
    const r = await listen(s.url, 2, { resourceSubscriptions: [`lipsync://tasks/${known}`] });
    assert.equal(r.status, 200, r.text.slice(0, 300));
    assert.deepEqual(
      ackOf(r.messages)?.resourceSubscriptions,
      [`lipsync://tasks/${known}`],
      r.text.slice(0, 300),
    );
  });

  for (const uri of ['file:///etc/passwd', 'http://example.com/x', 'not a uri', '']) {
    test(`2026 listen with a URI that names no task (${JSON.stringify(uri)}): -32602 in words, not HTTP 500`, async () => {
      const r = await listen(s.url, 30, { resourceSubscriptions: [uri] }, {}, (m) => m.length > 0);
      assert.ok(r.status < 500, `HTTP ${r.status}: ${r.text.slice(0, 300)}`);
      const ack = ackOf(r.messages);
      if (ack) {
        assert.ok(!(ack.resourceSubscriptions ?? []).includes(uri), `acked ${uri}`);
        return;
      }
      const err = r.messages.find((m) => m.error)?.error as { code: number; message: string } | undefined;
      assert.equal(err?.code, -32602, r.text.slice(0, 300));
      assert.match(err?.message ?? '', /lipsync:\/\/tasks/);
    });
  }

  test('2026 listen: a task that is not in the ledger is left out of the acknowledgement (the subset accepted)', async () => {
    const r = await listen(s.url, 3, {
      resourceSubscriptions: [`lipsync://tasks/${known}`, 'lipsync://tasks/not-in-the-ledger'],
    });
    const acked = ackOf(r.messages)?.resourceSubscriptions ?? [];
    assert.ok(acked.includes(`lipsync://tasks/${known}`), r.text.slice(0, 300));
    assert.ok(!acked.includes('lipsync://tasks/not-in-the-ledger'), `acked: ${JSON.stringify(acked)}`);
  });

  test('2026 listen with 20 000 resource URIs is bounded (LIPSYNC_MAX_SUBSCRIPTIONS=5 here) or refused in words', async () => {
    const uris = Array.from({ length: 20_000 }, (_, i) => `lipsync://tasks/t${i}`);
    const r = await listen(s.url, 4, { resourceSubscriptions: uris }, {}, (m) => m.length > 0);
    assert.ok(r.status < 500, `${r.status} ${r.text.slice(0, 200)}`);
    const err = r.messages.find((m) => m.error);
    if (err) return;
    const acked = ackOf(r.messages)?.resourceSubscriptions ?? [];
    assert.ok(acked.length <= 5, `one listen stream holds ${acked.length} subscriptions`);
  });

  test('2026 listen asking for taskIds without declaring the tasks extension: -32021 (ext-tasks: MUST)', async () => {
    const r = await listen(s.url, 5, { taskIds: [known] }, {}, (m) => m.some((x) => x.error || x.result));
    const err = r.messages.find((m) => m.error)?.error as { code: number; data?: unknown } | undefined;
    assert.ok(err, `no error: ${r.text.slice(0, 400)}`);
    assert.equal(err.code, -32021);
    assert.ok(JSON.stringify(err.data).includes(TASKS_EXT));
  });

  test('2026 listen for taskIds with the extension declared is acknowledged (the subset it agrees to, if any) and never errs', async () => {
    const r = await listen(s.url, 6, { taskIds: [known, 'not-a-task'] }, { extensions: { [TASKS_EXT]: {} } });
    assert.equal(r.status, 200, r.text.slice(0, 300));
    const ack = ackOf(r.messages);
    assert.ok(ack, r.text.slice(0, 300));
    assert.ok(!(ack.taskIds ?? []).includes('not-a-task'), JSON.stringify(ack));
  });

  test("2025 stateless: get_task_status with wait_seconds sends progress on the call's own stream, then the client may leave (README)", async () => {
    const ac = new AbortController();
    const res = await within(
      fetch(s.url, {
        method: 'POST',
        signal: ac.signal,
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-protocol-version': V25,
        },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 8,
          method: 'tools/call',
          params: {
            name: 'get_task_status',
            arguments: { task_id: known, wait_seconds: 50 },
            _meta: { progressToken: 'attack-p' },
          },
        }),
      }),
      'the wait answers with a stream',
    );
    assert.match(res.headers.get('content-type') ?? '', /event-stream/);
    const reader = res.body!.getReader();
    const dec = new TextDecoder();
    let text = '';
    try {
      while (!/"method":"notifications\/progress"/.test(text)) {
        const c = await within(reader.read(), "a progress notification on the wait's stream");
        if (c.done) break;
        text += dec.decode(c.value, { stream: true });
      }
    } finally {
      ac.abort();
    }
    const progress = parseMessages('text/event-stream', text).find(
      (m) => m.method === 'notifications/progress',
    );
    assert.ok(progress, text.slice(0, 400));
    assert.equal((progress.params as { progressToken: string }).progressToken, 'attack-p');
    // The instance still answers after the client walked away mid-wait.
    const again = await call26(s.url, 9, 'tools/list');
    assert.equal(again.status, 200);
  });

  test('2025 stateless: resources/subscribe on a real task says there is no subscription stream (README), not a silent success', async () => {
    const a = await post(
      s.url,
      { jsonrpc: '2.0', id: 7, method: 'resources/subscribe', params: { uri: `lipsync://tasks/${known}` } },
      { 'mcp-protocol-version': V25 },
    );
    assert.ok(a.status < 500, a.text);
    const m = a.messages[0] ?? {};
    assert.ok(m.error, `subscribe "succeeded" on a face that cannot deliver: ${a.text.slice(0, 300)}`);
  });
});
