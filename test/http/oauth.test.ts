/**
 * `serve --http` as an OAuth 2.1 resource server (issue 29 items 1, 2 and 4), against a real issuer on
 * loopback (oidc-provider): every token here comes from its token endpoint.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PAY_SCOPE, READ_SCOPE, startIssuer, type TestClient, type TestIssuer } from '../helpers/oidc.js';
import { raw } from './helpers.js';
import { initialize, messageOf, type OAuthServed, rpc, serveOAuth } from './oauth-helpers.js';

const client = (id: string, scope: string): TestClient => ({
  client_id: id,
  client_secret: `${id}-secret-0123456789abcdef0123456789`,
  scope,
});
const alice = client('alice', `${READ_SCOPE} ${PAY_SCOPE}`);
const reader = client('reader', READ_SCOPE);
const payer = client('payer', PAY_SCOPE);

const challengeOf = (h: string | string[] | undefined) => String(h ?? '');

describe('OAuth resource server (JWT access tokens, JWKS)', () => {
  let issuer: TestIssuer;
  let other: TestIssuer;
  let s: OAuthServed;
  let resource: string;
  before(async () => {
    issuer = await startIssuer({ clients: [alice, reader, payer], ttlSeconds: 300 });
    other = await startIssuer({ clients: [alice] });
    s = await serveOAuth(issuer.issuer, { LIPSYNC_OAUTH_CLOCK_SKEW_SECONDS: '60' });
    resource = s.server.url;
  });
  after(async () => {
    await s.stop();
    await issuer.close();
    await other.close();
  });

  test('protected-resource metadata names this resource, the issuer and the scopes', async () => {
    const base = new URL(resource);
    const res = await fetch(`${base.origin}/.well-known/oauth-protected-resource/mcp`);
    assert.equal(res.status, 200);
    const doc = (await res.json()) as Record<string, unknown>;
    assert.equal(doc.resource, resource);
    assert.deepEqual(doc.authorization_servers, [issuer.issuer]);
    assert.deepEqual(doc.scopes_supported, [READ_SCOPE, PAY_SCOPE]);
  });

  test('no token: 401 whose WWW-Authenticate points at the metadata and names the scopes to ask for', async () => {
    const res = await initialize(resource, undefined);
    assert.equal(res.status, 401);
    const ch = challengeOf(res.headers['www-authenticate']);
    assert.match(ch, /^Bearer /);
    assert.match(
      ch,
      /resource_metadata="http:\/\/127\.0\.0\.1:\d+\/\.well-known\/oauth-protected-resource\/mcp"/,
    );
    // The scopes a client asks for when it signs the user in (MCP scope selection): both, consented once.
    assert.match(ch, new RegExp(`scope="${READ_SCOPE} ${PAY_SCOPE}"`));
  });

  test('a token from the issuer for this resource opens a session; its tools list', async () => {
    const token = await issuer.token(alice, { resource, scope: `${READ_SCOPE} ${PAY_SCOPE}` });
    const res = await initialize(resource, token);
    assert.equal(res.status, 200, res.body);
    const session = String(res.headers['mcp-session-id']);
    const tools = await rpc(resource, token, session, 'tools/list', {});
    assert.equal(tools.status, 200);
    assert.ok(((messageOf(tools.body).result?.tools as unknown[]) ?? []).length > 0);
  });

  test('a token for another audience: 401 naming the resource', async () => {
    const token = await issuer.token(alice, { resource: 'http://127.0.0.1:1/other-mcp', scope: READ_SCOPE });
    const res = await initialize(resource, token);
    assert.equal(res.status, 401);
    assert.match(res.body, /another resource/);
  });

  test('a token from another issuer: 401', async () => {
    const token = await other.token(alice, { resource, scope: READ_SCOPE });
    const res = await initialize(resource, token);
    assert.equal(res.status, 401);
    assert.match(res.body, /another issuer|key the issuer does not publish/);
  });

  test('an expired token: 401 saying so; clock skew within the allowance passes, beyond it fails', async () => {
    const token = await issuer.token(alice, { resource, scope: READ_SCOPE });
    try {
      // Our clock 30 s past the token's expiry: within the 60 s allowance.
      s.clock.offsetMs = (300 + 30) * 1000;
      assert.equal((await initialize(resource, token)).status, 200);
      // Our clock 2 minutes behind the issuer's (the token looks issued in the future): accepted.
      s.clock.offsetMs = -120_000;
      assert.equal((await initialize(resource, token)).status, 200);
      // 90 s past expiry: beyond the allowance.
      s.clock.offsetMs = (300 + 90) * 1000;
      const res = await initialize(resource, token);
      assert.equal(res.status, 401);
      assert.match(res.body, /expired/);
    } finally {
      s.clock.offsetMs = 0;
    }
  });

  test('a garbled or tampered token: 401, and the token never reaches the log', async () => {
    const token = await issuer.token(alice, { resource, scope: READ_SCOPE });
    const [h, p, sig] = token.split('.') as [string, string, string];
    const body = JSON.parse(Buffer.from(p, 'base64url').toString());
    body.sub = 'mallory';
    const forged = `${h}.${Buffer.from(JSON.stringify(body)).toString('base64url')}.${sig}`;
    assert.equal((await initialize(resource, forged)).status, 401);
    assert.equal((await initialize(resource, 'not-a-token')).status, 401);
    assert.ok(!s.logs.join('').includes(sig), 'a signature in the log');
  });

  test('missing scope: no read scope is 403; a paid tool without the pay scope is 403 insufficient_scope', async () => {
    const payOnly = await issuer.token(payer, { resource, scope: PAY_SCOPE });
    const refused = await initialize(resource, payOnly);
    assert.equal(refused.status, 403);
    assert.match(challengeOf(refused.headers['www-authenticate']), /insufficient_scope/);

    const readOnly = await issuer.token(reader, { resource, scope: READ_SCOPE });
    const init = await initialize(resource, readOnly);
    assert.equal(init.status, 200);
    const session = String(init.headers['mcp-session-id']);
    const listed = await rpc(resource, readOnly, session, 'tools/call', {
      name: 'list_tasks',
      arguments: {},
    });
    assert.equal(listed.status, 200);
    const paid = await rpc(resource, readOnly, session, 'tools/call', {
      name: 'create_lip_sync',
      arguments: { video: 'https://example.com/v.mp4', audio: 'https://example.com/a.mp3' },
    });
    assert.equal(paid.status, 403);
    const ch = challengeOf(paid.headers['www-authenticate']);
    assert.match(ch, /error="insufficient_scope"/);
    assert.match(ch, new RegExp(`scope="${READ_SCOPE} ${PAY_SCOPE}"`));
    assert.match(ch, /resource_metadata=/);
    assert.match(paid.body, /create_lip_sync can pay for a job, which needs the tasks:pay scope/);
  });

  test("another principal's token cannot use a session it did not open", async () => {
    const a = await issuer.token(alice, { resource, scope: READ_SCOPE });
    const r = await issuer.token(reader, { resource, scope: READ_SCOPE });
    const session = String((await initialize(resource, a)).headers['mcp-session-id']);
    const res = await rpc(resource, r, session, 'tools/list', {});
    assert.equal(res.status, 404);
  });

  test('signing keys rotate: after the issuer restarts with a new key, its new tokens pass', async () => {
    const before = await issuer.token(alice, { resource, scope: READ_SCOPE });
    assert.equal((await initialize(resource, before)).status, 200);
    await issuer.close();
    issuer = await startIssuer({ clients: [alice, reader, payer], port: issuer.port });
    const afterRotation = await issuer.token(alice, { resource, scope: READ_SCOPE });
    try {
      // An unknown key id refetches the key set, at most once per 30 s cooldown (by this server's clock).
      s.clock.offsetMs = 31_000;
      assert.equal((await initialize(resource, afterRotation)).status, 200);
    } finally {
      s.clock.offsetMs = 0;
    }
    // The old key is gone from the issuer's set: a token signed with it no longer passes.
    assert.equal((await initialize(resource, before)).status, 401);
  });
});

describe('OAuth resource server (opaque tokens, introspection)', () => {
  let issuer: TestIssuer;
  let s: OAuthServed;
  let resource: string;
  const rs = client('lipsync-rs', READ_SCOPE);
  before(async () => {
    issuer = await startIssuer({ clients: [alice, rs], format: 'opaque' });
    s = await serveOAuth(issuer.issuer, {
      LIPSYNC_OAUTH_CLIENT_ID: rs.client_id,
      LIPSYNC_OAUTH_CLIENT_SECRET: rs.client_secret,
    });
    resource = s.server.url;
  });
  after(async () => {
    await s.stop();
    await issuer.close();
  });

  test('an opaque token is checked by introspection; a revoked token fails', async () => {
    const token = await issuer.token(alice, { resource, scope: READ_SCOPE });
    assert.equal((await initialize(resource, token)).status, 200);
    await issuer.revoke(alice, token);
    const res = await initialize(resource, token);
    assert.equal(res.status, 401);
    assert.match(res.body, /not active/);
  });

  test('a revoked client (registered dynamically, its access revoked, then deleted): its token fails, no new one comes', async () => {
    const dyn = await issuer.register(READ_SCOPE);
    const token = await issuer.token(dyn, { resource, scope: READ_SCOPE });
    assert.equal((await initialize(resource, token)).status, 200);
    // oidc-provider keeps a deleted client's tokens alive, so the administrator revokes them first.
    await issuer.revoke(dyn, token);
    await issuer.unregister(dyn);
    assert.equal((await initialize(resource, token)).status, 401);
    await assert.rejects(issuer.token(dyn, { resource, scope: READ_SCOPE }), /invalid_client/);
  });

  test('no token: the challenge still points at the metadata', async () => {
    const res = await raw(resource, { method: 'GET' });
    assert.equal(res.status, 401);
    assert.match(challengeOf(res.headers['www-authenticate']), /resource_metadata=/);
  });
});

describe('OAuth with 2025 clients served statelessly (LIPSYNC_HTTP_SESSIONS=stateless, behind a balancer)', () => {
  let issuer: TestIssuer;
  let s: OAuthServed;
  let resource: string;
  before(async () => {
    issuer = await startIssuer({ clients: [alice, reader] });
    s = await serveOAuth(issuer.issuer, { LIPSYNC_HTTP_SESSIONS: 'stateless' });
    resource = s.server.url;
  });
  after(async () => {
    await s.stop();
    await issuer.close();
  });

  test('no token is 401; a paid tool without the pay scope is 403 insufficient_scope, as with sessions', async () => {
    const none = await rpc(resource, undefined, 'any', 'tools/call', { name: 'list_tasks', arguments: {} });
    assert.equal(none.status, 401);
    const readOnly = await issuer.token(reader, { resource, scope: READ_SCOPE });
    const listed = await rpc(resource, readOnly, 'any', 'tools/call', { name: 'list_tasks', arguments: {} });
    assert.equal(listed.status, 200, listed.body);
    const paid = await rpc(resource, readOnly, 'any', 'tools/call', {
      name: 'create_lip_sync',
      arguments: { video: 'https://example.com/v.mp4', audio: 'https://example.com/a.mp3' },
    });
    assert.equal(paid.status, 403, paid.body);
    assert.match(challengeOf(paid.headers['www-authenticate']), /error="insufficient_scope"/);
  });
});
