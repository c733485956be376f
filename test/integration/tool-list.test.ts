import assert from 'node:assert/strict';
import { test } from 'node:test';
import { availableTools } from '../../src/server.js';
import { harness, testEnv } from '../helpers/app.js';

test("edit_video is offered when only The Director can edit (post-production), not only with NemoVideo's edit", async () => {
  const env = testEnv({ GATEWAY_TOKEN: 'gw-token-for-listing-only' });
  const h = await harness(env.env, {
    providers: (built) => new Map([...built].filter(([name]) => name === 'director')),
  });
  try {
    const names = availableTools(h.app);
    assert.ok(names.includes('edit_video'), names.join(', '));
    assert.ok(!names.includes('export_render'), 'no provider here renders NemoVideo drafts');
  } finally {
    await h.close();
    env.cleanup();
  }
});
