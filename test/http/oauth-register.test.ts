/**
 * A host registers and signs a user in the way the 2026-07-28 revision prefers (issue 29 item 2), with
 * the v2 SDK client's own OAuth support (an OAuthClientProvider on its transport) against a real issuer
 * (oidc-provider on loopback, its own login and consent pages): the client's first request gets our 401,
 * it finds the protected-resource metadata from it, then the issuer's metadata, registers itself
 * (dynamic client registration), sends the user to the issuer (authorization code, PKCE S256, a resource
 * indicator), and the test signs the user in over HTTP as a browser would. The client exchanges the
 * code and calls tools, as that user.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  Client as Client2,
  StreamableHTTPClientTransport as Http2,
  InsufficientScopeError,
  type OAuthClientProvider,
  type OAuthDiscoveryState,
  type StoredOAuthClientInformation,
  type StoredOAuthTokens,
  UnauthorizedError,
} from '@modelcontextprotocol/client';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { structured } from '../helpers/app.js';
import { type MetadataHost, opensslSkip, startMetadataHost } from '../helpers/client-metadata.js';
import { makePair } from '../helpers/clips.js';
import { PAY_SCOPE, READ_SCOPE, startIssuer, type TestIssuer } from '../helpers/oidc.js';
import { type OAuthServed, serveOAuth } from './oauth-helpers.js';

/** Where the issuer sends the user back with the code (never contacted: the test reads the redirect). */
const REDIRECT = 'http://127.0.0.1:9/callback';

