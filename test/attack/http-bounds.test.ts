/**
 * Attack: bounds of `serve --http` in single-user token mode (README: LIPSYNC_HTTP_TOKEN,
 * LIPSYNC_HTTP_MAX_CONNECTIONS, /health): long waits that clients abandon, a full instance, and what a
 * refused client is told. RFC 9110 §15.5.2: a 401 MUST carry WWW-Authenticate.
 */
import assert from 'node:assert/strict';
import { type ClientRequest, request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { type FakeJogg, startFakeJogg } from '../fakes/jogg/index.js';
import { makePair } from '../helpers/clips.js';
import { within } from '../helpers/wait.js';
import { call26, meta26, post, rpcError, rpcResult, type Served, serve, V26 } from './serve.js';

const TOKEN = 'attack-token-0123456789abcdef0123';
const auth = { authorization: `Bearer ${TOKEN}` };

/** One request on its own socket (no keep-alive pool): resolves with status + body, or is aborted. */
function raw(
  url: string,
  body: string,
  headers: Record<string, string>,
): { req: ClientRequest; done: Promise<{ status: number; text: string; headers: Record<string, unknown> }> } {
  let req!: ClientRequest;
  const done = new Promise<{ status: number; text: string; headers: Record<string, unknown> }>(
    (resolve, reject) => {
      req = request(
        url,
        {
          method: 'POST',
          agent: false,
          headers: {
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
            connection: 'close',
            ...headers,
          },
        },
        (res) => {
          let text = '';
          res.on('data', (d) => {
            text += d;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text, headers: res.headers }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    },
  );
  return { req, done };
}

async function connections(s: Served): Promise<number> {
  const res = await within(
    new Promise<{ connections: number }>((resolve, reject) => {
      const q = request(
        `${s.origin}/health`,
        { agent: false, headers: { ...auth, connection: 'close' } },
        (resp) => {
          let t = '';
          resp.on('data', (d) => {
            t += d;
          });
          resp.on('end', () =>
            resolve(
              resp.statusCode === 503
                ? { connections: Number.POSITIVE_INFINITY }
                : (JSON.parse(t) as { connections: number }),
            ),
          );
        },
      );
      q.on('error', reject);
      q.end();
    }),
    '/health answers',
  );
  return res.connections;
}

/** Polls /health (each answer an event) until `ok(connections)`, bounded. */
async function connectionsUntil(s: Served, ok: (n: number) => boolean, what: string): Promise<number> {
  let n = -1;
  for (let i = 0; i < 3000; i++) {
    n = await connections(s);
    if (ok(n)) return n;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`never happened: ${what} (connections ${n})`);
}

const waitBody = (taskId: string, i: number) =>
  JSON.stringify({
    jsonrpc: '2.0',
    id: i,
    method: 'tools/call',
    params: { name: 'get_task_status', arguments: { task_id: taskId, wait_seconds: 50 }, _meta: meta26() },
  });
const waitHeaders = {
  ...auth,
  'mcp-protocol-version': V26,
  'mcp-method': 'tools/call',
  'mcp-name': 'get_task_status',
};

describe('HTTP bounds in token mode: abandoned waits, a full instance, refusals', () => {
  let jogg: FakeJogg;
  let s: Served;
  let taskId: string;

  before(async () => {
    jogg = await startFakeJogg();
    jogg.faults.queriesToFinish = 1_000_000;
    s = await serve({
      LIPSYNC_HTTP_TOKEN: TOKEN,
      LIPSYNC_HTTP_MAX_CONNECTIONS: '12',
      JOGG_API_KEY: jogg.apiKey,
      JOGG_BASE_URL: jogg.url,
      JOGG_LIP_SYNC_DEFAULT_POLL_INTERVAL_SECONDS: '600',
    });
    const { video, audio } = await makePair(s.work, 401);
    const a = await call26(
      s.url,
      1,
      'tools/call',
      { name: 'create_lip_sync', arguments: { provider: 'jogg', video, audio, confirm: true } },
      { headers: auth },
    );
    taskId = rpcResult<{ structuredContent: { task_id: string } }>(a).structuredContent.task_id;
  });
  after(async () => {
    await s?.stop();
    await jogg?.close();
  });

  test('no token: 401 that says what to send, with a WWW-Authenticate challenge (RFC 9110 §15.5.2 MUST)', async () => {
    const a = await call26(s.url, 2, 'tools/list');
    assert.equal(a.status, 401);
    assert.match(rpcError(a).message, /Bearer/);
    assert.ok(!a.text.includes(TOKEN));
    assert.match(
      a.headers.get('www-authenticate') ?? '',
      /^Bearer/i,
      `WWW-Authenticate: ${a.headers.get('www-authenticate')}`,
    );
  });

  test('/health without the token says only ok; with it, no secret either', async () => {
    const open = await (await fetch(`${s.origin}/health`)).json();
    assert.deepEqual(open, { status: 'ok' });
    const full = await (await fetch(`${s.origin}/health`, { headers: auth })).text();
    assert.ok(!full.includes(TOKEN) && !full.includes(jogg.apiKey), full);
  });

  test('8 get_task_status waits (wait_seconds 50) abandoned by their clients free their connections', async () => {
    const base = await connectionsUntil(s, () => true, 'a first /health');
    const waits = Array.from({ length: 8 }, (_, i) => raw(s.url, waitBody(taskId, 100 + i), waitHeaders));
    for (const w of waits) w.done.catch(() => {});
    await connectionsUntil(s, (n) => n >= base + 8, 'the 8 waits are open at the server');
    for (const w of waits) w.req.destroy();
    await connectionsUntil(s, (n) => n <= base, 'the abandoned waits are closed at the server');
  });

  test('past LIPSYNC_HTTP_MAX_CONNECTIONS a request gets 503 with Retry-After and words, then room again', async () => {
    type R = { status: number; text: string; headers: Record<string, unknown> };
    const answers: R[] = [];
    const waits = Array.from({ length: 13 }, (_, i) => raw(s.url, waitBody(taskId, 200 + i), waitHeaders));
    const settled = waits.map((w) =>
      w.done
        .catch((e: Error): R => ({ status: -1, text: e.message, headers: {} }))
        .then((r) => {
          answers.push(r);
          return r;
        }),
    );
    try {
      // 13 long waits for 12 places: at least one is refused, and that refusal is an answer, not silence.
      const first = await within(
        Promise.race(settled),
        'one of 13 waits for 12 places is answered at once',
        70_000,
      );
      assert.equal(first.status, 503, `${first.status} ${first.text.slice(0, 200)}`);
      assert.ok(Number(first.headers['retry-after']) > 0, `Retry-After: ${first.headers['retry-after']}`);
      assert.match(first.text, /try again|connections/i);
    } finally {
      for (const w of waits) w.req.destroy();
      await Promise.all(settled);
    }
    assert.ok(answers.filter((a) => a.status === 503).length >= 1);
    await connectionsUntil(s, (n) => n < 12, 'the abandoned waits give their places back');
    const after = await post(
      s.url,
      { jsonrpc: '2.0', id: 3, method: 'tools/list', params: { _meta: meta26() } },
      { ...auth, 'mcp-protocol-version': V26, 'mcp-method': 'tools/list' },
    );
    assert.equal(after.status, 200, after.text.slice(0, 200));
  });
});
