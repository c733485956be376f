/** download_result answers with a resource_link to the saved file, with its MIME type (issue 19 item 1). */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startFakeJogg } from '../fakes/jogg/index.js';
import { harness, structured, testEnv, writeBytes } from '../helpers/app.js';

test('download_result returns a resource_link (file URI, name, video MIME type) next to its text', async () => {
  const fake = await startFakeJogg();
  const env = testEnv({ JOGG_API_KEY: fake.apiKey, JOGG_BASE_URL: fake.url });
  const h = await harness(env.env);
  try {
    const video = writeBytes(join(env.work, 'v.mp4'), 'link-v');
    const audio = writeBytes(join(env.work, 'a.wav'), 'link-a');
    const c = structured<{ task_id: string }>(await h.call('create_lip_sync', { video, audio }));
    let v = { status: '' };
    for (let i = 0; i < 20 && v.status !== 'success'; i++)
      v = structured(await h.call('get_task_status', { task_id: c.task_id, wait_seconds: 50 }));
    let r = await h.call('download_result', { task_id: c.task_id });
    for (let i = 0; i < 20 && structured<{ status: string }>(r).status !== 'saved'; i++)
      r = await h.call('download_result', { task_id: c.task_id });
    const d = structured<{ path: string; mime_type: string }>(r);
    const link = r.content.find((x) => x.type === 'resource_link') as
      | { uri: string; name: string; mimeType?: string }
      | undefined;
    assert.ok(link, 'a resource_link in the content');
    assert.equal(fileURLToPath(link.uri), d.path);
    assert.ok(existsSync(d.path));
    assert.equal(link.mimeType, d.mime_type);
    assert.match(link.mimeType ?? '', /^video\//);
    assert.equal(link.name, d.path.split('/').pop());
  } finally {
    await h.close();
    await fake.close();
    env.cleanup();
  }
});
