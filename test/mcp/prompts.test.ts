/** Prompts and completion (issue 19 items 3 and 4). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { harness, testEnv } from '../helpers/app.js';
import { seedTask } from './seed.js';

const KEYS = {
  JOGG_API_KEY: 'k-test-123456',
  JOGG_BASE_URL: 'http://127.0.0.1:9',
};

test('prompts dub_video, animate_photo and make_short encode create once, follow, download', async () => {
  const env = testEnv(KEYS);
  const h = await harness(env.env);
  try {
    const { prompts } = await h.client.listPrompts();
    assert.deepEqual(prompts.map((p) => p.name).sort(), ['animate_photo', 'dub_video', 'make_short']);
    for (const p of prompts) assert.ok(p.description && p.arguments?.length, p.name);
    const dub = await h.client.getPrompt({
      name: 'dub_video',
      arguments: { video: '/w/v.mp4', audio: '/w/a.wav', provider: 'jogg' },
    });
    const text = (dub.messages[0]!.content as { text: string }).text;
    assert.match(text, /create_lip_sync once/);
    assert.match(text, /video: \/w\/v\.mp4/);
    assert.match(text, /lipsync:\/\/tasks\/<task_id>/);
    assert.match(text, /download_result/);
    const short = await h.client.getPrompt({
      name: 'make_short',
      arguments: { prompt: 'a cat', platform: 'tiktok' },
    });
    assert.match((short.messages[0]!.content as { text: string }).text, /generate_video once/);
    await assert.rejects(h.client.getPrompt({ name: 'dub_video', arguments: { video: 'x' } }));
  } finally {
    await h.close();
    env.cleanup();
  }
});

test('completion: providers, playback types, models, templates, platforms and task ids', async () => {
  const env = testEnv(KEYS);
  const h = await harness(env.env);
  const complete = async (name: string, arg: string, value: string, context?: Record<string, string>) =>
    (
      await h.client.complete({
        ref: { type: 'ref/prompt', name },
        argument: { name: arg, value },
        ...(context ? { context: { arguments: context } } : {}),
      })
    ).completion.values;
  try {
    assert.ok(h.client.getServerCapabilities()?.completions);
    assert.deepEqual(await complete('dub_video', 'provider', 'jo'), ['jogg']);
    assert.deepEqual(await complete('make_short', 'provider', ''), ['director']);
    const playback = await complete('dub_video', 'playback_type', 'normal', { provider: 'jogg' });
    assert.ok(playback.length > 0 && playback.every((v) => v.startsWith('normal')), String(playback));
    assert.deepEqual(await complete('make_short', 'model', 'sora'), ['sora2', 'sora2 pro']);
    assert.ok((await complete('make_short', 'template', 'podcast')).includes('podcast dual'));
    assert.deepEqual(await complete('make_short', 'platform', 't'), ['tiktok', 'twitter']);
    await seedTask(h.app.ledger, 'cmp-abc');
    const ids = await h.client.complete({
      ref: { type: 'ref/resource', uri: 'lipsync://tasks/{task_id}' },
      argument: { name: 'task_id', value: 'cmp-' },
    });
    assert.deepEqual(ids.completion.values, ['cmp-abc']);
    // An unknown prompt is no error: no suggestions.
    assert.deepEqual(await complete('no_such_prompt', 'x', 'y'), []);
  } finally {
    await h.close();
    env.cleanup();
  }
});
