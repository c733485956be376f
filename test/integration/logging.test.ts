/** MCP logging: job events reach the client as notifications/message, at the level it set, for its own tasks only. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { createServer } from '../../src/server.js';
import { type FakeJogg, startFakeJogg } from '../fakes/jogg/index.js';
import { harness, structured, testEnv, writeBytes } from '../helpers/app.js';

let fake: FakeJogg;
before(async () => {
  fake = await startFakeJogg();
});
after(async () => {
  await fake.close();
});

type Msg = { level: string; data: { event: string; task_id: string; message: string } };

test('job events are sent as notifications/message at the level the client set, only to the client that owns the task', async () => {
  const env = testEnv({ JOGG_API_KEY: fake.apiKey, JOGG_BASE_URL: fake.url });
  const h = await harness(env.env);
  // A second client of the same server process (another HTTP session, say).
  const other = createServer(h.app);
  const [a, b] = InMemoryTransport.createLinkedPair();
  const otherClient = new Client({ name: 'other', version: '1' }, { capabilities: {} });
  await Promise.all([other.connect(a), otherClient.connect(b)]);
  try {
    const mine: Msg[] = [];
    const theirs: Msg[] = [];
    h.client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
      mine.push(n.params as Msg);
    });
    otherClient.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
      theirs.push(n.params as Msg);
    });
    await h.client.setLoggingLevel('info');
    await otherClient.setLoggingLevel('debug');
    const video = writeBytes(join(env.work, 'v.mp4'), 'log-v');
    const audio = writeBytes(join(env.work, 'a.wav'), 'log-a');
    const c = structured<{ task_id: string; status: string }>(
      await h.call('create_lip_sync', { video, audio }),
    );
    let v = c;
    for (let i = 0; i < 20 && v.status !== 'success'; i++)
      v = structured(await h.call('get_task_status', { task_id: c.task_id, wait_seconds: 50 }));
    assert.equal(v.status, 'success');
    await h.call('create_lip_sync', { video, audio }); // reused
    const events = mine.filter((m) => m.data.task_id === c.task_id).map((m) => m.data.event);
    assert.ok(events.includes('created'), `created in ${events}`);
    assert.ok(events.includes('status'), `status in ${events}`);
    assert.ok(events.includes('reused'), `reused in ${events}`);
    assert.ok(
      mine.every((m) => !JSON.stringify(m).includes(fake.apiKey)),
      'redacted like every other output',
    );
    assert.equal(theirs.length, 0, "another client's session gets none of this task's events");

    // At level "error", info events are not sent.
    await h.client.setLoggingLevel('error');
    const n = mine.length;
    await h.call('create_lip_sync', { video, audio });
    assert.equal(mine.length, n);
  } finally {
    await otherClient.close();
    await other.close();
    await h.close();
    env.cleanup();
  }
});
