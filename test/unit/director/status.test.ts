import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { UrlLocation } from '../../fakes/director/index.js';
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

describe('director status: query with the api type the task was created with', () => {
  it('a tool task (named model) is queried as tool, and finishes with its URL', async () => {
    h = await harness();
    const res = await startJob(h, videoRequest({ prompt: 'p', model: 'veo3' }));
    assert.equal(res.operation.api, 'tool');
    assert.equal(res.operation.tool_type, 'veo3-text-to-video-fast-api');
    assert.match(String(res.operation.id), /^task-/);
    assert.equal(res.providerTaskId, res.operation.id);
    const snaps = await pollUntilDone(h, res.operation);
    assert.deepEqual(
      snaps.map((s) => s.status),
      ['pending', 'processing', 'success'],
    );
    assert.equal(snaps.at(-1)?.resultUrl, h.fake.resultUrl(String(res.operation.id)));
    assert.ok(h.fake.queries().every((q) => q.api === 'tool' && q.body.task_id === res.operation.id));
    assert.deepEqual(h.fake.state.wrongApiQueries, []);
  });

  it('an agent task (auto) is queried as agent with its chat_id', async () => {
    h = await harness();
    const res = await startJob(h, videoRequest({ prompt: 'p' }));
    assert.equal(res.operation.api, 'agent');
    assert.equal(res.snapshot.extra?.model, 'Seedance 2.0 (auto)');
    const snaps = await pollUntilDone(h, res.operation);
    assert.equal(snaps.at(-1)?.status, 'success');
    assert.ok(h.fake.queries().every((q) => q.api === 'agent' && q.body.chat_id === res.operation.id));
    assert.deepEqual(h.fake.state.wrongApiQueries, []);
  });

  for (const where of ['top', 'data'] as const) {
    it(`an agent create corrected to a tool task (_corrected_api at ${where}) is queried as tool`, async () => {
      h = await harness();
      h.fake.faults.correctToTool = true;
      h.fake.faults.correctedAt = where;
      const res = await startJob(h, videoRequest({ prompt: 'p' }));
      assert.equal(h.fake.creates()[0]?.api, 'agent');
      assert.equal(res.operation.api, 'tool');
      assert.equal(res.operation.requested_api, 'agent');
      const snaps = await pollUntilDone(h, res.operation);
      assert.equal(snaps.at(-1)?.status, 'success');
      assert.ok(h.fake.queries().every((q) => q.api === 'tool'));
      assert.deepEqual(h.fake.state.wrongApiQueries, []);
    });
  }

  it('the fake records a query with the wrong api type (404), surfacing as not_found', async () => {
    h = await harness();
    const res = await startJob(h, videoRequest({ prompt: 'p', model: 'veo3' }));
    const err = await appErrorOf(() => h.provider.status({ ...res.operation, api: 'agent' }, h.statusCtx));
    assert.equal(err.code, 'not_found');
    assert.equal(h.fake.state.wrongApiQueries.length, 1);
  });

  it('the direct API path uses its own endpoints and envelope', async () => {
    h = await harness({ sjinnApiKey: 'fake' });
    const res = await startJob(h, videoRequest({ prompt: 'p', model: 'sora2', duration: 5 }));
    assert.equal(res.operation.via, 'direct');
    const snaps = await pollUntilDone(h, res.operation);
    assert.equal(snaps.at(-1)?.status, 'success');
    assert.ok(h.fake.calls.every((c) => c.via === 'direct' && c.authorized));
    assert.equal(h.fake.creates()[0]?.body.tool_type, 'sora2-text-to-video-api');
    assert.deepEqual(h.fake.state.wrongApiQueries, []);
  });
});

