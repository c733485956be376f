/**
 * Large media over stdio (issue 24 item 2): the SDK's stdio reader drops the connection on a message
 * over 10 MiB, so a video over 10 MiB comes in ranges the client asks for. A real SDK client on the
 * bundle (the command users run) reads a 12 MiB result and an 11 MiB original, stays connected, and
 * gets every byte.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { testEnv } from '../helpers/app.js';
import { seedTask } from '../mcp/seed.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
const BIN = join(ROOT, PKG.bin['lipsync-mcp'] as string);
const RANGE = 4 * 1024 * 1024;

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

interface MediaMeta {
  size: number;
  offset: number;
  length: number;
  next?: string;
}

test('over stdio a 12 MiB result and an 11 MiB original come in ranges; the SDK client stays connected and gets every byte', async () => {
  const env = testEnv({ LIPSYNC_LOG_LEVEL: 'warn' });
  const out = join(env.outputs, 'work', 'big');
  mkdirSync(out, { recursive: true });
  const result = randomBytes(12 * 1024 * 1024 + 123);
  const original = randomBytes(11 * 1024 * 1024);
  writeFileSync(join(out, 'r.mp4'), result);
  writeFileSync(join(env.work, 'talk.mp4'), original);
  const app = await createApp(loadConfig({ env: env.env }), { media: {} });
  await seedTask(app.ledger, 'big', {
    provider: 'local',
    status: 'success',
    request: { inputs: { video: { type: 'file', path: join(env.work, 'talk.mp4') } } },
    snapshot: { status: 'success', resultUrl: pathToFileURL(join(out, 'r.mp4')).href },
  });
  await app.close(1000);

  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BIN],
    env: env.env,
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (d) => {
    stderr += d;
  });
  let closed = false;
  const client = new Client({ name: 'stdio-media-test', version: '1' });
  client.onclose = () => {
    closed = true;
  };
  await client.connect(transport);
  try {
    const templates = (await client.listResourceTemplates()).resourceTemplates.map((t) => t.uriTemplate);
    assert.ok(
      templates.includes('lipsync://tasks/{task_id}/media/{which}{?offset,length}'),
      String(templates),
    );
    for (const [which, bytes] of [
      ['result', result],
      ['original', original],
    ] as const) {
      const first = (await client.readResource({ uri: `lipsync://tasks/big/media/${which}` }))
        .contents[0] as {
        mimeType: string;
        text?: string;
        blob?: string;
      };
      assert.equal(first.mimeType, 'application/json', `${which}: a description, not ${bytes.length} bytes`);
      const doc = JSON.parse(first.text as string) as { size: number; ranges: string[]; download: object };
      assert.equal(doc.size, bytes.length);
      assert.equal(doc.ranges.length, Math.ceil(bytes.length / RANGE));
      if (which === 'result') assert.match(JSON.stringify(doc.download), /download_result/);
      const parts: Buffer[] = [];
      let next: string | undefined = doc.ranges[0];
      while (next) {
        const r = await client.readResource({ uri: next });
        const c = r.contents[0] as { blob: string; mimeType: string; _meta?: Record<string, MediaMeta> };
        const meta = c._meta?.['lipsync/media'] as MediaMeta;
        assert.equal(c.mimeType, 'video/mp4');
        assert.equal(meta.size, bytes.length);
        assert.equal(
          meta.offset,
          parts.reduce((n, p) => n + p.length, 0),
        );
        const part = Buffer.from(c.blob, 'base64');
        assert.equal(part.length, meta.length);
        assert.ok(part.length <= RANGE);
        parts.push(part);
        next = meta.next;
      }
      assert.equal(sha(Buffer.concat(parts)), sha(bytes), `${which}: every byte, in order`);
    }
    // A range in the middle, with an explicit length, and the end of the file.
    const mid = (await client.readResource({ uri: 'lipsync://tasks/big/media/result?offset=1000&length=10' }))
      .contents[0] as { blob: string };
    assert.deepEqual(Buffer.from(mid.blob, 'base64'), result.subarray(1000, 1010));
    const tail = await client.readResource({
      uri: `lipsync://tasks/big/media/result?offset=${result.length - 5}`,
    });
    const tailMeta = tail._meta?.['lipsync/media'] as MediaMeta | undefined;
    assert.deepEqual(
      tailMeta,
      { size: result.length, offset: result.length - 5, length: 5 },
      'no next at the end',
    );
    // A longer length is cut to one range, with next (as an HTTP Range would be).
    const long = await client.readResource({
      uri: `lipsync://tasks/big/media/result?offset=0&length=${RANGE + 1}`,
    });
    assert.equal(Buffer.from((long.contents[0] as { blob: string }).blob, 'base64').length, RANGE);
    assert.match(String((long._meta?.['lipsync/media'] as MediaMeta | undefined)?.next), /offset=4194304/);
    await assert.rejects(
      client.readResource({ uri: 'lipsync://tasks/big/media/result?offset=0&length=0' }),
      /length must be at least 1/,
    );
    assert.equal(closed, false, `the client is still connected; stderr: ${stderr}`);
    assert.ok((await client.listTools()).tools.length > 0);
  } finally {
    await client.close().catch(() => undefined);
    env.cleanup();
  }
});
