import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import {
  authGuard,
  hostGuard,
  methodGuard,
  originGuard,
  pathGuard,
  readJsonBody,
  runGuards,
} from '../../src/http-server/chain.js';
import { allowedHostHeaders, isLoopbackOrigin } from '../../src/http-server/guard.js';

const req = (o: { method?: string; url?: string; headers?: Record<string, string> }, body = '') =>
  Object.assign(Readable.from([Buffer.from(body)]), {
    method: o.method ?? 'POST',
    url: o.url ?? '/mcp',
    headers: o.headers ?? {},
  }) as unknown as IncomingMessage;

describe('HTTP guard chain', () => {
  test('hostGuard: only the listed Host headers pass (421 otherwise)', () => {
    const g = hostGuard(() => new Set(['127.0.0.1:8787']));
    assert.equal(g(req({ headers: { host: '127.0.0.1:8787' } })), undefined);
    assert.equal(g(req({ headers: { host: 'evil.example:8787' } }))?.status, 421);
    assert.equal(g(req({}))?.status, 421);
  });

  test('allowedHostHeaders: a public name passes as clients send it through a proxy, on the default port too', () => {
    const hosts = allowedHostHeaders('0.0.0.0', 8787, ['lipsync.example.com', 'mcp.example.com:443']);
    // https://lipsync.example.com/mcp: clients send no port for 443, and the proxy passes Host on.
    for (const h of [
      'lipsync.example.com',
      'lipsync.example.com:8787',
      'mcp.example.com',
      'mcp.example.com:443',
    ])
      assert.ok(hosts.has(h), h);
    for (const h of ['evil.example', 'lipsync.example.com:444', 'mcp.example.com:8787', 'localhost'])
      assert.ok(!hosts.has(h), h);
    // Loopback names still need this server's port (a rebinding page names no port of ours by chance).
    assert.ok(!allowedHostHeaders('127.0.0.1', 8787).has('127.0.0.1'));
  });

  test('originGuard: no Origin and listed ones pass; loopback ones only when bound to loopback', () => {
    const listed = 'https://agents.example';
    const onLoopback = originGuard([listed], true);
    const offLoopback = originGuard([listed], false);
    assert.equal(onLoopback(req({})), undefined);
    assert.equal(offLoopback(req({ headers: { origin: `${listed}/` } })), undefined);
    assert.equal(onLoopback(req({ headers: { origin: 'http://localhost:3000' } })), undefined);
    assert.equal(offLoopback(req({ headers: { origin: 'http://localhost:3000' } }))?.status, 403);
    assert.equal(onLoopback(req({ headers: { origin: 'https://evil.example' } }))?.status, 403);
  });

  test('isLoopbackOrigin: loopback hosts on any port, no look-alikes, paths or credentials', () => {
    for (const o of ['http://127.0.0.1:9', 'http://127.1.2.3', 'https://localhost', 'http://[::1]:80'])
      assert.ok(isLoopbackOrigin(o), o);
    for (const o of [
      'http://127.0.0.1.nip.io',
      'http://localhost.evil.example',
      'http://u:p@localhost',
      'http://localhost/x',
      'ftp://localhost',
      'null',
    ])
      assert.ok(!isLoopbackOrigin(o), o);
  });

  test('authGuard: no token configured passes; otherwise Bearer must match (401 + WWW-Authenticate)', () => {
    assert.equal(authGuard(undefined)(req({})), undefined);
    const g = authGuard('s3cret');
    assert.equal(g(req({ headers: { authorization: 'Bearer s3cret' } })), undefined);
    const r = g(req({ headers: { authorization: 'Bearer nope' } }));
    assert.equal(r?.status, 401);
    assert.equal(r?.headers?.['www-authenticate'], 'Bearer realm="lipsync-mcp"');
    assert.ok(!JSON.stringify(r).includes('s3cret'));
  });

  test('pathGuard and methodGuard: /mcp only; GET, POST, DELETE only', () => {
    assert.equal(pathGuard(req({ url: '/mcp?x=1' })), undefined);
    assert.equal(pathGuard(req({ url: '/other' }))?.status, 404);
    for (const method of ['GET', 'POST', 'DELETE']) assert.equal(methodGuard(req({ method })), undefined);
    const put = methodGuard(req({ method: 'PUT' }));
    assert.equal(put?.status, 405);
    assert.equal(put?.headers?.allow, 'GET, POST, DELETE');
  });

  test('runGuards: the first refusal answers', () => {
    const r = runGuards(req({ url: '/other', method: 'PUT' }), [pathGuard, methodGuard]);
    assert.equal(r?.status, 404);
    assert.equal(runGuards(req({}), [pathGuard, methodGuard]), undefined);
  });

  test('readJsonBody: JSON under the cap; 413 over it (declared or read); 400 for non-JSON', async () => {
    assert.deepEqual(await readJsonBody(req({}, '{"a":1}'), 100), { body: { a: 1 } });
    const big = await readJsonBody(req({}, 'x'.repeat(101)), 100);
    assert.ok('refusal' in big && big.refusal.status === 413 && big.refusal.closeConnection);
    const declared = await readJsonBody(req({ headers: { 'content-length': '5000' } }, '{}'), 100);
    assert.ok('refusal' in declared && declared.refusal.status === 413);
    const notJson = await readJsonBody(req({}, '{nope'), 100);
    assert.ok('refusal' in notJson && notJson.refusal.status === 400);
  });
});
