/**
 * The dubbing workflow (issue 18, item 5), end to end through MCP against The Director's fake:
 * transcribe a talking-head video -> (the agent translates; the test supplies the text) ->
 * generate_audio speech -> create_lip_sync with the new audio -> download_result. A second run of the
 * same steps reuses every task: 0 new paid requests, and the download is already present.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { type FakeDirector, startFakeDirector } from '../fakes/director/index.js';
import { type Harness, harness, structured, testEnv } from '../helpers/app.js';

type View = {
  task_id: string;
  reused: boolean;
  status: string;
  result_url?: string;
  extra?: Record<string, unknown>;
};

const TALKING_HEAD = 'https://media.example.test/talking-head.mp4';
/** What the agent would make of the transcript ("Hello and welcome. Today we test dubbing."). */
const TRANSLATED = 'Hola y bienvenidos. Hoy probamos el doblaje.';

async function done(h: Harness, created: View): Promise<View> {
  let v = created;
  for (let i = 0; i < 10 && v.status !== 'success' && v.status !== 'failed'; i++)
    v = structured<View>(await h.call('get_task_status', { task_id: created.task_id, wait_seconds: 50 }));
  assert.equal(v.status, 'success', JSON.stringify(v));
  return v;
}

async function dub(h: Harness, fake: FakeDirector) {
  const t = await done(
    h,
    structured<View>(await h.call('transcribe', { video: TALKING_HEAD, language: 'en' })),
  );
  assert.equal(t.extra?.text, 'Hello and welcome. Today we test dubbing.');
  assert.match(String(t.extra?.srt), /00:00:01,500 --> 00:00:03,250\nToday we test dubbing\./);
  const speech = await done(
    h,
    structured<View>(
      await h.call('generate_audio', {
        kind: 'speech',
        text: TRANSLATED,
        language: 'es',
        voice: 'warm male',
      }),
    ),
  );
  assert.equal(
    speech.result_url,
    fake.mediaUrl(String((speech as { provider_task_id?: string }).provider_task_id)),
  );
  const lip = await done(
    h,
    structured<View>(
      await h.call('create_lip_sync', {
        provider: 'director',
        video: TALKING_HEAD,
        audio: speech.result_url,
      }),
    ),
  );
  const saved = structured<{ path: string; already_present: boolean }>(
    await h.call('download_result', { task_id: lip.task_id }),
  );
  return { t, speech, lip, saved };
}

test('dubbing: transcribe -> generate_audio -> create_lip_sync -> download_result; a second run pays nothing', async () => {
  const fake = await startFakeDirector({ serveResults: true });
  const env = testEnv({
    GATEWAY_TOKEN: fake.token,
    DIRECTOR_GATEWAY_URL: fake.url,
    // The fake serves results on loopback; a real provider's CDN is public.
    LIPSYNC_ALLOW_PRIVATE_URLS: '1',
  });
  const h = await harness(env.env);
  try {
    const first = await dub(h, fake);
    assert.equal(fake.creates().length, 3, 'three paid requests: transcript, speech, lip sync');
    const lipCreate = fake.creates()[2]!;
    assert.match(String(lipCreate.body.message), /Lip sync task/);
    assert.ok(
      String(lipCreate.body.message).includes(String(first.speech.result_url)),
      'the new audio is used',
    );
    assert.ok(first.saved.path.startsWith(env.outputs));
    assert.ok(existsSync(first.saved.path));
    assert.equal(first.saved.already_present, false);

    const second = await dub(h, fake);
    assert.equal(fake.creates().length, 3, 'the second run makes 0 new paid requests');
    for (const k of ['t', 'speech', 'lip'] as const) {
      assert.equal(second[k].task_id, first[k].task_id, k);
      assert.equal(second[k].reused, true, k);
    }
    assert.equal(second.saved.path, first.saved.path);
    assert.equal(second.saved.already_present, true);
  } finally {
    await h.close();
    env.cleanup();
    await fake.close();
  }
});
