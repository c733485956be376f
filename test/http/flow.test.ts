import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { structured } from '../helpers/app.js';
import { makePair } from '../helpers/clips.js';
import { JSON_HEADERS, raw, type Served, serve, TOKEN } from './helpers.js';

type Status = { task_id: string; status: string; result_url?: string };

async function connect(url: string): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { authorization: `Bearer ${TOKEN}` } },
  });
  const client = new Client({ name: 'http-test', version: '1.0.0' }, { capabilities: {} });
  await client.connect(transport);
  return { client, transport };
}

const call = async (
  c: Client,
  name: string,
  args: Record<string, unknown>,
  onprogress?: (p: unknown) => void,
) =>
  (await c.callTool({ name, arguments: args }, undefined, {
    onprogress: onprogress as never,
    timeout: 60_000,
  })) as CallToolResult;

describe('a correct client over Streamable HTTP', () => {
  let s: Served;
  before(async () => {
    s = await serve({ token: TOKEN });
  });
  after(async () => {
    await s.stop();
  });

  test('create -> status with progress -> download; a second session follows the same task; DELETE ends a session', async () => {
    const { video, audio } = await makePair(s.env.work, 601);
    const a = await connect(s.server.url);
    const created = structured<Status>(
      await call(a.client, 'create_lip_sync', { video, audio, provider: 'jogg' }),
    );
    assert.ok(created.task_id);

    const progress: unknown[] = [];
    let status = structured<Status>(
      await call(a.client, 'get_task_status', { task_id: created.task_id, wait_seconds: 50 }, (p) =>
        progress.push(p),
      ),
    );
    // No fixed count: how many waits a job needs depends on the machine (a hang guard only).
    for (let i = 0; i < 200 && status.status !== 'success'; i++)
      status = structured<Status>(
        await call(a.client, 'get_task_status', { task_id: created.task_id, wait_seconds: 50 }, (p) =>
          progress.push(p),
        ),
      );
    assert.equal(status.status, 'success');
    assert.ok(progress.length >= 1, 'progress notifications arrive over SSE');

    const dl = structured<{ path: string; size: number }>(
      await call(a.client, 'download_result', { task_id: created.task_id }),
    );
    assert.ok(dl.path.startsWith(s.env.outputs) && existsSync(dl.path));

    // Job state lives in the ledger: a new session (as after a reconnect) sees the same task.
    const b = await connect(s.server.url);
    assert.equal(s.server.sessions.size, 2);
    const seen = structured<Status>(await call(b.client, 'get_task_status', { task_id: created.task_id }));
    assert.equal(seen.status, 'success');
    assert.equal(s.fake.count('POST', '/v2/create_lip_sync_video'), 1, 'paid once');

    // DELETE ends session a; its id is then unknown (404) while b keeps working.
    const oldId = a.transport.sessionId as string;
    await a.transport.terminateSession();
    assert.equal(s.server.sessions.size, 1);
    const list = JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/list' });
    const r = await raw(s.server.url, {
      headers: { ...JSON_HEADERS, authorization: `Bearer ${TOKEN}`, 'mcp-session-id': oldId },
      body: list,
    });
    assert.equal(r.status, 404);
    assert.ok((await b.client.listTools()).tools.length > 0);
    await a.client.close();
    await b.client.close();
    assert.ok(!s.logs.join('').includes(TOKEN), 'the token is never logged');
  });
});
