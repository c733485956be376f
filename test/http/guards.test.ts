import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ALLOWED_ORIGIN, INIT, JSON_HEADERS, raw, type Served, serve, TOKEN } from './helpers.js';

describe('HTTP guards', () => {
  let s: Served;
  before(async () => {
    s = await serve({ token: TOKEN, maxBodyBytes: 16 * 1024 });
  });
  after(async () => {
    await s.stop();
  });
  const auth = { ...JSON_HEADERS, authorization: `Bearer ${TOKEN}` };

  test('no token and wrong token -> 401 with WWW-Authenticate; the token is never echoed', async () => {
    for (const headers of [
      JSON_HEADERS,
      { ...JSON_HEADERS, authorization: 'Bearer wrong' },
      { ...JSON_HEADERS, authorization: `Bearer ${TOKEN}x` },
      { ...JSON_HEADERS, authorization: `Basic ${TOKEN}` },
      { ...JSON_HEADERS, authorization: 'Bearer' },
    ]) {
      const r = await raw(s.server.url, { headers, body: INIT });
      assert.equal(r.status, 401, JSON.stringify(headers));
      assert.equal(r.headers['www-authenticate'], 'Bearer realm="lipsync-mcp"');
      assert.ok(!r.body.includes(TOKEN));
    }
    assert.equal(s.server.sessions.size, 0, 'no session was created');
    assert.ok(!s.logs.join('').includes(TOKEN), 'the token is not logged');
  });

  test('a foreign Origin -> 403, the allowed one and no Origin pass', async () => {
    for (const origin of ['https://evil.example', 'null', `${ALLOWED_ORIGIN}.evil.example`]) {
      const r = await raw(s.server.url, { headers: { ...auth, origin }, body: INIT });
      assert.equal(r.status, 403, origin);
      assert.match(r.body, /Origin not allowed/);
    }
    const ok = await raw(s.server.url, { headers: { ...auth, origin: ALLOWED_ORIGIN }, body: INIT });
    assert.equal(ok.status, 200, ok.body);
    assert.ok(ok.headers['mcp-session-id']);
  });

  test('a wrong Host (DNS rebinding) -> 421, even for /health', async () => {
    const port = new URL(s.server.url).port;
    for (const host of [
      'evil.example',
      `evil.example:${port}`,
      `127.0.0.1:${Number(port) + 1}`,
      'localhost',
    ]) {
      const r = await raw(s.server.url, { headers: { ...auth, host }, body: INIT });
      assert.equal(r.status, 421, `host ${host}`);
      const h = await raw(s.server.url.replace('/mcp', '/health'), { method: 'GET', headers: { host } });
      assert.equal(h.status, 421);
    }
    const local = await raw(s.server.url, { headers: { ...auth, host: `localhost:${port}` }, body: INIT });
    assert.equal(local.status, 200);
  });

  test('an oversized body -> 413 (declared or streamed), nothing parsed', async () => {
    const big = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { pad: 'x'.repeat(20_000) },
    });
    const r = await raw(s.server.url, { headers: auth, body: big });
    assert.equal(r.status, 413);
    // Chunked (no Content-Length): the cap applies to the bytes actually read.
    const chunked = await raw(s.server.url, {
      headers: { ...auth, 'transfer-encoding': 'chunked' },
      body: big,
    }).catch((err: Error) => ({ status: -1, body: err.message }));
    assert.ok(chunked.status === 413 || chunked.status === -1, `chunked: ${chunked.status}`);
  });

  test('malformed JSON -> 400; a call without a session -> 400; an unknown session -> 404', async () => {
    assert.equal((await raw(s.server.url, { headers: auth, body: '{not json' })).status, 400);
    const list = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
    assert.equal((await raw(s.server.url, { headers: auth, body: list })).status, 400);
    const unknown = { ...auth, 'mcp-session-id': '00000000-0000-4000-8000-000000000000' };
    assert.equal((await raw(s.server.url, { headers: unknown, body: list })).status, 404);
    assert.equal((await raw(s.server.url, { method: 'GET', headers: unknown })).status, 404);
    assert.equal((await raw(s.server.url, { method: 'DELETE', headers: unknown })).status, 404);
  });

  test('/health without a valid token says only that the server is up; with the token it gives details', async () => {
    const health = s.server.url.replace('/mcp', '/health');
    for (const headers of [{}, { authorization: 'Bearer wrong' }] as Record<string, string>[]) {
      const r = await raw(health, { method: 'GET', headers });
      assert.equal(r.status, 200);
      assert.deepEqual(JSON.parse(r.body), { status: 'ok' });
    }
    const r = await raw(health, { method: 'GET', headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(r.status, 200);
    const body = JSON.parse(r.body);
    assert.equal(body.status, 'ok');
    assert.equal(typeof body.version, 'string');
    assert.equal(typeof body.sessions, 'number');
  });

  test('bound to loopback: loopback Origins on any port pass, look-alikes stay refused', async () => {
    const port = new URL(s.server.url).port;
    for (const origin of [
      `http://127.0.0.1:${port}`,
      'http://localhost:5173',
      'http://[::1]:8080',
      'http://localhost',
    ]) {
      const r = await raw(s.server.url, {
        headers: { ...auth, origin, host: `127.0.0.1:${port}` },
        body: INIT,
      });
      assert.equal(r.status, 200, `${origin}: ${r.body}`);
    }
    for (const origin of [
      'http://127.0.0.1.evil.example',
      `http://localhost.evil.example:${port}`,
      'http://evil.example:80',
      'file://',
    ]) {
      const r = await raw(s.server.url, { headers: { ...auth, origin }, body: INIT });
      assert.equal(r.status, 403, origin);
    }
  });

  test('other paths need the token too, then 404', async () => {
    assert.equal((await raw(s.server.url.replace('/mcp', '/other'), { method: 'GET' })).status, 401);
    const r = await raw(s.server.url.replace('/mcp', '/other'), { method: 'GET', headers: auth });
    assert.equal(r.status, 404);
  });
});
