import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { createLogger } from '../../../src/logger.js';
import { Redactor } from '../../../src/redact.js';
import { captureStream } from '../../helpers/log.js';
import {
  appErrorOf,
  type Harness,
  harness,
  pollUntilDone,
  startJob,
  urlInput,
  videoRequest,
} from './helpers.js';

let h: Harness;
afterEach(async () => {
  await h.close();
});

describe('director start: retries only when no task exists', () => {
  it('429 daily limit: plan message, exactly one create, no retry, no fallback', async () => {
    h = await harness();
    h.fake.faults.create = ['429'];
    const err = await appErrorOf(() => startJob(h, videoRequest({ prompt: 'sunset over Miami' })));
    assert.equal(err.code, 'daily_limit');
    assert.equal(err.message, 'Daily video limit reached for your plan; it resets at midnight.');
    assert.match(err.hint ?? '', /Starter 5, Pro 10, Power 30, BYOK 5/);
    assert.equal(err.noTaskCreated, true);
    assert.equal(h.fake.creates().length, 1);
    assert.deepEqual(h.clock.sleeps, []);
  });

  it('a plain 429 with Retry-After: rate_limited with the wait, not the daily limit; one create, no fallback', async () => {
    h = await harness();
    h.fake.faults.create = ['429-rate'];
    const err = await appErrorOf(() => startJob(h, videoRequest({ prompt: 'sunset over Miami' })));
    assert.equal(err.code, 'rate_limited', err.message);
    assert.equal(err.retryAfterMs, 20_000);
    assert.match(err.message, /20 s/);
    assert.doesNotMatch(`${err.message} ${err.hint}`, /midnight|daily/i);
    assert.equal(err.noTaskCreated, true);
    assert.equal(h.fake.creates().length, 1);
  });

  it('a lost create answer throws an error that is NOT noTaskCreated, after exactly one create', async () => {
    h = await harness();
    h.fake.faults.create = ['lose'];
    const err = await appErrorOf(() => startJob(h, videoRequest({ prompt: 'p' })));
    assert.notEqual(err.noTaskCreated, true);
    assert.equal(err.requestSent, true);
    assert.equal(h.fake.creates().length, 1);
    assert.equal(h.fake.state.tasks.size, 1, 'the fake accepted the task: paying again would double-charge');
    assert.deepEqual(h.clock.sleeps, []);
  });

  it('a 504 from the gateway (upstream may have accepted) is unknown, not retried', async () => {
    h = await harness();
    h.fake.faults.create = ['504'];
    const err = await appErrorOf(() => startJob(h, videoRequest({ prompt: 'p' })));
    assert.notEqual(err.noTaskCreated, true);
    assert.equal(h.fake.creates().length, 1);
  });

  it('an HTML 500 proves nothing: unknown, not retried', async () => {
    h = await harness();
    h.fake.faults.create = ['500-html'];
    const err = await appErrorOf(() => startJob(h, videoRequest({ prompt: 'p', model: 'veo3' })));
    assert.notEqual(err.noTaskCreated, true);
    assert.equal(h.fake.creates().length, 1);
  });

  it('503 twice then OK: three creates, 30 s fake waits, one task', async () => {
    h = await harness();
    h.fake.faults.create = ['503', '503'];
    const res = await startJob(h, videoRequest({ prompt: 'p', model: 'veo3' }));
    assert.equal(h.fake.creates().length, 3);
    assert.deepEqual(h.clock.sleeps, [30_000, 30_000]);
    assert.equal(h.fake.state.tasks.size, 1);
    assert.equal(res.snapshot.status, 'pending');
    assert.equal(h.progress.filter((m) => /trying again in 30 s/.test(m)).length, 2);
  });

  it('503 three times: gives up with "at capacity", noTaskCreated', async () => {
    h = await harness();
    h.fake.faults.create = ['503', '503', '503'];
    const err = await appErrorOf(() => startJob(h, videoRequest({ prompt: 'p', model: 'sora2' })));
    assert.equal(err.code, 'unavailable');
    assert.match(err.message, /The Director's backend is at capacity/);
    assert.equal(err.noTaskCreated, true);
    assert.equal(h.fake.creates().length, 3);
  });

  it('a 200 without an id is a failed submission: retried, never polled', async () => {
    h = await harness();
    h.fake.faults.create = ['no-id'];
    const res = await startJob(h, videoRequest({ prompt: 'p', model: 'veo3' }));
    assert.equal(h.fake.creates().length, 2);
    assert.deepEqual(h.clock.sleeps, [30_000]);
    assert.equal(h.fake.queries().length, 0);
    assert.ok(res.providerTaskId);
  });

  it('connection refused before sending: retried twice, then unavailable with noTaskCreated', async () => {
    h = await harness();
    const dead = await harness(); // a port that is closed by the time we send
    const deadUrl = dead.fake.url;
    await dead.close();
    await h.close();
    h = await harness({ gatewayToken: 'fake', gatewayUrl: deadUrl });
    const err = await appErrorOf(() => startJob(h, videoRequest({ prompt: 'p', model: 'veo3' })));
    assert.equal(err.code, 'unavailable');
    assert.equal(err.requestSent, false);
    assert.equal(err.noTaskCreated, true);
    assert.deepEqual(h.clock.sleeps, [30_000, 30_000]);
  });
});

describe('director start: model fallback', () => {
  it('500 x3 with the auto model falls back to Veo3 and says so', async () => {
    h = await harness();
    h.fake.faults.create = ['500', '500', '500'];
    const res = await startJob(h, videoRequest({ prompt: 'a fox in snow', platform: 'tiktok' }));
    const creates = h.fake.creates();
    assert.equal(creates.length, 4);
    assert.deepEqual(
      creates.map((c) => c.api),
      ['agent', 'agent', 'agent', 'tool'],
    );
    assert.equal(creates[3]?.body.tool_type, 'veo3-text-to-video-fast-api');
    assert.deepEqual(creates[3]?.body.input, { prompt: 'a fox in snow', aspect_ratio: '9:16' });
    assert.equal(res.operation.model, 'veo3');
    assert.equal(res.operation.api, 'tool');
    assert.equal(res.snapshot.extra?.model, 'Veo3');
    assert.equal(
      res.snapshot.extra?.fallback_note,
      'The auto model failed to start (server error); used Veo3 instead.',
    );
    const snaps = await pollUntilDone(h, res.operation);
    const last = snaps.at(-1);
    assert.equal(last?.status, 'success');
    assert.equal(last?.extra?.fallback_note, res.snapshot.extra?.fallback_note);
    assert.ok(h.progress.some((m) => /trying Veo3 instead/.test(m)));
  });

  it('a refusal (success:false) is not retried but does fall back', async () => {
    h = await harness();
    h.fake.faults.create = ['reject'];
    const res = await startJob(h, videoRequest({ prompt: 'p' }));
    assert.equal(h.fake.creates().length, 2);
    assert.deepEqual(h.clock.sleeps, []);
    assert.equal(res.snapshot.extra?.model, 'Veo3');
  });

  it('every model failing: one error naming each model, noTaskCreated', async () => {
    h = await harness();
    h.fake.faults.create = ['reject', 'reject', 'reject'];
    const err = await appErrorOf(() => startJob(h, videoRequest({ prompt: 'p' })));
    assert.equal(err.noTaskCreated, true);
    assert.match(err.message, /Seedance 2\.0 \(auto\).*Veo3.*Sora2/);
    assert.equal(h.fake.creates().length, 3);
  });

  it('an image with no model: Veo3 image-to-video, falling back to Sora2 image-to-video', async () => {
    h = await harness();
    h.fake.faults.create = ['500', '500', '500'];
    const image = urlInput('https://img.example.test/face.png');
    const res = await startJob(h, videoRequest({ prompt: 'smile' }, { image }));
    const creates = h.fake.creates();
    assert.equal(creates[0]?.body.tool_type, 'veo3-image-to-video-fast-api');
    assert.equal(creates[3]?.body.tool_type, 'sora2-image-to-video-api');
    assert.equal(
      (creates[3]?.body.input as Record<string, unknown> | undefined)?.image_url,
      'https://img.example.test/face.png',
    );
    assert.equal(
      res.snapshot.extra?.fallback_note,
      'Veo3 failed to start (server error); used Sora2 instead.',
    );
  });

  it('a named model never falls back', async () => {
    h = await harness();
    h.fake.faults.create = ['500', '500', '500'];
    const err = await appErrorOf(() => startJob(h, videoRequest({ prompt: 'p', model: 'Sora2 pro' })));
    assert.equal(err.code, 'provider_failed');
    assert.equal(err.noTaskCreated, true);
    assert.equal(h.fake.creates().length, 3);
    assert.ok(h.fake.creates().every((c) => c.body.tool_type === 'sora2-text-to-video-api'));
    assert.equal((h.fake.creates()[0]?.body.input as Record<string, unknown> | undefined)?.mode, 'pro');
  });

  it('no credits left (direct key) stops at once: no retry, no fallback', async () => {
    h = await harness({ gatewayToken: undefined, sjinnApiKey: 'fake' });
    h.fake.faults.create = ['no-credits'];
    const err = await appErrorOf(() => startJob(h, videoRequest({ prompt: 'p' })));
    assert.equal(err.code, 'insufficient_credits');
    assert.equal(err.noTaskCreated, true);
    assert.equal(h.fake.creates().length, 1);
  });

  it('a rejected token stops at once: no retry, no fallback', async () => {
    h = await harness();
    h.fake.faults.create = ['401'];
    const err = await appErrorOf(() => startJob(h, videoRequest({ prompt: 'p' })));
    assert.equal(err.code, 'auth');
    assert.match(err.hint ?? '', /GATEWAY_TOKEN/);
    assert.equal(err.noTaskCreated, true);
    assert.equal(h.fake.creates().length, 1);
  });

  it('the fake itself rejects a wrong token', async () => {
    h = await harness({ gatewayToken: { value: 'not-the-token', source: 'env:GATEWAY_TOKEN' } });
    const err = await appErrorOf(() => startJob(h, videoRequest({ prompt: 'p' })));
    assert.equal(err.code, 'auth');
    assert.equal(h.fake.creates()[0]?.authorized, false);
  });

  it('a template request goes to the agent with its id and has no fallback', async () => {
    h = await harness();
    h.fake.faults.create = ['reject'];
    const err = await appErrorOf(() => startJob(h, videoRequest({ prompt: 'p', template: 'music video' })));
    assert.equal(err.code, 'provider_failed');
    assert.equal(h.fake.creates().length, 1);
    assert.equal(h.fake.creates()[0]?.body.template_id, '57a003c8-ea94-44a8-8e32-d2ec53ea780b');
    assert.equal(h.fake.creates()[0]?.body.quality, 'quality');
  });
});

describe('director logs', () => {
  it('every log line names the provider once', async () => {
    const { stream, lines } = captureStream();
    h = await harness({ gatewayToken: 'fake', log: createLogger('debug', new Redactor(), stream) });
    h.fake.faults.create = ['503'];
    await startJob(h, videoRequest({ prompt: 'a quiet harbour', model: 'veo3' }));
    assert.ok(
      lines.some((l) => /task created/.test(l)),
      'the create is logged',
    );
    for (const line of lines) assert.equal(line.match(/"provider":/g)?.length, 1, line);
  });
});
