import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { type CallToolResult, ListRootsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createServer } from '../../src/server.js';
import { startFakeJogg } from '../fakes/jogg/index.js';
import { SETTLE_SUBMISSION_MS, testEnv, writeBytes } from '../helpers/app.js';
import { drivenClock } from '../helpers/clock.js';
import { captureStream } from '../helpers/log.js';
import { until } from '../helpers/wait.js';

test('MCP client roots extend the allowed input folders for that session only', async () => {
  const fake = await startFakeJogg();
  const env = testEnv({ JOGG_API_KEY: fake.apiKey, JOGG_BASE_URL: fake.url });
  const project = join(env.root, 'project');
  mkdirSync(project);
  const video = writeBytes(join(project, 'v.mp4'), 'roots-video');
  const audio = writeBytes(join(project, 'a.wav'), 'roots-audio');
  const { stream, lines } = captureStream();
  const clock = drivenClock();
  const app = await createApp(loadConfig({ env: env.env }), {
    media: {},
    clock,
    cwd: env.home,
    logStream: stream,
    submitWaitMs: SETTLE_SUBMISSION_MS,
  });
  const connect = async (roots: string[] | undefined) => {
    const server = createServer(app);
    const [a, b] = InMemoryTransport.createLinkedPair();
    const client = new Client(
      { name: 'roots-client', version: '1' },
      { capabilities: roots ? { roots: { listChanged: true } } : {} },
    );
    if (roots)
      client.setRequestHandler(ListRootsRequestSchema, async () => ({
        roots: roots.map((r) => ({ uri: pathToFileURL(r).href, name: 'project' })),
      }));
    const seen = lines.filter((l) => l.includes('"client roots"')).length;
    await Promise.all([server.connect(a), client.connect(b)]);
    // The server asks for roots right after initialization: wait until it has stored the answer.
    if (roots)
      await until(() => lines.filter((l) => l.includes('"client roots"')).length > seen, 'roots stored');
    return { client, server };
  };
  try {
    const without = await connect(undefined);
    const refused = (await without.client.callTool({
      name: 'create_lip_sync',
      arguments: { video, audio },
    })) as CallToolResult;
    assert.equal(refused.isError, true);
    assert.match(JSON.stringify(refused.content), /outside the folders/);
    const withRoots = await connect([project]);
    const accepted = (await withRoots.client.callTool({
      name: 'create_lip_sync',
      arguments: { video, audio },
    })) as CallToolResult;
    assert.notEqual(accepted.isError, true, JSON.stringify(accepted.content));
    assert.equal(fake.count('POST', '/v2/create_lip_sync_video'), 1);
    // The first session still may not read there.
    const still = (await without.client.callTool({
      name: 'upload_asset',
      arguments: { file: video },
    })) as CallToolResult;
    assert.equal(still.isError, true);
    await without.client.close();
    await withRoots.client.close();
  } finally {
    await app.close(1000);
    clock.stop();
    await fake.close();
    env.cleanup();
  }
});
