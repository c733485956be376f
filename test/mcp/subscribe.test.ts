/** Subscriptions (issue 19 item 2): updates for changes made here, in another session, and by another process. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { Ledger } from '../../src/jobs/ledger.js';
import { createServer } from '../../src/server.js';
import { startFakeJogg } from '../fakes/jogg/index.js';
import { harness, structured, testEnv, writeBytes } from '../helpers/app.js';
import { CLI } from '../helpers/spawn.js';
import { within } from '../helpers/wait.js';
import { serve } from '../http/helpers.js';
import { seedTask } from './seed.js';
import { updateFromAnotherProcess } from './updater.js';

/** Collects resources/updated URIs; `next(uri)` resolves on the next one for `uri` (or one already seen). */
function updates(client: Client) {
  const seen: string[] = [];
  const waiters: { uri: string; resolve: () => void }[] = [];
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
    seen.push(n.params.uri);
    for (const w of waiters.splice(0))
      if (w.uri === n.params.uri) w.resolve();
      else waiters.push(w);
  });
  return {
    seen,
    next(uri: string, from = seen.length): Promise<void> {
      if (seen.slice(from).includes(uri)) return Promise.resolve();
      // The hang guard's timer also holds the event loop open (the feed's file watch does not).
      return within(
        new Promise<void>((resolve) => waiters.push({ uri, resolve })),
        `resources/updated for ${uri}`,
      );
    },
  };
}

const SUCCESS = {
  status: 'success',
  snapshot: { status: 'success', resultUrl: 'https://cdn.example/r.mp4' },
  completedAt: Date.UTC(2026, 0, 1),
};

test('a subscriber in another session gets resources/updated as the task moves; unsubscribe stops them', async () => {
  const fake = await startFakeJogg();
  const env = testEnv({ JOGG_API_KEY: fake.apiKey, JOGG_BASE_URL: fake.url });
  const h = await harness(env.env);
  const other = createServer(h.app);
  const [a, b] = InMemoryTransport.createLinkedPair();
  const watcher = new Client({ name: 'watcher', version: '1' }, { capabilities: {} });
  await Promise.all([other.connect(a), watcher.connect(b)]);
  try {
    assert.equal(watcher.getServerCapabilities()?.resources?.subscribe, true);
    const u = updates(watcher);
    const video = writeBytes(join(env.work, 'v.mp4'), 'sub-v');
    const audio = writeBytes(join(env.work, 'a.wav'), 'sub-a');
    const c = structured<{ task_id: string }>(await h.call('create_lip_sync', { video, audio }));
    const uri = `lipsync://tasks/${c.task_id}`;
    await watcher.subscribeResource({ uri });
    const done = u.next(uri);
    let v = { status: '' };
    for (let i = 0; i < 20 && v.status !== 'success'; i++)
      v = structured(await h.call('get_task_status', { task_id: c.task_id, wait_seconds: 50 }));
    assert.equal(v.status, 'success');
    await done;
    const read = JSON.parse(((await watcher.readResource({ uri })).contents[0] as { text: string }).text);
    assert.equal(read.status, 'success');
    await watcher.unsubscribeResource({ uri });
    const count = u.seen.length;
    await h.call('create_lip_sync', { video, audio, force_recreate: true });
    await watcher.listResources(); // a round trip after the change
    assert.equal(
      u.seen.filter((x) => x === uri).length,
      u.seen.slice(0, count).filter((x) => x === uri).length,
    );
  } finally {
    await watcher.close();
    await h.close();
    await fake.close();
    env.cleanup();
  }
});

test('a subscription sees a change another process makes to the same ledger (in-memory client)', async () => {
  const env = testEnv();
  const h = await harness(env.env);
  try {
    await seedTask(h.app.ledger, 'xproc-1');
    const u = updates(h.client);
    const uri = 'lipsync://tasks/xproc-1';
    await h.client.subscribeResource({ uri });
    const got = u.next(uri);
    await updateFromAnotherProcess(join(h.app.config.home, 'ledger.sqlite'), 'xproc-1', {
      snapshot: { status: 'processing', progress: 0.6 },
    });
    await got;
    const view = JSON.parse(((await h.client.readResource({ uri })).contents[0] as { text: string }).text);
    assert.equal(view.progress, 0.6);
    // A write that changes nothing a subscriber sees (a heartbeat) sends nothing.
    const before = u.seen.length;
    await updateFromAnotherProcess(join(h.app.config.home, 'ledger.sqlite'), 'xproc-1', { polls: 7 });
    const done = u.next(uri);
    await updateFromAnotherProcess(join(h.app.config.home, 'ledger.sqlite'), 'xproc-1', SUCCESS);
    await done;
    assert.equal(u.seen.length, before + 1);
  } finally {
    await h.close();
    env.cleanup();
  }
});

test('over HTTP: a subscribed session is told of another process’s change on its SSE stream', async () => {
  const s = await serve();
  const client = new Client({ name: 'http-sub', version: '1' }, { capabilities: {} });
  try {
    await seedTask(s.app.ledger, 'xproc-http');
    await client.connect(new StreamableHTTPClientTransport(new URL(s.server.url)));
    const u = updates(client);
    const uri = 'lipsync://tasks/xproc-http';
    await client.subscribeResource({ uri });
    const got = u.next(uri);
    await updateFromAnotherProcess(join(s.app.config.home, 'ledger.sqlite'), 'xproc-http', SUCCESS);
    await got;
  } finally {
    await client.close();
    await s.stop();
  }
});

test('over stdio: the spawned server tells a subscriber of another process’s change', async () => {
  const env = testEnv();
  const file = join(env.env.LIPSYNC_HOME as string, 'ledger.sqlite');
  const l = new Ledger(file);
  await seedTask(l, 'xproc-stdio');
  l.close();
  const client = new Client({ name: 'stdio-sub', version: '1' }, { capabilities: {} });
  try {
    await client.connect(
      new StdioClientTransport({ command: process.execPath, args: [CLI], env: env.env, stderr: 'ignore' }),
    );
    const u = updates(client);
    const uri = 'lipsync://tasks/xproc-stdio';
    await client.subscribeResource({ uri });
    const got = u.next(uri);
    await updateFromAnotherProcess(file, 'xproc-stdio', SUCCESS);
    await got;
  } finally {
    await client.close();
    env.cleanup();
  }
});

test('an agent that subscribes never needs to poll: the server follows a subscribed task to its end', async () => {
  const fake = await startFakeJogg();
  const env = testEnv({ JOGG_API_KEY: fake.apiKey, JOGG_BASE_URL: fake.url });
  const h = await harness(env.env);
  try {
    const u = updates(h.client);
    const video = writeBytes(join(env.work, 'v.mp4'), 'follow-v');
    const audio = writeBytes(join(env.work, 'a.wav'), 'follow-a');
    const c = structured<{ task_id: string; status: string }>(
      await h.call('create_lip_sync', { video, audio }),
    );
    assert.notEqual(c.status, 'success');
    const uri = `lipsync://tasks/${c.task_id}`;
    await h.client.subscribeResource({ uri });
    // No get_task_status from here on: only notifications and reads of the resource.
    let status = '';
    for (let i = 0; i < 50 && status !== 'success'; i++) {
      await u.next(uri);
      u.seen.length = 0;
      status = JSON.parse(
        ((await h.client.readResource({ uri })).contents[0] as { text: string }).text,
      ).status;
    }
    assert.equal(status, 'success');
  } finally {
    await h.close();
    await fake.close();
    env.cleanup();
  }
});