describe('director status mapping', () => {
  const locations: UrlLocation[] = ['video_url', 'output_urls', 'output.video_url', 'tool_results'];
  for (const loc of locations) {
    it(`finds the video URL in ${loc}`, async () => {
      h = await harness({ gatewayToken: 'fake', progression: [1] });
      h.fake.faults.urlLocation = loc;
      const res = await startJob(h, videoRequest({ prompt: 'p', model: 'veo3' }));
      const [snap] = await pollUntilDone(h, res.operation, 1);
      assert.equal(snap?.status, 'success');
      assert.equal(snap?.providerStatus, '1');
      assert.equal(snap?.resultUrl, h.fake.resultUrl(String(res.operation.id)));
    });
  }

  it('done without a URL is never success: processing / done-no-url, repeated (so it stalls)', async () => {
    h = await harness({ gatewayToken: 'fake', progression: [1] });
    h.fake.faults.urlLocation = 'none';
    const res = await startJob(h, videoRequest({ prompt: 'p', model: 'veo3' }));
    const snaps = await pollUntilDone(h, res.operation, 3);
    assert.deepEqual(
      snaps.map((s) => [s.status, s.providerStatus, s.resultUrl]),
      Array(3).fill(['processing', 'done-no-url', undefined]),
    );
  });

  it('status -1 is failed with the reason', async () => {
    h = await harness({ gatewayToken: 'fake', progression: [2, 1] });
    h.fake.faults.fail = 'status';
    const res = await startJob(h, videoRequest({ prompt: 'p' }));
    const snaps = await pollUntilDone(h, res.operation);
    const last = snaps.at(-1);
    assert.equal(last?.status, 'failed');
    assert.equal(last?.providerStatus, '-1');
    assert.match(last?.error?.message ?? '', /could not generate the video: .*out of GPU memory/);
  });

  it('success:false at the top level is failed', async () => {
    h = await harness();
    h.fake.faults.fail = 'success-false';
    const res = await startJob(h, videoRequest({ prompt: 'p' }));
    const [snap] = await pollUntilDone(h, res.operation, 1);
    assert.equal(snap?.status, 'failed');
    assert.match(snap?.error?.message ?? '', /content policy/);
  });

  it('stall: a frozen status yields the same providerStatus on every poll', async () => {
    h = await harness();
    h.fake.faults.stall = true;
    const res = await startJob(h, videoRequest({ prompt: 'p', model: 'veo3' }));
    const snaps = await pollUntilDone(h, res.operation, 20);
    assert.equal(snaps.length, 20);
    assert.ok(snaps.every((s) => s.status === 'processing' && s.providerStatus === '2'));
  });

  it('query errors: 401 -> auth, 503 -> unavailable (retryable)', async () => {
    h = await harness();
    const res = await startJob(h, videoRequest({ prompt: 'p', model: 'veo3' }));
    h.fake.faults.queryHttpStatus = 401;
    assert.equal((await appErrorOf(() => h.provider.status(res.operation, h.statusCtx))).code, 'auth');
    h.fake.faults.queryHttpStatus = 503;
    const err = await appErrorOf(() => h.provider.status(res.operation, h.statusCtx));
    assert.equal(err.code, 'unavailable');
    assert.equal(err.retryable, true);
  });

  it('timing (seed 002): video pace for videos and post-production, 10 s / 5 min for images and audio', async () => {
    h = await harness();
    for (const kind of ['generate_video', 'lip_sync', 'post'] as const) {
      assert.deepEqual(h.provider.timing(kind), {
        pollIntervalMs: 15_000,
        stallPolls: 20,
        giveUpAfterMs: 600_000,
      });
    }
    for (const kind of ['image', 'audio', 'transcript'] as const) {
      assert.deepEqual(h.provider.timing(kind), {
        pollIntervalMs: 10_000,
        stallPolls: 20,
        giveUpAfterMs: 300_000,
      });
    }
  });
});

describe('director lip sync', () => {
  it('image + audio -> image-lipsync-api tool task, queried as tool', async () => {
    h = await harness();
    const image = urlInput('https://x.test/face.png');
    const audio = urlInput('https://x.test/speech.mp3');
    const prepared = await h.provider.prepare(
      { kind: 'lip_sync', inputs: { image, audio }, params: {} },
      {
        asset: async () => assert.fail('no uploads'),
        signal: h.startCtx.signal,
        log: h.startCtx.log,
        progress: () => undefined,
      },
    );
    const res = await h.provider.start(prepared, h.startCtx);
    assert.deepEqual(h.fake.creates()[0]?.body, {
      api: 'tool',
      tool_type: 'image-lipsync-api',
      input: { image_url: 'https://x.test/face.png', audio_url: 'https://x.test/speech.mp3' },
    });
    assert.equal(res.operation.api, 'tool');
    assert.equal((await pollUntilDone(h, res.operation)).at(-1)?.status, 'success');
  });

  it('video + audio -> agent with a lip-sync instruction naming both URLs', async () => {
    h = await harness();
    const video = urlInput('https://x.test/talk.mp4');
    const audio = urlInput('https://x.test/speech.mp3');
    const res = await startJob(h, { kind: 'lip_sync', inputs: { video, audio }, params: {} });
    const msg = String(h.fake.creates()[0]?.body.message);
    assert.equal(h.fake.creates()[0]?.api, 'agent');
    assert.match(msg, /Lip sync task/);
    assert.match(msg, /https:\/\/x\.test\/talk\.mp4/);
    assert.match(msg, /https:\/\/x\.test\/speech\.mp3/);
    assert.equal(res.operation.api, 'agent');
  });

  it('a local file is refused with what to do (no upload endpoint)', async () => {
    h = await harness();
    const image = {
      type: 'file' as const,
      path: '/home/u/face.png',
      filename: 'face.png',
      mime: 'image/png',
      size: 10,
      sha256: 'x',
    };
    const err = await appErrorOf(() =>
      startJob(h, {
        kind: 'lip_sync',
        inputs: { image, audio: urlInput('https://x.test/a.mp3') },
        params: {},
      }),
    );
    assert.equal(err.code, 'invalid_input');
    assert.equal(
      err.message,
      'The Director needs the image as an http(s) URL; "face.png" is a local file and The Director has no upload endpoint.',
    );
    assert.match(err.hint ?? '', /public https URL.*DIRECTOR_UPLOAD_VIA=jogg/);
    assert.equal(h.fake.calls.length, 0);
  });

  it('missing audio or both video and image are refused before any request', async () => {
    h = await harness();
    const video = urlInput('https://x.test/v.mp4');
    const image = urlInput('https://x.test/i.png');
    const audio = urlInput('https://x.test/a.mp3');
    assert.equal(
      (await appErrorOf(() => startJob(h, { kind: 'lip_sync', inputs: { video }, params: {} }))).code,
      'invalid_input',
    );
    assert.equal(
      (await appErrorOf(() => startJob(h, { kind: 'lip_sync', inputs: { video, image, audio }, params: {} })))
        .code,
      'invalid_input',
    );
    assert.equal((await appErrorOf(() => startJob(h, videoRequest({ prompt: ' ' })))).code, 'invalid_input');
    assert.equal(h.fake.calls.length, 0);
  });
});
