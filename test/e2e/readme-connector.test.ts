/**
 * The README's remote-connector setup works as written (issue 29): its command, run from this checkout
 * (the path placeholder replaced, the issuer and the Jogg key pointed at loopback, `--port 0`), serves
 * what its step 3 says, to requests that come the way a TLS proxy in front of it passes them on
 * (`Host: lipsync.example.com`, the host's Origin): the 401 and its pointer, the protected-resource
 * metadata, and a user's token from the issuer for `https://lipsync.example.com/mcp` opens a session.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type FakeJogg, startFakeJogg } from '../fakes/jogg/index.js';
import { type TestEnv, testEnv } from '../helpers/app.js';
import { type Instance, startServe } from '../helpers/cluster.js';
import { BOTH_SCOPES, startIssuer, type TestIssuer, userClient } from '../helpers/oidc.js';
import { INIT, JSON_HEADERS, raw } from '../http/helpers.js';
import { messageOf } from '../http/oauth-helpers.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const section = readme.slice(
  readme.indexOf('## Remote connector'),
  readme.indexOf('\n## ', readme.indexOf('## Remote connector') + 5),
);
const CHECKOUT_CLI = 'node /absolute/path/to/lipsync-mcp/dist/bin/lipsync-mcp.js';
const alice = userClient('alice');

/** The README's command: its environment assignments and the CLI's arguments. */
function readmeCommand(): { env: Record<string, string>; args: string[] } {
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(block, 'the section has a command');
  const words = block.replace(/\\\n/g, ' ').trim().split(/\s+/);
  const env: Record<string, string> = {};
  while (/^[A-Z_]+=/.test(words[0] ?? '')) {
    const w = words.shift() as string;
    env[w.slice(0, w.indexOf('='))] = w.slice(w.indexOf('=') + 1);
  }
  const command = words.join(' ');
  assert.ok(
    command.startsWith(`${CHECKOUT_CLI} serve --http`),
    `runs the checkout's CLI (npx -y lipsync-mcp answers 404 until the package is published): ${command}`,
  );
  return { env, args: command.slice(`${CHECKOUT_CLI} serve --http`.length).trim().split(' ') };
}

describe("the README's remote-connector setup, as written", () => {
  let issuer: TestIssuer;
  let fake: FakeJogg;
  let env: TestEnv;
  let server: Instance | undefined;
  let resource = '';
  let origin = '';
  let port = '';
  /** A request as the TLS proxy passes it on: to the instance, with the public name as Host. */
  const send = (path: string, o: { method?: string; headers?: Record<string, string>; body?: string }) =>
    raw(`http://127.0.0.1:${port}${path}`, {
      ...o,
      headers: { host: new URL(resource).host, origin, ...o.headers },
    });

  before(async () => {
    const { env: given, args } = readmeCommand();
    resource = given.LIPSYNC_OAUTH_RESOURCE ?? '';
    origin = given.LIPSYNC_ALLOWED_ORIGINS ?? '';
    assert.match(resource, /^https:\/\/[^/]+\/mcp$/);
    issuer = await startIssuer({ clients: [alice], resources: (r) => r === resource });
    fake = await startFakeJogg();
    env = testEnv({
      ...given,
      LIPSYNC_OAUTH_ISSUER: issuer.issuer,
      JOGG_API_KEY: fake.apiKey,
      JOGG_BASE_URL: fake.url,
    });
    server = await startServe(env.env, [...args, '--port', '0']);
    port = new URL(server.url).port;
  });
  after(async () => {
    server?.child.kill('SIGTERM');
    await server?.exited;
    await fake?.close();
    await issuer?.close();
    env?.cleanup();
  });

  test('step 3: the first request gets 401 whose WWW-Authenticate is the one the README shows', async () => {
    const res = await send('/mcp', { headers: JSON_HEADERS, body: INIT });
    assert.equal(res.status, 401, `${res.status} ${res.body}`);
    const challenge = String(res.headers['www-authenticate']);
    const shown = /`WWW-Authenticate: (Bearer [^`]+)`/.exec(section)?.[1];
    assert.ok(shown, 'the README shows the header');
    for (const part of shown.split(/,\s*/).filter((p) => !p.includes('…')))
      assert.ok(challenge.includes(part), `the header has ${part}: ${challenge}`);
  });

  test('the metadata it points at names this resource, the issuer and the scopes', async () => {
    const path = new URL(resource).pathname;
    const res = await send(`/.well-known/oauth-protected-resource${path}`, { method: 'GET' });
    assert.equal(res.status, 200, res.body);
    const doc = JSON.parse(res.body) as Record<string, unknown>;
    assert.equal(doc.resource, resource);
    assert.deepEqual(doc.authorization_servers, [issuer.issuer]);
    assert.deepEqual(doc.scopes_supported, BOTH_SCOPES.split(' '));
  });

  test("a user's token from the issuer for the README's resource opens a session; its tools list", async () => {
    const token = await issuer.token(alice, { resource, scope: BOTH_SCOPES });
    const auth = { ...JSON_HEADERS, authorization: `Bearer ${token}` };
    const init = await send('/mcp', { headers: auth, body: INIT });
    assert.equal(init.status, 200, init.body);
    const session = String(init.headers['mcp-session-id']);
    const tools = await send('/mcp', {
      headers: { ...auth, 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} }),
    });
    assert.equal(tools.status, 200, tools.body);
    assert.ok(((messageOf(tools.body).result?.tools as unknown[]) ?? []).length > 0, tools.body);
  });
});
