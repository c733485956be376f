import assert from 'node:assert/strict';
import { mkdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadConfig } from '../../../src/config.js';
import type { AppError } from '../../../src/errors.js';
import { createNemoVideoProvider } from '../../../src/providers/nemovideo/index.js';
import { countCalls, type Harness, harness, statusCtx } from './helpers.js';

const open: Harness[] = [];
after(async () => {
  for (const h of open) await h.close();
});
async function setup(env: Record<string, string> = {}, fakeOpts: Parameters<typeof harness>[1] = {}) {
  const h = await harness(env, fakeOpts);
  open.push(h);
  return h;
}
const signal = () => new AbortController().signal;

describe('NemoVideo auth', () => {
  it('first use without a token obtains exactly one anonymous token and caches it 0600', async () => {
    const h = await setup();
    assert.equal(h.provider.credentials().source, 'anonymous (obtained on first use)');
    const credits = await h.provider.credits!(signal());
    assert.equal(credits.summary, '100 available (0 frozen, 100 total)');
    assert.deepEqual(credits.balance, { available: 100, frozen: 0, total: 100 });
    await h.provider.credits!(signal());
    assert.equal(h.fake.state.tokensIssued, 1);
    const tokenCall = h.fake.calls.find((c) => c.path === '/api/auth/anonymous-token');
    assert.match(tokenCall?.headers['x-client-id'] ?? '', /^[0-9a-f-]{36}$/);
    assert.equal(tokenCall?.body, undefined, 'no body on the token request');

    const file = loadConfig({ env: { LIPSYNC_HOME: `${h.home}/lipsync` }, homeDir: h.home }).nemo.tokenFile;
    const st = await stat(file);
    assert.equal(st.mode & 0o777, 0o600);
    assert.equal((await stat(dirname(file))).mode & 0o777, 0o700);
    const cached = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    assert.equal(cached.client_id, tokenCall?.headers['x-client-id']);
    assert.equal(typeof cached.token, 'string');
    assert.ok(typeof cached.expires_at === 'number' && cached.expires_at > Date.now());
    assert.equal(h.provider.credentials().source, 'token cache');
    assert.equal(h.provider.credentials().configured, true);
    assert.deepEqual(h.fake.state.missingAttribution, []);
    const credit = h.fake.calls.find((c) => c.path === '/api/credits/balance/simple');
    assert.equal(credit?.headers['x-skill-source'], 'lipsync-mcp');
    assert.equal(credit?.headers['x-skill-version'], '9.9.9-test');
    assert.equal(credit?.headers['x-skill-platform'], 'lipsync-mcp');
  });

  it('a second process (same token file) reuses the cached token', async () => {
    const h = await setup();
    await h.provider.credits!(signal());
    const second = h.another();
    await second.credits!(signal());
    assert.equal(h.fake.state.tokensIssued, 1);
    const auths = new Set(
      h.fake.calls.filter((c) => c.headers.authorization).map((c) => c.headers.authorization),
    );
    assert.equal(auths.size, 1);
  });

  it('two processes starting at once end up with one anonymous token (lock file)', async () => {
    const h = await setup();
    const providers = [h.provider, h.another(), h.another(), h.another()];
    await Promise.all(providers.map((p) => p.credits!(signal())));
    assert.equal(h.fake.state.tokensIssued, 1);
    assert.equal(h.fake.state.clientIds.length, 1);
  });

  it('a stale lock left by a crashed process is removed, not waited on forever', async () => {
    const h = await setup();
    const file = loadConfig({ env: { LIPSYNC_HOME: `${h.home}/lipsync` }, homeDir: h.home }).nemo.tokenFile;
    await mkdir(dirname(file), { recursive: true });
    await writeFile(`${file}.lock`, '12345\n');
    const old = new Date(Date.now() - 60_000);
    await utimes(`${file}.lock`, old, old);
    await h.provider.credits!(signal());
    assert.equal(h.fake.state.tokensIssued, 1);
    await assert.rejects(stat(`${file}.lock`), 'lock released');
    assert.match(h.logs.text(), /stale NemoVideo token lock/);
  });

  it('an expired cached token is replaced using the same client id', async () => {
    const h = await setup({}, { tokenTtlSeconds: 2 * 3600 });
    await h.provider.credits!(signal());
    h.clock.t += 3 * 3600 * 1000; // past expiry
    await h.another().credits!(signal());
    assert.equal(h.fake.state.tokensIssued, 2);
    assert.equal(h.fake.state.clientIds.length, 1, 'client id reused');
  });

  it('code 1001 re-authenticates once (new token, same client id) and the call succeeds', async () => {
    const h = await setup();
    await h.provider.credits!(signal());
    h.fake.fail({ path: '/api/credits', code: 1001 });
    const credits = await h.provider.credits!(signal());
    assert.equal(credits.configured, true);
    assert.equal(h.fake.state.tokensIssued, 2);
    assert.equal(h.fake.state.clientIds.length, 1);
    assert.equal(countCalls(h.fake, 'GET', '/api/credits'), 3);
  });

  it('1001 twice in a row is an auth error, not a loop', async () => {
    const h = await setup();
    h.fake.fail({ path: '/api/credits', code: 1001, times: 5 });
    await assert.rejects(h.provider.credits!(signal()), (err: AppError) => err.code === 'auth');
    assert.equal(countCalls(h.fake, 'GET', '/api/credits'), 2);
    assert.equal(h.fake.state.tokensIssued, 2);
  });

  it("a user's NEMO_TOKEN is used as is; when rejected the error names it, with no re-auth", async () => {
    const h = await setup(
      { NEMO_TOKEN: 'user-token-abcdef123456' },
      { userTokens: ['user-token-abcdef123456'] },
    );
    assert.deepEqual(h.provider.credentials(), { configured: true, source: 'env:NEMO_TOKEN' });
    await h.provider.credits!(signal());
    assert.equal(h.fake.state.tokensIssued, 0);
    h.fake.fail({ path: '/api/credits', code: 1001 });
    await assert.rejects(h.provider.credits!(signal()), (err: AppError) => {
      assert.equal(err.code, 'auth');
      assert.match(err.message, /NEMO_TOKEN was rejected/);
      assert.match(err.hint ?? '', /fresh token|unset NEMO_TOKEN/);
      assert.ok(!err.message.includes('user-token-abcdef123456'));
      return true;
    });
    assert.equal(h.fake.state.tokensIssued, 0);
    assert.equal(countCalls(h.fake, 'GET', '/api/credits'), 2);
  });

  it('a template-looking NEMO_TOKEN is reported as such, before any network call', async () => {
    const h = await setup({ NEMO_TOKEN: `\${NEMO_TOKEN}` });
    const cred = h.provider.credentials();
    assert.equal(cred.configured, false);
    assert.match(cred.fix ?? '', /unsubstituted template/);
    await assert.rejects(h.provider.credits!(signal()), (err: AppError) => {
      assert.equal(err.code, 'missing_credentials');
      assert.match(err.message, /unsubstituted template/);
      return true;
    });
    assert.equal(h.fake.calls.length, 0);
  });

  it('HTTP 400 on the anonymous-token request explains the X-Client-Id problem', async () => {
    const h = await setup();
    h.fake.fail({ path: '/api/auth/anonymous-token', status: 400 });
    await assert.rejects(h.provider.credits!(signal()), (err: AppError) => {
      assert.match(err.message, /X-Client-Id/);
      return true;
    });
    assert.equal(countCalls(h.fake, 'POST', '/api/auth/anonymous-token'), 1);
  });

  it('the token never appears in logs or error messages', async () => {
    const h = await setup();
    await h.provider.credits!(signal());
    const token = (h.fake.calls.find((c) => c.headers.authorization)?.headers.authorization ?? '').slice(
      'Bearer '.length,
    );
    assert.ok(token.length > 10);
    // Force logs and errors that could carry it.
    h.log.info({ token, header: `Bearer ${token}` }, `debugging with ${token}`);
    h.fake.fail({ path: '/api/credits', code: 2001, msg: `no credits for ${token}` });
    await assert.rejects(h.provider.credits!(signal()), (err: AppError) => {
      assert.equal(err.code, 'insufficient_credits');
      assert.match(err.message, /\[REDACTED\]/);
      assert.ok(!err.message.includes(token) && !(err.hint ?? '').includes(token));
      return true;
    });
    await assert.rejects(h.provider.status({ kind: 'lip_sync', session_id: 'nope' }, statusCtx(h.log)));
    assert.ok(h.logs.text().length > 0);
    assert.ok(!h.logs.text().includes(token), 'token leaked into logs');
  });

  it('a user token is redacted from logs as soon as the provider exists', async () => {
    const h = await setup();
    const config = loadConfig({
      env: { LIPSYNC_HOME: `${h.home}/x`, NEMO_TOKEN: 'secret-user-token-987' },
      homeDir: h.home,
    });
    createNemoVideoProvider({
      config: config.nemo,
      http: h.http,
      clock: h.clock,
      log: h.log,
      redactor: h.redactor,
      version: '1',
    });
    h.log.warn('value secret-user-token-987 here');
    assert.ok(!h.logs.text().includes('secret-user-token-987'));
  });

  it('a corrupt token cache is ignored, not fatal', async () => {
    const h = await setup();
    const file = loadConfig({ env: { LIPSYNC_HOME: `${h.home}/lipsync` }, homeDir: h.home }).nemo.tokenFile;
    await h.provider.credits!(signal());
    await writeFile(file, '{ not json');
    await h.another().credits!(signal());
    assert.equal(h.fake.state.tokensIssued, 2);
  });
});
