import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { AppError } from '../../../src/errors.js';
import {
  countCalls,
  drain,
  fileInput,
  type Harness,
  harness,
  prepareCtx,
  request,
  startCtx,
} from './helpers.js';

const open: Harness[] = [];
after(async () => {
  for (const h of open) await h.close();
});
async function setup() {
  const h = await harness();
  open.push(h);
  return h;
}
const signal = () => new AbortController().signal;

describe('NemoVideo error codes', () => {
  it('1001 during prepare: one re-auth (same client id) and the job goes on', async () => {
    const h = await setup();
    await h.provider.credits!(signal());
    h.fake.fail({ path: '/api/tasks/me/with-session', code: 1001 });
    const video = await fileInput(h.home, 'v.mp4', 'video/mp4');
    const audio = await fileInput(h.home, 'a.mp3', 'audio/mpeg');
    const prepared = await h.provider.prepare(
      request('lip_sync', { video, audio }),
      prepareCtx(h.provider, h.log),
    );
    assert.equal(h.fake.state.tokensIssued, 2);
    assert.equal(h.fake.state.clientIds.length, 1);
    assert.equal(countCalls(h.fake, 'POST', '/api/tasks/me/with-session'), 2);
    const final = (await drain((await h.provider.start(prepared, startCtx(h.log))).events)).at(-1);
    assert.equal(final?.status, 'success');
  });

  it('1001 on the paid message: re-auth once and send once more (the first was refused)', async () => {
    const h = await setup();
    const video = await fileInput(h.home, 'v.mp4', 'video/mp4');
    const audio = await fileInput(h.home, 'a.mp3', 'audio/mpeg');
    const prepared = await h.provider.prepare(
      request('lip_sync', { video, audio }),
      prepareCtx(h.provider, h.log),
    );
    h.fake.fail({ path: '/run_sse', code: 1001 });
    const final = (await drain((await h.provider.start(prepared, startCtx(h.log))).events)).at(-1);
    assert.equal(final?.status, 'success');
    assert.equal(countCalls(h.fake, 'POST', '/run_sse'), 2);
    assert.equal(h.fake.state.runSseCalls, 1, 'one message accepted');
  });

  it('4001 on upload: invalid_input naming the file and listing the formats; no retry', async () => {
    const h = await setup();
    h.fake.fail({ path: '/api/upload-video', code: 4001 });
    const video = await fileInput(h.home, 'clip.flv', 'video/x-flv');
    const audio = await fileInput(h.home, 'a.mp3', 'audio/mpeg');
    await assert.rejects(
      h.provider.prepare(request('lip_sync', { video, audio }), prepareCtx(h.provider, h.log)),
      (err: AppError) => {
        assert.equal(err.code, 'invalid_input');
        assert.match(err.message, /"clip\.flv"/);
        assert.match(err.hint ?? '', /mp4, mov, avi, webm, mkv/);
        assert.match(err.hint ?? '', /mp3, wav, m4a, aac/);
        assert.match(err.hint ?? '', /jpg, png, gif, webp/);
        return true;
      },
    );
    assert.equal(countCalls(h.fake, 'POST', '/api/upload-video'), 1);
  });

  it('4002 on upload: invalid_input suggesting compress or trim; no retry', async () => {
    const h = await setup();
    h.fake.fail({ path: '/api/upload-video', code: 4002 });
    const video = await fileInput(h.home, 'huge.mp4', 'video/mp4');
    await assert.rejects(h.provider.upload!(video, 'video', undefined, signal()), (err: AppError) => {
      assert.equal(err.code, 'invalid_input');
      assert.match(err.message, /"huge\.mp4" is too large/);
      assert.match(err.hint ?? '', /Compress.*trim/);
      return true;
    });
    assert.equal(countCalls(h.fake, 'POST', '/api/upload-video'), 1);
  });

  it('2001: insufficient_credits, once', async () => {
    const h = await setup();
    h.fake.fail({ path: '/api/tasks/me/with-session', code: 2001 });
    await assert.rejects(
      h.provider.upload!(await fileInput(h.home, 'v.mp4', 'video/mp4'), 'video', undefined, signal()),
      (err: AppError) => {
        assert.equal(err.code, 'insufficient_credits');
        assert.match(err.hint ?? '', /Register at https:\/\/nemovideo\.ai\/\?bind=anon_/);
        return true;
      },
    );
    assert.equal(countCalls(h.fake, 'POST', '/api/tasks/me/with-session'), 1);
  });

  it('402 outside export is still plan_required, with no retry', async () => {
    const h = await setup();
    h.fake.fail({ path: '/api/credits', status: 402 });
    await assert.rejects(h.provider.credits!(signal()), (err: AppError) => err.code === 'plan_required');
    assert.equal(countCalls(h.fake, 'GET', '/api/credits'), 1);
  });

  it('429: waits 30 s on the injected clock and retries once, then succeeds', async () => {
    const h = await setup();
    await h.provider.credits!(signal());
    h.clock.sleeps = [];
    const t0 = h.clock.now();
    h.fake.fail({ path: '/api/credits', status: 429 });
    const credits = await h.provider.credits!(signal());
    assert.equal(credits.configured, true);
    assert.deepEqual(h.clock.sleeps, [30_000]);
    assert.equal(h.clock.now() - t0, 30_000);
    assert.equal(countCalls(h.fake, 'GET', '/api/credits'), 3);
  });

  it('429 twice: rate_limited after exactly one wait; on the paid message it proves no task', async () => {
    const h = await setup();
    const video = await fileInput(h.home, 'v.mp4', 'video/mp4');
    const audio = await fileInput(h.home, 'a.mp3', 'audio/mpeg');
    const prepared = await h.provider.prepare(
      request('lip_sync', { video, audio }),
      prepareCtx(h.provider, h.log),
    );
    h.clock.sleeps = [];
    h.fake.fail({ path: '/run_sse', status: 429, times: 5 });
    await assert.rejects(h.provider.start(prepared, startCtx(h.log)), (err: AppError) => {
      assert.equal(err.code, 'rate_limited');
      assert.equal(err.retryAfterMs, 30_000);
      assert.equal(err.noTaskCreated, true);
      return true;
    });
    assert.deepEqual(h.clock.sleeps, [30_000]);
    assert.equal(countCalls(h.fake, 'POST', '/run_sse'), 2);
    assert.equal(h.fake.state.runSseCalls, 0);
  });

  it('429 on the anonymous-token request: one 30 s wait, then the token', async () => {
    const h = await setup();
    h.fake.fail({ path: '/api/auth/anonymous-token', status: 429 });
    await h.provider.credits!(signal());
    assert.deepEqual(h.clock.sleeps, [30_000]);
    assert.equal(h.fake.state.tokensIssued, 1);
  });

  it('an unknown code is a provider error quoting NemoVideo, not a crash', async () => {
    const h = await setup();
    h.fake.fail({ path: '/api/credits', code: 5555, msg: 'maintenance window' });
    await assert.rejects(h.provider.credits!(signal()), (err: AppError) => {
      assert.equal(err.code, 'provider_failed');
      assert.match(err.message, /code 5555 \(NemoVideo said: "maintenance window"\)/);
      return true;
    });
  });
});
