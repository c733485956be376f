/**
 * What Tiers 1 and 2 left out (issue 18, item 4): generate_video takes a source clip and an audio track
 * (Extend and Music Video templates); create_lip_sync takes `quality` for The Director.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type FakeDirector, startFakeDirector } from '../fakes/director/index.js';
import { errorOf, type Harness, harness, structured, type TestEnv, testEnv } from '../helpers/app.js';

type View = { task_id: string; reused: boolean; status: string };

describe('The Director: clip, audio track and quality inputs', () => {
  let fake: FakeDirector;
  let env: TestEnv;
  let h: Harness;
  before(async () => {
    fake = await startFakeDirector();
    env = testEnv({ GATEWAY_TOKEN: fake.token, DIRECTOR_GATEWAY_URL: fake.url });
    h = await harness(env.env);
  });
  after(async () => {
    await h.close();
    env.cleanup();
    await fake.close();
  });
  const lastCreate = () => fake.creates().at(-1)!.body;

  test('music video template gets the audio track; extend template gets the source clip', async () => {
    const song = 'https://media.example.test/song.mp3';
    structured<View>(
      await h.call('generate_video', { prompt: 'neon city at night', template: 'music video', audio: song }),
    );
    assert.equal(lastCreate().template_id, '57a003c8-ea94-44a8-8e32-d2ec53ea780b');
    assert.match(String(lastCreate().message), new RegExp(`Audio track: ${song.replace(/\./g, '\\.')}`));
    const clip = 'https://media.example.test/veo-clip.mp4';
    structured<View>(
      await h.call('generate_video', { prompt: 'the car drives on', template: 'veo3 extend', video: clip }),
    );
    assert.equal(lastCreate().template_id, '1de0cc26-6bf9-4eed-a5a2-c62fe88aef52');
    assert.match(String(lastCreate().message), /Source clip: https:\/\/media\.example\.test\/veo-clip\.mp4/);
    const err = errorOf(await h.call('generate_video', { prompt: 'x', model: 'veo3', video: clip }));
    assert.equal(err.code, 'invalid_input');
  });

  test('create_lip_sync quality: cheap is sent; "quality" is the default task; other providers refuse it', async () => {
    const video = 'https://media.example.test/talk.mp4';
    const audio = 'https://media.example.test/voice-es.mp3';
    const c0 = fake.creates().length;
    const cheap = structured<View>(
      await h.call('create_lip_sync', { provider: 'director', video, audio, quality: 'cheap' }),
    );
    assert.equal(lastCreate().quality, 'cheap');
    const plain = structured<View>(await h.call('create_lip_sync', { provider: 'director', video, audio }));
    assert.notEqual(plain.task_id, cheap.task_id);
    assert.equal(lastCreate().quality, 'quality');
    const explicit = structured<View>(
      await h.call('create_lip_sync', { provider: 'director', video, audio, quality: 'quality' }),
    );
    assert.equal(explicit.task_id, plain.task_id, 'the default spelled out is the same job');
    assert.equal(explicit.reused, true);
    assert.equal(fake.creates().length - c0, 2);
    const err = errorOf(
      await h.call('create_lip_sync', { provider: 'jogg', video, audio, quality: 'cheap' }),
    );
    assert.equal(err.code, 'invalid_input');
    assert.match(err.message, /no quality option/);
  });
});
