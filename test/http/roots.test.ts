import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { type CallToolResult, ListRootsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { writeBytes } from '../helpers/app.js';
import { makePair } from '../helpers/clips.js';
import { type Served, serve, TOKEN } from './helpers.js';

/** A remote client that declares `roots` as its MCP roots; resolves once the server has taken them in. */
async function clientWithRoots(s: Served, roots: string[]): Promise<Client> {
  const client = new Client(
    { name: 'roots-remote', version: '1' },
    { capabilities: { roots: { listChanged: true } } },
  );
  client.setRequestHandler(ListRootsRequestSchema, async () => ({
    roots: roots.map((r) => ({ uri: r.startsWith('file:') ? r : pathToFileURL(r).href, name: 'r' })),
  }));
  const transport = new StreamableHTTPClientTransport(new URL(s.server.url), {
    requestInit: { headers: { authorization: `Bearer ${TOKEN}` } },
  });
  await client.connect(transport);
  // Ask again now that the notification stream is open, then wait for the server's verdict in its log.
  await client.sendRootsListChanged();
  await s.waitForLog(/client roots/);
  return client;
}

const upload = async (c: Client, file: string) =>
  (await c.callTool({ name: 'upload_asset', arguments: { file, provider: 'jogg' } })) as CallToolResult;

test('over HTTP a client root of file:/// does not let the server read outside its allowed folders', {
  timeout: 60_000,
}, async () => {
  const s = await serve({ token: TOKEN });
  try {
    const outside = join(s.env.root, 'outside');
    mkdirSync(outside);
    const file = writeBytes(join(outside, 'v.mp4'), 'outside-video');
    const c = await clientWithRoots(s, ['file:///', outside]);
    const r = await upload(c, file);
    assert.equal(r.isError, true, JSON.stringify(r.content));
    assert.match(JSON.stringify(r.content), /outside the folders/);
    assert.equal(s.fake.count('POST', '/v2/upload/asset'), 0, 'nothing was uploaded');
    await c.close();
  } finally {
    await s.stop();
  }
});

test('LIPSYNC_HTTP_TRUST_ROOTS: roots count only inside the allowed folders, never past them', {
  timeout: 60_000,
}, async () => {
  const s = await serve({ token: TOKEN, trustRoots: true });
  try {
    const outside = join(s.env.root, 'outside');
    mkdirSync(outside);
    const hidden = join(s.env.home, '.private');
    mkdirSync(hidden);
    const out = writeBytes(join(outside, 'v.mp4'), 'outside-video');
    const secret = writeBytes(join(hidden, 'v.mp4'), 'hidden-video');
    // A real clip: upload_asset checks that what it publishes is media.
    const inside = (await makePair(s.env.work, 64, { video: 'v.mp4', audio: 'a.wav' })).video;
    const c = await clientWithRoots(s, ['file:///', outside, hidden, s.env.work]);
    for (const file of [out, secret]) {
      const r = await upload(c, file);
      assert.equal(r.isError, true, `${file}: ${JSON.stringify(r.content)}`);
    }
    const ok = await upload(c, inside);
    assert.notEqual(ok.isError, true, JSON.stringify(ok.content));
    await c.close();
  } finally {
    await s.stop();
  }
});
