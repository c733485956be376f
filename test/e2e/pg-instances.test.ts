/**
 * Several server instances on one PostgreSQL ledger (issue 17): three `serve --http` processes, each
 * with its own home folder (as on three machines), one database, one Jogg fake.
 * - 50 concurrent identical create_lip_sync calls spread over them: exactly one paid create.
 * - An instance killed (SIGKILL) while its create is in flight: another instance takes the claim over
 *   and reconciles it (never resends); a third sees the result.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { type FakeJogg, startFakeJogg } from '../fakes/jogg/index.js';
import { structured, type TestEnv, testEnv } from '../helpers/app.js';
import { makePair } from '../helpers/clips.js';
import { type Instance, startServe } from '../helpers/cluster.js';
import { type PgTestDatabase, pgSkip, pgTestDatabase } from '../helpers/pg.js';

const CREATE = '/v2/create_lip_sync_video';
const TOKEN = 'pg-instances-token-0123456789';

type View = {
  task_id: string;
  status: string;
  action?: string;
  result_url?: string;
  provider_task_id?: string;
};

async function connect(url: string): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { authorization: `Bearer ${TOKEN}` } },
  });
  const client = new Client({ name: 'pg-instances', version: '1.0.0' }, { capabilities: {} });
  await client.connect(transport);
  return client;
}

const call = async (c: Client, name: string, args: Record<string, unknown>) =>
  (await c.callTool({ name, arguments: args }, undefined, { timeout: 120_000 })) as CallToolResult;

describe('three instances on one PostgreSQL ledger', { skip: pgSkip }, () => {
  let db: PgTestDatabase;
  let fake: FakeJogg;
  let env: TestEnv;
  const instances: Instance[] = [];
  const clients: Client[] = [];

  before(async () => {
    db = await pgTestDatabase('instances');
    fake = await startFakeJogg();
    fake.faults.queriesToFinish = 1;
    env = testEnv({
      JOGG_API_KEY: fake.apiKey,
      JOGG_BASE_URL: fake.url,
      JOGG_LIP_SYNC_DEFAULT_POLL_INTERVAL_SECONDS: '1',
      LIPSYNC_HTTP_TOKEN: TOKEN,
      LIPSYNC_DATABASE_URL: db.url,
      LIPSYNC_LOG_LEVEL: 'info',
    });
    // Own home folders, as on three machines: nothing is shared but the database.
    const started = await Promise.all(
      ['a', 'b', 'c'].map((n) => {
        const home = join(env.root, `instance-${n}`);
        mkdirSync(home, { recursive: true });
        return startServe({ ...env.env, LIPSYNC_HOME: home }, ['--port', '0']);
      }),
    );
    instances.push(...started);
    clients.push(...(await Promise.all(instances.map((i) => connect(i.url)))));
  });

  after(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    for (const i of instances) i.child.kill('SIGKILL');
    await Promise.all(instances.map((i) => i.exited));
    await fake?.close();
    await db?.drop();
    env?.cleanup();
  });

  test('50 concurrent identical requests over 3 instances: exactly 1 create, all on one task', async () => {
    const { video, audio } = await makePair(env.work, 1701);
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        call(clients[i % 3]!, 'create_lip_sync', {
          video,
          audio,
          provider: 'jogg',
          wait_seconds: 0,
          confirm: true,
        }),
      ),
    );
    const views = answers.map((a) => structured<View>(a));
    assert.equal(new Set(views.map((v) => v.task_id)).size, 1, 'one task for all 50 calls');
    assert.equal(fake.count('POST', CREATE), 1, 'exactly one paid create');
    assert.equal(views.filter((v) => v.action === 'created_new_task').length, 1);
  });

  test('an instance killed with its create in flight: another reconciles it (never resent), a third sees the result', async () => {
    const { video, audio } = await makePair(env.work, 1702);
    const creates0 = fake.count('POST', CREATE);
    fake.faults.holdCreates = 1;
    const a = instances[0]!;
    // The call on instance A never answers: A dies while its create request is at the provider.
    void call(clients[0]!, 'create_lip_sync', {
      video,
      audio,
      provider: 'jogg',
      wait_seconds: 0,
      confirm: true,
    }).catch(() => undefined);
    await fake.seen((c) => c.method === 'POST' && c.path === CREATE && fake.count('POST', CREATE) > creates0);
    a.child.kill('SIGKILL');
    await a.exited;

    // The same request on B: B finds A's claim (owner gone, request maybe sent) and reconciles it.
    const onB = structured<View>(
      await call(clients[1]!, 'create_lip_sync', {
        video,
        audio,
        provider: 'jogg',
        wait_seconds: 0,
        confirm: true,
      }),
    );
    assert.equal(onB.action, 'reused_existing_task', 'B follows the task A claimed');
    let onC = structured<View>(await call(clients[2]!, 'get_task_status', { task_id: onB.task_id }));
    for (let i = 0; i < 60 && onC.status !== 'success'; i++)
      onC = structured<View>(
        await call(clients[2]!, 'get_task_status', { task_id: onB.task_id, wait_seconds: 10 }),
      );
    assert.equal(onC.status, 'success', 'the third instance sees the result');
    assert.ok(onC.result_url);
    assert.equal(fake.count('POST', CREATE) - creates0, 1, 'the create was never sent again');
    const listed = structured<{ tasks: View[] }>(await call(clients[2]!, 'list_tasks', { limit: 50 }));
    assert.equal(listed.tasks.length, 2, 'no task lost, none doubled');
  });
});
