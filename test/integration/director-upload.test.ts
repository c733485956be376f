/**
 * A local file given to The Director (issue 18, item 4): refused with the exact fix by default; with the
 * opt-in DIRECTOR_UPLOAD_VIA=jogg it goes to Jogg's public asset storage first (once: a second run
 * neither uploads nor pays again), and the result says where it went.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type FakeDirector, startFakeDirector } from '../fakes/director/index.js';
import { type FakeJogg, startFakeJogg } from '../fakes/jogg/index.js';
import { errorOf, harness, structured, testEnv, writeBytes } from '../helpers/app.js';
import { statusUntil } from '../helpers/wait.js';

type View = { task_id: string; reused: boolean; status: string; extra?: Record<string, unknown> };

describe('The Director with a local file', () => {
  let director: FakeDirector;
  let jogg: FakeJogg;
  before(async () => {
    director = await startFakeDirector();
    jogg = await startFakeJogg();
  });
  after(async () => {
    await director.close();
    await jogg.close();
  });

  test('without the setting: refused before anything is sent, and the hint says exactly what to do', async () => {
    const env = testEnv({ GATEWAY_TOKEN: director.token, DIRECTOR_GATEWAY_URL: director.url });
    const h = await harness(env.env);
    try {
      const audio = writeBytes(join(env.work, 'speech.mp3'), 'speech-1');
      const err = errorOf(await h.call('transcribe', { audio }));
      assert.equal(err.code, 'invalid_input');
      assert.match(err.message, /"speech\.mp3" is a local file/);
      assert.match(err.hint ?? '', /DIRECTOR_UPLOAD_VIA=jogg and JOGG_API_KEY/);
      assert.equal(director.creates().length, 0);
    } finally {
      await h.close();
      env.cleanup();
    }
  });

  test('DIRECTOR_UPLOAD_VIA=jogg: uploaded to Jogg once, The Director gets the asset URL, the result says so', async () => {
    const env = testEnv({
      GATEWAY_TOKEN: director.token,
      DIRECTOR_GATEWAY_URL: director.url,
      DIRECTOR_UPLOAD_VIA: 'jogg',
      JOGG_API_KEY: jogg.apiKey,
      JOGG_BASE_URL: jogg.url,
    });
    const h = await harness(env.env);
    try {
      const audio = writeBytes(join(env.work, 'speech.mp3'), 'speech-2');
      const c0 = director.creates().length;
      const first = structured<View>(await h.call('transcribe', { audio, wait_seconds: 50 }));
      // How many status calls the job takes depends on the machine's load: wait for the state, not a count.
      const v =
        first.status === 'success'
          ? first
          : await statusUntil<View>(h, first.task_id, (s) => s.status === 'success' || s.status === 'failed');
      assert.equal(v.status, 'success');
      assert.equal(jogg.puts.length, 1, 'one upload to Jogg');
      const message = String(director.creates().at(-1)?.body.message);
      const asset = /Source audio: (\S+)/.exec(message)?.[1] ?? '';
      assert.match(asset, /^https:\/\/assets\.jogg\.example\//);
      const notes = JSON.stringify(v.extra?.notes);
      assert.match(notes, /speech\.mp3.*uploaded to Jogg's asset storage/);
      assert.ok(notes.includes(asset), 'the result names the public URL');
      const again = structured<View>(await h.call('transcribe', { audio }));
      assert.equal(again.task_id, v.task_id);
      assert.equal(again.reused, true);
      assert.equal(jogg.puts.length, 1, 'no second upload');
      assert.equal(director.creates().length - c0, 1, 'one paid request');
    } finally {
      await h.close();
      env.cleanup();
    }
  });

  test('DIRECTOR_UPLOAD_VIA=jogg without a Jogg key: says which key to set', async () => {
    const env = testEnv({
      GATEWAY_TOKEN: director.token,
      DIRECTOR_GATEWAY_URL: director.url,
      DIRECTOR_UPLOAD_VIA: 'jogg',
    });
    const h = await harness(env.env);
    try {
      const audio = writeBytes(join(env.work, 'speech.mp3'), 'speech-3');
      const r = await h.call('transcribe', { audio, wait_seconds: 5 });
      const err = r.isError
        ? errorOf(r)
        : (structured<View & { error?: { code: string; message: string; hint?: string } }>(r).error ?? {
            code: 'none',
            message: JSON.stringify(r.structuredContent),
          });
      assert.equal(err.code, 'missing_credentials', JSON.stringify(err));
      assert.match(`${err.message} ${err.hint ?? ''}`, /JOGG_API_KEY/);
    } finally {
      await h.close();
      env.cleanup();
    }
  });
});