/** A host's OAuth state for one user, in memory: what the SDK asks a provider to keep. */
class HostOAuth implements OAuthClientProvider {
  client?: StoredOAuthClientInformation;
  saved?: StoredOAuthTokens;
  verifier = '';
  /** The issuer's authorization URL the SDK sent the user to. */
  sentTo?: URL;
  constructor(readonly clientMetadataUrl?: string) {}
  get redirectUrl() {
    return REDIRECT;
  }
  get clientMetadata() {
    return {
      client_name: 'lipsync test host',
      redirect_uris: [REDIRECT],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }
  clientInformation() {
    return this.client;
  }
  saveClientInformation(info: StoredOAuthClientInformation) {
    this.client = info;
  }
  tokens() {
    return this.saved;
  }
  saveTokens(tokens: StoredOAuthTokens) {
    this.saved = tokens;
  }
  redirectToAuthorization(url: URL) {
    this.sentTo = url;
  }
  saveCodeVerifier(v: string) {
    this.verifier = v;
  }
  codeVerifier() {
    return this.verifier;
  }
  discovery?: OAuthDiscoveryState;
  saveDiscoveryState(state: OAuthDiscoveryState) {
    this.discovery = state;
  }
  discoveryState() {
    return this.discovery;
  }
}

/**
 * The user's browser at the issuer: follows its redirects with its cookies, signs in as `login` on the
 * login page and continues on the consent page (oidc-provider's devInteractions forms), and stops at
 * the redirect back to the host, which it returns.
 */
async function signIn(start: URL, login: string): Promise<URL> {
  const jar = new Map<string, string>();
  const cookie = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  let url = start.href;
  let body: URLSearchParams | undefined;
  for (let hop = 0; hop < 20; hop++) {
    const res = await fetch(url, {
      method: body ? 'POST' : 'GET',
      redirect: 'manual',
      headers: { cookie: cookie(), ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
      ...(body ? { body } : {}),
    });
    for (const c of res.headers.getSetCookie()) {
      const [pair = ''] = c.split(';');
      const eq = pair.indexOf('=');
      jar.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    body = undefined;
    const location = res.headers.get('location');
    if (location) {
      const next = new URL(location, url);
      if (next.href.startsWith(REDIRECT)) return next;
      url = next.href;
      continue;
    }
    const html = await res.text();
    assert.equal(res.status, 200, html.slice(0, 2000));
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
    const prompt = /name="prompt" value="([^"]+)"/.exec(html)?.[1];
    assert.ok(action && prompt, `a login or consent form: ${html.slice(0, 2000)}`);
    url = new URL(action, url).href;
    body = new URLSearchParams(prompt === 'login' ? { prompt, login, password: 'any' } : { prompt });
  }
  throw new Error('the issuer never sent the user back');
}

/** Every request the host's client makes, `METHOD url`. */
function recording(log: string[]): typeof fetch {
  return (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    log.push(`${init?.method ?? (input instanceof Request ? input.method : 'GET')} ${url}`);
    return fetch(input, init);
  };
}

/** A v2 client over `transport`, pinned to 2026-07-28. */
function modernClient() {
  return new Client2(
    { name: 'host-2026', version: '1' },
    { capabilities: {}, versionNegotiation: { mode: { pin: '2026-07-28' } } },
  );
}

describe('a host registers itself and signs a user in (authorization code + PKCE, SDK v2 client)', () => {
  let issuer: TestIssuer;
  let s: OAuthServed;
  before(async () => {
    issuer = await startIssuer({ clients: [], interactive: true });
    s = await serveOAuth(issuer.issuer);
  });
  after(async () => {
    await s?.stop();
    await issuer?.close();
  });

  test('401 -> protected-resource metadata -> issuer metadata -> registration -> sign-in -> code for a token -> tools', async () => {
    const url = s.server.url;
    const host = new HostOAuth();
    const requests: string[] = [];
    const first = new Http2(new URL(url), { authProvider: host, fetch: recording(requests) });
    await assert.rejects(modernClient().connect(first), UnauthorizedError);

    // What the SDK did on its own before sending the user to sign in.
    const origin = new URL(url).origin;
    const prm = `GET ${origin}/.well-known/oauth-protected-resource/mcp`;
    assert.ok(
      requests.includes(prm),
      `protected-resource metadata found from the 401:\n${requests.join('\n')}`,
    );
    assert.ok(
      requests.some((r) => r.startsWith(`GET ${issuer.issuer}/.well-known/`)),
      requests.join('\n'),
    );
    assert.ok(requests.includes(`POST ${issuer.issuer}/reg`), `registered itself:\n${requests.join('\n')}`);
    assert.ok(host.client?.client_id, 'the issuer gave it a client id');
    const sentTo = host.sentTo;
    assert.ok(sentTo, 'the user is sent to the issuer');
    assert.equal(sentTo.origin, issuer.issuer);
    assert.equal(sentTo.searchParams.get('code_challenge_method'), 'S256');
    assert.equal(sentTo.searchParams.get('resource'), url, 'the token is asked for this resource');

    // Our 401 names both scopes the connector's tools need, so the host registers and asks for both
    // and the user consents once. (Naming only the read scope, a paid call sent the user to the issuer
    // again, mid-call, and the issuer refused the pay scope to a client registered with the read one.)
    assert.deepEqual(sentTo.searchParams.get('scope')?.split(' ').sort(), [PAY_SCOPE, READ_SCOPE].sort());

    const back = await signIn(sentTo, 'carol');
    assert.ok(back.searchParams.get('code'), back.href);
    await first.finishAuth(back.searchParams);
    assert.ok(host.saved?.access_token, 'the code was exchanged for a token');

    const client = modernClient();
    await client.connect(new Http2(new URL(url), { authProvider: host, fetch: recording(requests) }));
    try {
      const tool = async (name: string, args: Record<string, unknown>) =>
        (await client.callTool({ name, arguments: args }, { timeout: 60_000 })) as CallToolResult;
      const listed = structured<{ tasks: unknown[] }>(await tool('list_tasks', {}));
      assert.deepEqual(listed.tasks, [], 'a new user has no tasks');
      const pair = await makePair(s.env.work, 2960);
      const created = await tool('create_lip_sync', { ...pair, provider: 'jogg' });
      assert.notEqual(created.isError, true, JSON.stringify(created.content));
      const id = structured<{ task_id: string }>(created).task_id;
      const row = await s.app.ledger.get(id);
      assert.equal(row?.principal, `${issuer.issuer}#carol`, 'the task belongs to the user who signed in');
      assert.equal(s.fake.count('POST', '/v2/create_lip_sync_video'), 1);
      const authorizations = requests.filter((r) => r.startsWith(`POST ${issuer.issuer}/token`));
      assert.equal(authorizations.length, 1, `one sign-in, one code exchanged:\n${requests.join('\n')}`);
    } finally {
      await client.close();
    }
  });

  test('a host that steps up itself (onInsufficientScope: throw): the 403 names the scope to grant and why', async () => {
    const url = s.server.url;
    const host = new HostOAuth();
    const first = new Http2(new URL(url), { authProvider: host });
    await assert.rejects(modernClient().connect(first), UnauthorizedError);
    // The user grants only the read scope (the issuer's policy, or a host that asks for less).
    const readOnly = new URL(host.sentTo!.href);
    readOnly.searchParams.set('scope', READ_SCOPE);
    await first.finishAuth((await signIn(readOnly, 'dave')).searchParams);
    const client = modernClient();
    await client.connect(new Http2(new URL(url), { authProvider: host, onInsufficientScope: 'throw' }));
    try {
      const listed = structured<{ tasks: unknown[] }>(
        (await client.callTool({ name: 'list_tasks', arguments: {} })) as CallToolResult,
      );
      assert.deepEqual(listed.tasks, [], 'reading needs only the read scope');
      const pair = await makePair(s.env.work, 2961);
      await assert.rejects(
        client.callTool({ name: 'create_lip_sync', arguments: { ...pair, provider: 'jogg' } }),
        (err: InsufficientScopeError) => {
          assert.ok(err instanceof InsufficientScopeError, String(err));
          assert.equal(err.requiredScope?.includes(PAY_SCOPE), true, JSON.stringify(err));
          assert.match(err.errorDescription ?? '', /needs the tasks:pay scope/);
          return true;
        },
      );
      assert.equal(s.fake.count('POST', '/v2/create_lip_sync_video'), 1, 'only the first test paid');
    } finally {
      await client.close();
    }
  });
});

describe('a host whose client id is its metadata document (client ID metadata documents)', {
  skip: opensslSkip,
}, () => {
  let issuer: TestIssuer;
  let s: OAuthServed;
  let docs: MetadataHost;
  before(async () => {
    docs = await startMetadataHost();
    issuer = await startIssuer({ clients: [], interactive: true, metadataDocuments: docs });
    s = await serveOAuth(issuer.issuer);
  });
  after(async () => {
    await s?.stop();
    await issuer?.close();
    await docs?.close();
  });

  test('no registration: the issuer reads the document at the client id; sign-in, code, tools', async () => {
    const url = s.server.url;
    const clientId = docs.url('/hosts/lipsync-test-host.json');
    const host = new HostOAuth(clientId);
    docs.publish('/hosts/lipsync-test-host.json', { client_id: clientId, ...host.clientMetadata });
    const requests: string[] = [];
    const first = new Http2(new URL(url), { authProvider: host, fetch: recording(requests) });
    await assert.rejects(modernClient().connect(first), UnauthorizedError);
    assert.ok(!requests.some((r) => r.endsWith('/reg')), `no dynamic registration:\n${requests.join('\n')}`);
    assert.equal(host.client?.client_id, clientId, 'the client id is the document URL');
    const sentTo = host.sentTo!;
    assert.equal(sentTo.searchParams.get('client_id'), clientId);

    await first.finishAuth((await signIn(sentTo, 'erin')).searchParams);
    assert.ok(docs.fetched.includes('/hosts/lipsync-test-host.json'), 'the issuer read the document');
    const client = modernClient();
    await client.connect(new Http2(new URL(url), { authProvider: host }));
    try {
      const r = (await client.callTool({ name: 'list_tasks', arguments: {} })) as CallToolResult;
      assert.deepEqual(structured<{ tasks: unknown[] }>(r).tasks, []);
    } finally {
      await client.close();
    }
  });
});
