/**
 * Attack: the Streamable HTTP face in memory-session mode (SQLite, the default off PostgreSQL): 2025
 * sessions and 2026 stateless requests on one endpoint; misbehaving clients; slow, abandoned and too
 * many connections. Expectations: MCP 2025-11-25 transports (sessions), 2026-07-28 Streamable HTTP,
 * JSON-RPC 2.0, README (LIPSYNC_HTTP_* bounds).
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { within } from '../helpers/wait.js';
import { call26, listen, post, rpcError, rpcResult, type Served, serve, V25 } from './serve.js';

const init25 = (id: number | string = 1) => ({
  jsonrpc: '2.0',
  id,
  method: 'initialize',
  params: { protocolVersion: V25, capabilities: {}, clientInfo: { name: 'attack', version: '1' } },
});

async function session(url: string): Promise<string> {
  const a = await post(url, init25());
  const sid = a.headers.get('mcp-session-id');
  if (a.status !== 200 || !sid) throw new Error(`no session: ${a.status} ${a.text.slice(0, 300)}`);
  await post(
    url,
    { jsonrpc: '2.0', method: 'notifications/initialized' },
    { 'mcp-session-id': sid, 'mcp-protocol-version': V25 },
  );
  return sid;
}

describe('memory-session HTTP (SQLite): both eras, hostile clients', () => {
  let s: Served;
  before(async () => {
    s = await serve({
      LIPSYNC_HTTP_SESSIONS: 'memory',
      LIPSYNC_HTTP_MAX_SESSIONS: '4',
      LIPSYNC_HTTP_HEADERS_TIMEOUT_SECONDS: '2',
      LIPSYNC_HTTP_REQUEST_TIMEOUT_SECONDS: '3',
    });
  });
  after(async () => {
    await s?.stop();
  });

  test('a 2025 session and a 2026 request are served by the same endpoint', async () => {
    const sid = await session(s.url);
    const a = await post(
      s.url,
      { jsonrpc: '2.0', id: 2, method: 'tools/list' },
      { 'mcp-session-id': sid, 'mcp-protocol-version': V25 },
    );
    assert.ok(rpcResult<{ tools: unknown[] }>(a).tools.length > 5);
    const b = await call26(s.url, 3, 'tools/list');
    assert.equal(b.status, 200, b.text.slice(0, 300));
    assert.equal(b.headers.get('mcp-session-id'), null, '2026 requests get no session');
    await post(s.url, undefined, { 'mcp-session-id': sid }, 'DELETE');
  });

  test('2025 request before initialize: 400 that says to initialize, echoing the request id (JSON-RPC 2.0 §5)', async () => {
    const a = await post(
      s.url,
      { jsonrpc: '2.0', id: 41, method: 'tools/list' },
      { 'mcp-protocol-version': V25 },
    );
    assert.equal(a.status, 400, a.text);
    assert.match(rpcError(a).message, /initialize/);
    assert.equal(a.messages[0]?.id, 41, a.text);
  });

  test('a batch holding initialize is not told to "send initialize first"', async () => {
    const a = await post(s.url, [init25(42)]);
    if (a.status === 200) return;
    assert.equal(a.status, 400, a.text);
    assert.doesNotMatch(rpcError(a).message, /send initialize first/, a.text);
    assert.match(rpcError(a).message, /batch/i, a.text);
  });

  test('GET naming MCP-Protocol-Version 2026-07-28: 405 (2026-07-28 Streamable HTTP, Backward Compatibility)', async () => {
    const a = await post(
      s.url,
      undefined,
      { accept: 'text/event-stream', 'mcp-protocol-version': '2026-07-28' },
      'GET',
    );
    assert.equal(a.status, 405, a.text);
  });

  test('memory mode too: a 2026 listen on a URI that names no task answers in words, not HTTP 500', async () => {
    const r = await listen(s.url, 45, { resourceSubscriptions: ['file:///etc/passwd'] });
    assert.ok(r.status < 500, `HTTP ${r.status}: ${r.text.slice(0, 300)}`);
  });

  test('Origin "null" (sandboxed frame, file:// page) is refused with 403 (spec: MUST validate Origin)', async () => {
    const a = await post(s.url, init25(46), { origin: 'null' });
    assert.equal(a.status, 403, a.text);
  });

  test('a loopback Origin passes on a loopback bind (README: LIPSYNC_ALLOWED_ORIGINS)', async () => {
    const a = await call26(s.url, 47, 'tools/list', {}, { headers: { origin: 'http://localhost:5173' } });
    assert.equal(a.status, 200, a.text.slice(0, 200));
  });

  test('a foreign Host header (DNS rebinding) is refused', async () => {
    const u = new URL(s.url);
    const status = await within(
      new Promise<number>((resolve, reject) => {
        const q = request(
          {
            host: u.hostname,
            port: u.port,
            path: u.pathname,
            method: 'POST',
            agent: false,
            headers: {
              host: `evil.example:${u.port}`,
              'content-type': 'application/json',
              accept: 'application/json, text/event-stream',
            },
          },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          },
        );
        q.on('error', reject);
        q.end(JSON.stringify(init25(48)));
      }),
      'an answer to a rebinding Host',
    );
    assert.ok(status === 403 || status === 421 || status === 400, `HTTP ${status}`);
  });

  test('a 2026 request carrying a stale Mcp-Session-Id is served, the header ignored (2026 spec: Backward Compatibility)', async () => {
    const a = await call26(
      s.url,
      49,
      'tools/list',
      {},
      { headers: { 'mcp-session-id': 'stale-session-from-yesterday' } },
    );
    assert.equal(a.status, 200, a.text.slice(0, 300));
    assert.equal(a.headers.get('mcp-session-id'), null);
  });

  for (const asked of ['2026-07-28', '1999-01-01']) {
    test(`initialize asking for ${asked}: answered with a 2025 version the server speaks (2025-11-25 lifecycle: version negotiation)`, async () => {
      const a = await post(s.url, {
        ...init25(50),
        params: { ...init25(50).params, protocolVersion: asked },
      });
      const sid = a.headers.get('mcp-session-id');
      try {
        assert.equal(a.status, 200, a.text.slice(0, 300));
        const v = rpcResult<{ protocolVersion: string }>(a).protocolVersion;
        assert.match(v, /^2025-/, `negotiated ${v}`);
      } finally {
        if (sid) await post(s.url, undefined, { 'mcp-session-id': sid }, 'DELETE');
      }
    });
  }

  test('two requests with the same id at once in one session: each POST gets its own answer or a clear error, never silence', async () => {
    const sid = await session(s.url);
    const h = { 'mcp-session-id': sid, 'mcp-protocol-version': V25 };
    try {
      for (let round = 0; round < 5; round++) {
        const [x, y] = await within(
          Promise.all([
            post(s.url, { jsonrpc: '2.0', id: 500, method: 'tools/list' }, h),
            post(s.url, { jsonrpc: '2.0', id: 500, method: 'prompts/list' }, h),
          ]),
          'both duplicate-id requests are answered',
          30_000,
        );
        const xr = x.messages.find((m) => m.id === 500);
        const yr = y.messages.find((m) => m.id === 500);
        assert.ok(
          xr && yr,
          `round ${round}: ${x.status} ${x.text.slice(0, 200)} / ${y.status} ${y.text.slice(0, 200)}`,
        );
        if (xr.result)
          assert.ok(
            Array.isArray((xr.result as { tools?: unknown[] }).tools),
            `tools/list answered with ${JSON.stringify(xr).slice(0, 200)}`,
          );
        if (yr.result)
          assert.ok(
            Array.isArray((yr.result as { prompts?: unknown[] }).prompts),
            `prompts/list answered with ${JSON.stringify(yr).slice(0, 200)}`,
          );
      }
    } finally {
      await post(s.url, undefined, { 'mcp-session-id': sid }, 'DELETE');
    }
  });

  test("a session's GET stream abandoned by its client can be opened again (2025-11-25: standalone SSE stream)", async () => {
    const sid = await session(s.url);
    const h = { 'mcp-session-id': sid, 'mcp-protocol-version': V25, accept: 'text/event-stream' };
    try {
      const ac = new AbortController();
      const first = await within(
        fetch(s.url, { headers: h, signal: ac.signal }),
        'the first GET stream opens',
      );
      assert.equal(first.status, 200);
      ac.abort();
      let status = 0;
      let body = '';
      for (let i = 0; i < 2000 && status !== 200; i++) {
        const ac2 = new AbortController();
        const again = await within(
          fetch(s.url, { headers: h, signal: ac2.signal }),
          'a second GET is answered',
        );
        status = again.status;
        if (status !== 200) body = await again.text();
        ac2.abort();
        if (status !== 200 && status !== 409) break;
        await new Promise((r) => setImmediate(r));
      }
      assert.equal(status, 200, `the stream never came back: ${status} ${body.slice(0, 200)}`);
    } finally {
      await post(s.url, undefined, { 'mcp-session-id': sid }, 'DELETE');
    }
  });

  test('an unknown Mcp-Session-Id: 404 so the client starts a new session (2025-11-25 transports: Session Management)', async () => {
    const a = await post(
      s.url,
      { jsonrpc: '2.0', id: 43, method: 'tools/list' },
      { 'mcp-session-id': 'no-such-session', 'mcp-protocol-version': V25 },
    );
    assert.equal(a.status, 404, a.text);
    assert.ok(rpcError(a).message.length > 10);
  });

  test('after DELETE the session id answers 404', async () => {
    const sid = await session(s.url);
    const d = await post(s.url, undefined, { 'mcp-session-id': sid, 'mcp-protocol-version': V25 }, 'DELETE');
    assert.ok(d.status === 200 || d.status === 204, `${d.status} ${d.text}`);
    const a = await post(
      s.url,
      { jsonrpc: '2.0', id: 44, method: 'tools/list' },
      { 'mcp-session-id': sid, 'mcp-protocol-version': V25 },
    );
    assert.equal(a.status, 404, a.text);
  });

  test('GET without a session: a 4xx with a sentence, never a hanging stream', async () => {
    const a = await post(s.url, undefined, { accept: 'text/event-stream' }, 'GET');
    assert.ok(a.status === 400 || a.status === 405, `${a.status} ${a.text}`);
    assert.ok(rpcError(a).message.length > 10);
  });

  test('past LIPSYNC_HTTP_MAX_SESSIONS a new session gets 503 with Retry-After (README)', async () => {
    const sids: string[] = [];
    let refused: Awaited<ReturnType<typeof post>> | undefined;
    for (let i = 0; i < 8 && !refused; i++) {
      const a = await post(s.url, init25(100 + i));
      const sid = a.headers.get('mcp-session-id');
      if (sid) sids.push(sid);
      else refused = a;
    }
    try {
      assert.ok(refused, `8 sessions opened with a cap of 4: ${sids.length}`);
      assert.equal(refused.status, 503, refused.text);
      assert.ok(
        Number(refused.headers.get('retry-after')) > 0,
        `Retry-After: ${refused.headers.get('retry-after')}`,
      );
      assert.ok(rpcError(refused).message.length > 10);
      // 2026 requests need no session: they still pass while sessions are full.
      const b = await call26(s.url, 5, 'tools/list');
      assert.equal(b.status, 200, b.text.slice(0, 200));
    } finally {
      for (const sid of sids) await post(s.url, undefined, { 'mcp-session-id': sid }, 'DELETE');
    }
  });

  test('slow-loris: headers never finished are cut off (LIPSYNC_HTTP_HEADERS_TIMEOUT_SECONDS)', async () => {
    const u = new URL(s.url);
    const sock = connect(Number(u.port), u.hostname);
    let got = '';
    sock.on('data', (d) => {
      got += d.toString();
    });
    sock.on('error', () => {});
    await within(new Promise((r) => sock.once('connect', r)), 'connected');
    sock.write(`POST /mcp HTTP/1.1\r\nHost: ${u.host}\r\nContent-Type: application/json\r\n`);
    await within(
      new Promise((r) => sock.once('close', r)),
      'the server closes a connection whose headers never end',
      90_000,
    );
    assert.ok(got === '' || /^HTTP\/1\.1 4\d\d/.test(got), got.slice(0, 200));
  });

  test('a body that never finishes is cut off (LIPSYNC_HTTP_REQUEST_TIMEOUT_SECONDS) and the server keeps answering', async () => {
    const u = new URL(s.url);
    const sock = connect(Number(u.port), u.hostname);
    let got = '';
    sock.on('data', (d) => {
      got += d.toString();
    });
    sock.on('error', () => {});
    await within(new Promise((r) => sock.once('connect', r)), 'connected');
    sock.write(
      `POST /mcp HTTP/1.1\r\nHost: ${u.host}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: 1000\r\n\r\n{"jsonrpc":`,
    );
    await within(
      new Promise((r) => sock.once('close', r)),
      'the server closes a request whose body never ends',
      90_000,
    );
    assert.ok(got === '' || /^HTTP\/1\.1 4\d\d/.test(got), got.slice(0, 200));
    const b = await call26(s.url, 6, 'tools/list');
    assert.equal(b.status, 200);
  });

  test('40 abandoned requests (client gone mid-request) leave the server answering', async () => {
    const aborted = [];
    for (let i = 0; i < 40; i++) {
      const ac = new AbortController();
      const p = fetch(s.url, {
        method: 'POST',
        signal: ac.signal,
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-protocol-version': '2026-07-28',
          'mcp-method': 'tools/list',
        },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: i,
          method: 'tools/list',
          params: {
            _meta: {
              'io.modelcontextprotocol/protocolVersion': '2026-07-28',
              'io.modelcontextprotocol/clientInfo': { name: 'a', version: '1' },
              'io.modelcontextprotocol/clientCapabilities': {},
            },
          },
        }),
      }).catch(() => undefined);
      ac.abort();
      aborted.push(p);
    }
    await Promise.all(aborted);
    const h = await within(fetch(`${s.origin}/health`), '/health answers');
    assert.equal(h.status, 200);
    assert.equal(((await h.json()) as { status: string }).status, 'ok');
    const b = await call26(s.url, 7, 'tools/list');
    assert.equal(b.status, 200);
  });
});
