import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { type FakeDirector, startFakeDirector } from '../fakes/director/index.js';
import { type FakeJogg, startFakeJogg } from '../fakes/jogg/index.js';
import { harness, testEnv, writeBytes } from '../helpers/app.js';

type Body = { error: { code: string; message: string; hint?: string; details?: Record<string, unknown> } };

/** The whole `{error:{...}}` body of a failed tool call, details included. */
function bodyOf(r: CallToolResult): Body['error'] {
  assert.equal(r.isError, true, `expected an error, got ${JSON.stringify(r.structuredContent)}`);
  return (JSON.parse((r.content[0] as { text: string }).text) as Body).error;
}

/** rate_limited carries its wait as a number in the public details, so an agent can wait on it. */
describe('rate_limited: the Retry-After wait is in the error details (retry_after_seconds)', () => {
  let jogg: FakeJogg;
  let director: FakeDirector;
  before(async () => {
    [jogg, director] = await Promise.all([startFakeJogg(), startFakeDirector()]);
  });
  after(async () => {
    await Promise.all([jogg.close(), director.close()]);
  });

  test("Jogg's envelope code 429 (HTTP 200): retry_after_seconds 60", async () => {
    const env = testEnv({ JOGG_API_KEY: jogg.apiKey, JOGG_BASE_URL: jogg.url });
    const h = await harness(env.env);
    try {
      jogg.faults.createCode = 429;
      const r = await h.call('create_lip_sync', {
        provider: 'jogg',
        video: writeBytes(join(env.work, 'rl.mp4'), 'rate-video'),
        audio: writeBytes(join(env.work, 'rl.wav'), 'rate-audio'),
      });
      const e = bodyOf(r);
      assert.equal(e.code, 'rate_limited', e.message);
      assert.equal(e.details?.retry_after_seconds, 60, JSON.stringify(e));
    } finally {
      jogg.faults.createCode = undefined;
      await h.close();
      env.cleanup();
    }
  });

  test("The Director's plain HTTP 429 with Retry-After: 20: retry_after_seconds 20", async () => {
    const env = testEnv({ GATEWAY_TOKEN: director.token, DIRECTOR_GATEWAY_URL: director.url });
    const h = await harness(env.env);
    try {
      director.faults.create = ['429-rate'];
      const e = bodyOf(await h.call('generate_video', { prompt: 'rate: a lighthouse at dusk' }));
      assert.equal(e.code, 'rate_limited', e.message);
      assert.equal(e.details?.retry_after_seconds, 20, JSON.stringify(e));
      assert.equal(e.details?.http_status, 429);
    } finally {
      director.faults.create = [];
      await h.close();
      env.cleanup();
    }
  });
});
