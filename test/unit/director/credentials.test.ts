import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import { appErrorOf, type Harness, harness, startJob, videoRequest } from './helpers.js';

let h: Harness;
afterEach(async () => {
  await h.close();
});
const dir = mkdtempSync(join(tmpdir(), 'director-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('director credentials', () => {
  it('missing token: not configured, support message, GATEWAY_TOKEN; prepare refuses', async () => {
    h = await harness({ gatewayToken: undefined, sjinnApiKey: undefined });
    const state = h.provider.credentials();
    assert.equal(state.configured, false);
    // Said for someone running this server, not only for an agent platform's user (issue 27 item 5).
    assert.doesNotMatch(state.fix ?? '', /on your agent|Contact support/);
    assert.match(state.fix ?? '', /GATEWAY_TOKEN=.*~\/\.openclaw\/\.env/);
    assert.doesNotMatch(state.fix ?? '', /sjinn/i, 'the backend is not named to the user');
    assert.equal(state.missingKey, 'GATEWAY_TOKEN');
    const err = await appErrorOf(() => startJob(h, videoRequest({ prompt: 'p' })));
    assert.equal(err.code, 'missing_credentials');
    assert.equal(err.details?.missing_key, 'GATEWAY_TOKEN');
    assert.equal(err.noTaskCreated, true);
    const credits = await h.provider.credits?.(h.startCtx.signal);
    assert.equal(credits?.configured, false);
    assert.equal(h.fake.calls.length, 0);
  });

  it('a template token counts as missing, and says it looks like a template', async () => {
    h = await harness({ gatewayToken: { template: true, source: '~/.openclaw/.env' } });
    const state = h.provider.credentials();
    assert.equal(state.configured, false);
    assert.match(state.fix ?? '', /unsubstituted template/);
    assert.match(state.fix ?? '', /~\/\.openclaw\/\.env/);
    assert.equal(state.missingKey, 'GATEWAY_TOKEN');
  });

  it('the gateway token wins over a direct key; a direct key alone uses the direct API', async () => {
    h = await harness({ gatewayToken: 'fake', sjinnApiKey: 'fake' });
    assert.deepEqual(h.provider.credentials(), { configured: true, source: 'env:GATEWAY_TOKEN' });
    await startJob(h, videoRequest({ prompt: 'p' }));
    assert.equal(h.fake.creates()[0]?.via, 'gateway');
    await h.close();
    h = await harness({ gatewayToken: undefined, sjinnApiKey: 'fake' });
    assert.deepEqual(h.provider.credentials(), { configured: true, source: 'env:SJINN_API_KEY' });
    await startJob(h, videoRequest({ prompt: 'p' }));
    assert.equal(h.fake.creates()[0]?.via, 'direct');
  });

  it('capabilities', async () => {
    h = await harness();
    assert.equal(h.provider.name, 'director');
    assert.equal(h.provider.displayName, 'The Director');
    assert.deepEqual(h.provider.capabilities, {
      kinds: ['generate_video', 'lip_sync', 'image', 'audio', 'transcript', 'post'],
      formats: {
        image: ['jpg', 'jpeg', 'png', 'webp'],
        audio: ['mp3', 'wav', 'm4a', 'aac'],
        video: ['mp4', 'mov', 'webm'],
      },
      paid: true,
    });
  });
});

describe('director credits', () => {
  it('gateway: configured, no spend, plan limits; after a 429 the limit and its reset are reported', async () => {
    const stateFile = join(dir, 'director-state.json');
    h = await harness({ gatewayToken: 'fake', stateFile });
    const before = await h.provider.credits?.(h.startCtx.signal);
    assert.equal(before?.configured, true);
    assert.equal(before?.balance?.daily_limit_reached, false);
    assert.match(before?.summary ?? '', /Starter 5, Pro 10, Power 30, BYOK 5/);
    h.fake.faults.create = ['429'];
    await appErrorOf(() => startJob(h, videoRequest({ prompt: 'p' })));
    const afterLimit = await h.provider.credits?.(h.startCtx.signal);
    assert.equal(afterLimit?.balance?.daily_limit_reached, true);
    assert.match(afterLimit?.summary ?? '', /Daily video limit reached at .*resets at midnight/);
    const resets = Date.parse(String(afterLimit?.balance?.resets_at));
    assert.ok(resets > h.clock.now() && resets - h.clock.now() <= 24 * 3600_000);
    assert.equal(h.fake.creates().length, 1, 'credits never creates');
    assert.ok(JSON.parse(readFileSync(stateFile, 'utf8')).daily_limit_seen_at);

    // Another process (same state file) knows about the limit too; after midnight it is gone.
    const clockNow = h.clock.now();
    await h.close();
    h = await harness({ gatewayToken: 'fake', stateFile });
    assert.equal((await h.provider.credits?.(h.startCtx.signal))?.balance?.daily_limit_reached, true);
    await h.clock.sleep(resets - clockNow + 1000);
    assert.equal((await h.provider.credits?.(h.startCtx.signal))?.balance?.daily_limit_reached, false);
  });

  it('a plain 429 (too many requests, Retry-After) is no daily limit: check_credits reports none', async () => {
    const stateFile = join(dir, 'director-state-rate.json');
    h = await harness({ gatewayToken: 'fake', stateFile });
    h.fake.faults.create = ['429-rate', '429-rate'];
    await appErrorOf(() => startJob(h, videoRequest({ prompt: 'p' })));
    const image = { kind: 'image' as const, inputs: {}, params: { prompt: 'a fox' } };
    await appErrorOf(() => startJob(h, image));
    const after429 = await h.provider.credits?.(h.startCtx.signal);
    assert.equal(after429?.balance?.daily_limit_reached, false);
    assert.equal(after429?.balance?.image_audio_limit_reached, false);
    assert.doesNotMatch(after429?.summary ?? '', /limit reached/i);
  });

  it('direct key: reads the account status, never creates', async () => {
    h = await harness({ gatewayToken: undefined, sjinnApiKey: 'fake' });
    const credits = await h.provider.credits?.(h.startCtx.signal);
    assert.equal(credits?.configured, true);
    assert.match(credits?.summary ?? '', /120 credits remaining/);
    assert.deepEqual(
      h.fake.calls.map((c) => c.action),
      ['account'],
    );
    assert.equal((credits?.balance?.account as Record<string, unknown> | undefined)?.credits, 120);
  });
});
