/**
 * Attack: OAuth resource-server mode (README "Remote connector"), stateless on PostgreSQL. Valid tokens
 * come only from the real issuer (test/helpers/oidc.ts, oidc-provider on loopback); the invalid ones
 * are made here by hand. Expectations: MCP authorization (2025-11-25 and 2026-07-28), RFC 9728
 * (protected-resource metadata), RFC 6750 (Bearer, error="invalid_token" / "insufficient_scope").
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { makePair } from '../helpers/clips.js';
import { PAY_SCOPE, READ_SCOPE, startIssuer, type TestClient, type TestIssuer } from '../helpers/oidc.js';
import { type PgTestDatabase, pgSkip, pgTestDatabase } from '../helpers/pg.js';
import {
  assertClean,
  call26,
  post,
  rpcError,
  rpcResult,
  type Served,
  serve,
  TASKS_EXT,
  V25,
} from './serve.js';

const b64u = (v: string | Buffer) => Buffer.from(v).toString('base64url');
const jwt = (header: object, payload: object, sig = '') =>
  `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(payload))}.${sig}`;

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

const reader: TestClient = {
  client_id: 'reader',
  client_secret: 'reader-secret-0123456789',
  scope: READ_SCOPE,
};
const payer: TestClient = {
  client_id: 'payer',
  client_secret: 'payer-secret-0123456789',
  scope: `${READ_SCOPE} ${PAY_SCOPE}`,
};
const other: TestClient = {
  client_id: 'other',
  client_secret: 'other-secret-0123456789',
  scope: `${READ_SCOPE} ${PAY_SCOPE}`,
};
const init25 = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: V25, capabilities: {}, clientInfo: { name: 'attack', version: '1' } },
};
const h25 = { 'mcp-protocol-version': V25 };
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

describe('OAuth resource server (stateless on PostgreSQL)', { skip: pgSkip }, () => {
  let issuer: TestIssuer;
  let db: PgTestDatabase;
  let s: Served;
  let resource: string;
  let readToken: string;
  let payToken: string;

  before(async () => {
    issuer = await startIssuer({ clients: [reader, payer, other] });
    db = await pgTestDatabase('attack_oauth');
    const port = await freePort();
    resource = `http://127.0.0.1:${port}/mcp`;
    s = await serve(
      {
        LIPSYNC_DATABASE_URL: db.url,
        LIPSYNC_OAUTH_ISSUER: issuer.issuer,
        LIPSYNC_OAUTH_RESOURCE: resource,
        LIPSYNC_ALLOW_PRIVATE_URLS: 'true',
      },
      ['--port', String(port)],
    );
    readToken = await issuer.token(reader, { resource, scope: READ_SCOPE });
    payToken = await issuer.token(payer, { resource, scope: `${READ_SCOPE} ${PAY_SCOPE}` });
  });
  after(async () => {
    await s?.stop();
    await db?.drop();
    await issuer?.close();
  });

  test('protected-resource metadata names the resource, the issuer and both scopes (RFC 9728, README)', async () => {
    const res = await fetch(`${s.origin}/.well-known/oauth-protected-resource/mcp`);
    assert.equal(res.status, 200);
    const m = (await res.json()) as {
      resource: string;
      authorization_servers: string[];
      scopes_supported?: string[];
    };
    assert.equal(m.resource, resource);
    assert.ok(m.authorization_servers.includes(issuer.issuer), JSON.stringify(m));
    assert.ok(
      m.scopes_supported?.includes(READ_SCOPE) && m.scopes_supported.includes(PAY_SCOPE),
      JSON.stringify(m),
    );
  });

  test('no token: 401 with WWW-Authenticate Bearer resource_metadata pointing at that document', async () => {
    const a = await post(s.url, init25);
    assert.equal(a.status, 401, a.text);
    const w = a.headers.get('www-authenticate') ?? '';
    assert.match(w, /^Bearer /i);
    assert.ok(w.includes(`resource_metadata="${s.origin}/.well-known/oauth-protected-resource/mcp"`), w);
  });

  test('no token: the 401 challenge names the scope to ask for (MCP authorization 2025-11-25: SHOULD include scope)', async () => {
    const a = await post(s.url, init25);
    assert.match(
      a.headers.get('www-authenticate') ?? '',
      new RegExp(`scope="[^"]*${READ_SCOPE}`),
      a.headers.get('www-authenticate') ?? '',
    );
  });

  test('a real token from another issuer (same audience) is refused: 401', async () => {
    const rogue = await startIssuer({ clients: [payer] });
    try {
      const t = await rogue.token(payer, { resource, scope: `${READ_SCOPE} ${PAY_SCOPE}` });
      const a = await post(s.url, init25, bearer(t));
      assert.equal(a.status, 401, a.text);
      assert.match(a.headers.get('www-authenticate') ?? '', /invalid_token/);
    } finally {
      await rogue.close();
    }
  });

  test('no token: the 401 also says in words what to do (a body a person can act on)', async () => {
    const a = await post(s.url, init25);
    assert.equal(a.status, 401);
    assert.ok(a.text.length > 0, 'empty 401 body');
    assert.match(a.text, /token|sign|authori/i, a.text);
    assertClean(a.text);
  });

  const invalid: Array<[string, () => string]> = [
    ['garbage', () => 'not-a-jwt'],
    ['three empty parts', () => '..'],
    [
      'alg none',
      () =>
        jwt(
          { alg: 'none', typ: 'JWT' },
          {
            iss: issuer.issuer,
            aud: resource,
            sub: 'mallory',
            scope: `${READ_SCOPE} ${PAY_SCOPE}`,
            exp: Math.floor(Date.now() / 1000) + 600,
          },
        ),
    ],
    [
      'alg None with a signature',
      () =>
        jwt(
          { alg: 'None', typ: 'JWT' },
          {
            iss: issuer.issuer,
            aud: resource,
            sub: 'mallory',
            scope: READ_SCOPE,
            exp: Math.floor(Date.now() / 1000) + 600,
          },
          'c2ln',
        ),
    ],
    ['a valid token with its signature cut off', () => `${readToken.split('.').slice(0, 2).join('.')}.`],
    [
      'a valid token with a changed payload (scope added)',
      () => {
        const [h, p, sig] = readToken.split('.') as [string, string, string];
        const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
        return `${h}.${b64u(JSON.stringify({ ...claims, scope: `${READ_SCOPE} ${PAY_SCOPE}`, sub: 'mallory' }))}.${sig}`;
      },
    ],
    ['7 kB of base64url', () => 'A'.repeat(7_000)],
  ];
  for (const [name, make] of invalid) {
    test(`invalid token (${name}): 401 with error="invalid_token" (RFC 6750 §3.1)`, async () => {
      const a = await post(s.url, init25, bearer(make()));
      assert.equal(a.status, 401, a.text);
      assert.match(
        a.headers.get('www-authenticate') ?? '',
        /error="invalid_token"/,
        a.headers.get('www-authenticate') ?? '(none)',
      );
      assertClean(a.text, [readToken]);
    });
  }

  test("HS256 token signed with the issuer's public key as the HMAC secret: 401 (key confusion)", async () => {
    const meta = (await (await fetch(`${issuer.issuer}/.well-known/openid-configuration`)).json()) as {
      jwks_uri: string;
    };
    const jwks = (await (await fetch(meta.jwks_uri)).json()) as { keys: Array<Record<string, string>> };
    const key = jwks.keys[0]!;
    const claims = {
      iss: issuer.issuer,
      aud: resource,
      sub: 'mallory',
      scope: `${READ_SCOPE} ${PAY_SCOPE}`,
      exp: Math.floor(Date.now() / 1000) + 600,
      iat: Math.floor(Date.now() / 1000),
    };
    for (const secret of [JSON.stringify(key), key.x ?? '', JSON.stringify(jwks)]) {
      const unsigned = `${b64u(JSON.stringify({ alg: 'HS256', typ: 'at+jwt', kid: key.kid }))}.${b64u(JSON.stringify(claims))}`;
      const sig = createHmac('sha256', secret).update(unsigned).digest('base64url');
      const a = await post(s.url, init25, bearer(`${unsigned}.${sig}`));
      assert.equal(a.status, 401, a.text);
    }
  });

  test('a real token for another resource (wrong audience): 401 invalid_token', async () => {
    const t = await issuer.token(payer, { resource: 'http://127.0.0.1:1/other', scope: READ_SCOPE });
    const a = await post(s.url, init25, bearer(t));
    assert.equal(a.status, 401, a.text);
    assert.match(a.headers.get('www-authenticate') ?? '', /invalid_token/);
  });

  test('the token in the query string is refused (MCP authorization: MUST NOT be in the URI)', async () => {
    const a = await post(`${s.url}?access_token=${encodeURIComponent(payToken)}`, init25);
    assert.equal(a.status, 401, a.text);
  });

  test('100 kB Authorization header: a 4xx, never a 5xx or a hang', async () => {
    const a = await post(s.url, init25, bearer('A'.repeat(100_000)));
    assert.ok(a.status >= 400 && a.status < 500, `${a.status} ${a.text.slice(0, 200)}`);
  });

  test('a real read-only token serves 2025 and 2026 requests; the auth scheme is case-insensitive (RFC 6750)', async () => {
    const a = await post(s.url, init25, bearer(readToken));
    assert.equal(a.status, 200, a.text.slice(0, 300));
    const b = await call26(s.url, 2, 'tools/list', {}, { headers: bearer(readToken) });
    assert.equal(b.status, 200, b.text.slice(0, 300));
    const c = await post(
      s.url,
      { jsonrpc: '2.0', id: 3, method: 'tools/list' },
      { ...h25, authorization: `bearer ${readToken}` },
    );
    assert.equal(c.status, 200, c.text.slice(0, 300));
  });

  test('read-only token and a paid tool: 403 insufficient_scope naming tasks:pay, on both eras (README)', async () => {
    const { video, audio } = await makePair(s.work, 51);
    const args = { provider: 'jogg', video, audio, confirm: true };
    const a = await post(
      s.url,
      { jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'create_lip_sync', arguments: args } },
      { ...h25, ...bearer(readToken) },
    );
    assert.equal(a.status, 403, a.text);
    const w = a.headers.get('www-authenticate') ?? '';
    assert.match(w, /error="insufficient_scope"/, w);
    assert.ok(w.includes(PAY_SCOPE), w);
    const b = await call26(
      s.url,
      5,
      'tools/call',
      { name: 'create_lip_sync', arguments: args },
      { headers: bearer(readToken) },
    );
    assert.equal(b.status, 403, b.text);
    assert.match(b.headers.get('www-authenticate') ?? '', /insufficient_scope/);
  });

  test("another user's task answers as one that does not exist (tasks/get, get_task_status, resources/read)", async () => {
    const { video, audio } = await makePair(s.work, 52);
    const created = await call26(
      s.url,
      6,
      'tools/call',
      { name: 'create_lip_sync', arguments: { provider: 'local', video, audio } },
      { headers: bearer(payToken) },
    );
    const r = rpcResult<{ structuredContent: { task_id: string } }>(created);
    const id = r.structuredContent.task_id;
    assert.ok(id, created.text.slice(0, 300));
    const otherToken = await issuer.token(other, { resource, scope: `${READ_SCOPE} ${PAY_SCOPE}` });
    const g = await call26(
      s.url,
      7,
      'tasks/get',
      { taskId: id },
      { capabilities: { extensions: { [TASKS_EXT]: {} } }, headers: bearer(otherToken) },
    );
    assert.equal(rpcError(g).code, -32602, g.text);
    const st = await call26(
      s.url,
      8,
      'tools/call',
      { name: 'get_task_status', arguments: { task_id: id } },
      { headers: bearer(otherToken) },
    );
    const sr = rpcResult<{ isError?: boolean; content: Array<{ text?: string }> }>(st);
    assert.equal(sr.isError, true, st.text.slice(0, 300));
    const err = JSON.parse(sr.content[0]?.text ?? '{}') as { error?: { code: string } };
    assert.equal(err.error?.code, 'not_found', st.text.slice(0, 300));
    const rr = await call26(
      s.url,
      9,
      'resources/read',
      { uri: `lipsync://tasks/${id}` },
      { headers: bearer(otherToken) },
    );
    assert.ok(rpcError(rr).code !== undefined, rr.text.slice(0, 300));
    assert.ok(!rr.text.includes(video), 'the other user sees nothing of the task');
    const lt = await call26(
      s.url,
      11,
      'tools/call',
      { name: 'list_tasks', arguments: {} },
      { headers: bearer(otherToken) },
    );
    assert.ok(!lt.text.includes(id), `list_tasks of another user shows the task: ${lt.text.slice(0, 300)}`);
    const c = await call26(
      s.url,
      12,
      'tasks/cancel',
      { taskId: id },
      { capabilities: { extensions: { [TASKS_EXT]: {} } }, headers: bearer(otherToken) },
    );
    assert.equal(rpcError(c).code, -32602, `another user cancels the task: ${c.text.slice(0, 300)}`);
    // The owner still sees it.
    const mine = await call26(
      s.url,
      10,
      'tools/call',
      { name: 'get_task_status', arguments: { task_id: id } },
      { headers: bearer(payToken) },
    );
    assert.equal(rpcResult<{ isError?: boolean }>(mine).isError ?? false, false, mine.text.slice(0, 300));
  });
});

describe('OAuth with memory sessions (2025): a session belongs to its user', () => {
  let issuer: TestIssuer;
  let s: Served;
  let resource: string;
  let tokenA: string;
  let tokenB: string;

  before(async () => {
    issuer = await startIssuer({ clients: [payer, other] });
    const port = await freePort();
    resource = `http://127.0.0.1:${port}/mcp`;
    s = await serve(
      {
        LIPSYNC_HTTP_SESSIONS: 'memory',
        LIPSYNC_OAUTH_ISSUER: issuer.issuer,
        LIPSYNC_OAUTH_RESOURCE: resource,
        LIPSYNC_ALLOW_PRIVATE_URLS: 'true',
      },
      ['--port', String(port)],
    );
    tokenA = await issuer.token(payer, { resource, scope: `${READ_SCOPE} ${PAY_SCOPE}` });
    tokenB = await issuer.token(other, { resource, scope: `${READ_SCOPE} ${PAY_SCOPE}` });
  });
  after(async () => {
    await s?.stop();
    await issuer?.close();
  });

  test("user B presenting user A's Mcp-Session-Id is refused and sees none of A's tasks (2025-11-25 security: bind sessions to the user)", async () => {
    const init = await post(s.url, init25, bearer(tokenA));
    const sid = init.headers.get('mcp-session-id');
    assert.ok(sid, init.text.slice(0, 300));
    const hA = { ...h25, ...bearer(tokenA), 'mcp-session-id': sid };
    await post(s.url, { jsonrpc: '2.0', method: 'notifications/initialized' }, hA);
    const { video, audio } = await makePair(s.work, 53);
    const c = await post(
      s.url,
      {
        jsonrpc: '2.0',
        id: 2,
        method: 'tools/call',
        params: { name: 'create_lip_sync', arguments: { provider: 'local', video, audio } },
      },
      hA,
    );
    const taskId = rpcResult<{ structuredContent: { task_id: string } }>(c).structuredContent.task_id;
    assert.ok(taskId, c.text.slice(0, 300));
    const hB = { ...h25, ...bearer(tokenB), 'mcp-session-id': sid };
    const b = await post(
      s.url,
      { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'list_tasks', arguments: {} } },
      hB,
    );
    assert.ok(!b.text.includes(taskId), `B sees A's task through A's session: ${b.text.slice(0, 300)}`);
    assert.ok(
      b.status === 403 || b.status === 404 || b.status === 401,
      `B may use A's session: HTTP ${b.status} ${b.text.slice(0, 200)}`,
    );
    const noToken = await post(
      s.url,
      { jsonrpc: '2.0', id: 4, method: 'tools/list' },
      { ...h25, 'mcp-session-id': sid },
    );
    assert.equal(noToken.status, 401, 'a session id is no credential');
  });
});
