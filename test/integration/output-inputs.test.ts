/**
 * A result saved by download_result (a speech track, a video) can be the next job's input: the output
 * folder is an input root by default. The ledger and the token cache never are, even when the output
 * folder is set to LIPSYNC_HOME itself.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { type FakeJogg, startFakeJogg } from '../fakes/jogg/index.js';
import { errorOf, harness, structured, testEnv, writeBytes } from '../helpers/app.js';

let fake: FakeJogg;
before(async () => {
  fake = await startFakeJogg();
});
after(async () => {
  await fake.close();
});

test('a file in the output folder is accepted as an input without configuring anything', async () => {
  const env = testEnv({ JOGG_API_KEY: fake.apiKey, JOGG_BASE_URL: fake.url });
  const h = await harness(env.env);
  try {
    mkdirSync(env.outputs, { recursive: true });
    const video = writeBytes(join(env.outputs, 'ls_previous.mp4'), 'saved-video', 8192);
    const audio = writeBytes(join(env.outputs, 'ls_speech.wav'), 'saved-speech', 8192);
    const d = structured<{ dry_run: boolean; action: string }>(
      await h.call('create_lip_sync', { video, audio, dry_run: true }),
    );
    assert.equal(d.dry_run, true);
    assert.equal(d.action, 'would_create_new_task');
    // The ledger beside it is still not an input.
    await h.call('list_tasks', {});
    const ledger = join(env.env.LIPSYNC_HOME!, 'ledger.sqlite');
    const refused = errorOf(await h.call('create_lip_sync', { video: ledger, audio, dry_run: true }));
    assert.equal(refused.code, 'invalid_input');
    assert.match(refused.message, /outside the folders this server may read|hidden/);
  } finally {
    await h.close();
    env.cleanup();
  }
});

test('an output folder that holds LIPSYNC_HOME is not an input root (its ledger and token cache stay out)', async () => {
  const env = testEnv({ JOGG_API_KEY: fake.apiKey, JOGG_BASE_URL: fake.url });
  env.env.LIPSYNC_OUTPUT_DIR = env.env.LIPSYNC_HOME!;
  const h = await harness(env.env);
  try {
    assert.deepEqual(loadConfig({ env: env.env }).inputDirs, [env.home]);
    await h.call('list_tasks', {});
    const audio = writeBytes(join(env.work, 'dub.wav'), 'dub', 8192);
    const ledger = join(env.env.LIPSYNC_HOME!, 'ledger.sqlite');
    const refused = errorOf(await h.call('create_lip_sync', { video: ledger, audio, dry_run: true }));
    assert.equal(refused.code, 'invalid_input');
    assert.match(refused.message, /outside the folders this server may read/);
  } finally {
    await h.close();
    env.cleanup();
  }
});

test('the output folder is an input root only when it does not hold LIPSYNC_HOME', () => {
  const base = { HOME: '/home/u', LIPSYNC_HOME: '/home/u/.lipsync-mcp' };
  const dirs = (extra: Record<string, string>) =>
    loadConfig({ env: { ...base, ...extra }, homeDir: '/home/u' }).inputDirs;
  assert.deepEqual(dirs({}), ['/home/u', '/home/u/.lipsync-mcp/outputs']);
  assert.deepEqual(dirs({ LIPSYNC_OUTPUT_DIR: '/srv/results' }), ['/home/u', '/srv/results']);
  assert.deepEqual(dirs({ LIPSYNC_OUTPUT_DIR: '/home/u/.lipsync-mcp' }), ['/home/u']);
  assert.deepEqual(dirs({ LIPSYNC_OUTPUT_DIR: '/home/u' }), ['/home/u']);
  assert.deepEqual(dirs({ LIPSYNC_OUTPUT_DIR: '/' }), ['/home/u']);
});
