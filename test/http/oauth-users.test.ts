/**
 * Two users of one `serve --http` in OAuth mode (issue 29 items 3 and 4): each sees only their own
 * tasks through every tool and resource, each one's cap holds, and a paid result is reused across users
 * only with LIPSYNC_TEAM_REUSE (saying so). Tokens come from a real issuer on loopback. The attacks
 * take a base URL and two tokens only (crossUserAttacks), so they can run against several instances.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client as Client2, StreamableHTTPClientTransport as Http2 } from '@modelcontextprotocol/client';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { errorOf, structured } from '../helpers/app.js';
import { makePair } from '../helpers/clips.js';
import { PAY_SCOPE, READ_SCOPE, startIssuer, type TestClient, type TestIssuer } from '../helpers/oidc.js';
import { type OAuthServed, serveOAuth } from './oauth-helpers.js';

const user = (id: string): TestClient => ({
  client_id: id,
  client_secret: `${id}-secret-0123456789abcdef0123456789`,
  scope: `${READ_SCOPE} ${PAY_SCOPE}`,
});
const alice = user('alice');
const bob = user('bob');
const BOTH = `${READ_SCOPE} ${PAY_SCOPE}`;

type Created = { task_id: string; status: string; reused: boolean; warnings: string[] };

async function connect(url: string, token: string): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { authorization: `Bearer ${token}` } },
  });
  const client = new Client({ name: 'oauth-user', version: '1.0.0' }, { capabilities: {} });
  await client.connect(transport);
  return client;
}

const call = async (c: Client, name: string, args: Record<string, unknown>) =>
  (await c.callTool({ name, arguments: args }, undefined, { timeout: 60_000 })) as CallToolResult;

/** What a refused read says, with the task id taken out (to compare with a task that does not exist). */
async function refusal(p: Promise<unknown>, id: string): Promise<string> {
  try {
    await p;
  } catch (err) {
    return String((err as Error).message).replaceAll(id, '<id>');
  }
  throw new Error('expected a refusal, got an answer');
}

export interface AttackReport {
  tried: string[];
  crossReads: number;
}

/**
 * Everything `intruder` can do to reach `victimTask` (a task of another user), each checked to answer
 * as for a task that does not exist. Returns what was tried and how many reads got through (must be 0).
 */
export async function crossUserAttacks(
  intruder: Client,
  victimTask: string,
  ownTask: string,
): Promise<AttackReport> {
  const ghost = `${victimTask.slice(0, -4)}zzzz`;
  const tried: string[] = [];
  let crossReads = 0;
  const expectHidden = async (what: string, attempt: (id: string) => Promise<unknown>) => {
    tried.push(what);
    const seen = await refusal(attempt(victimTask), victimTask).catch(() => {
      crossReads++;
      process.stderr.write(`cross-user read got through: ${what}\n`);
      return 'READ';
    });
    const none = await refusal(attempt(ghost), ghost).catch(() => 'READ-GHOST');
    assert.equal(seen, none, `${what}: another user's task must answer as one that does not exist`);
  };
  const leak = () => {
    crossReads++;
    process.stderr.write(`cross-user read got through: ${tried[tried.length - 1]}\n`);
  };
  const toolRefusal = async (name: string, args: Record<string, unknown>) => {
    const r = await call(intruder, name, args);
    if (!r.isError) return r;
    throw new Error(`${errorOf(r).code}: ${errorOf(r).message}`);
  };
  await expectHidden('get_task_status', (id) => toolRefusal('get_task_status', { task_id: id }));
  await expectHidden('get_task_status (wait)', (id) =>
    toolRefusal('get_task_status', { task_id: id, wait_seconds: 1 }),
  );
  await expectHidden('download_result', (id) => toolRefusal('download_result', { task_id: id }));
  await expectHidden('resources/read task', (id) => intruder.readResource({ uri: `lipsync://tasks/${id}` }));
  await expectHidden('resources/read mouth cues', (id) =>
    intruder.readResource({ uri: `lipsync://tasks/${id}/mouth-cues.json` }),
  );
  await expectHidden('resources/read media', (id) =>
    intruder.readResource({ uri: `lipsync://tasks/${id}/media/result` }),
  );
  await expectHidden('resources/subscribe', (id) =>
    intruder.subscribeResource({ uri: `lipsync://tasks/${id}` }),
  );

  tried.push('list_tasks');
  const listed = structured<{ tasks: { task_id: string }[] }>(
    await call(intruder, 'list_tasks', { limit: 200 }),
  );
  const listedIds = listed.tasks.map((t) => t.task_id);
  if (listedIds.includes(victimTask)) leak();
  assert.ok(listedIds.includes(ownTask), 'a user lists their own task');

  tried.push('resources/list');
  const resources = (await intruder.listResources()).resources.map((r) => r.uri);
  if (resources.some((u) => u.includes(victimTask))) leak();
  assert.ok(
    resources.some((u) => u.includes(ownTask)),
    'a user lists their own task resource',
  );

  tried.push('completion of task ids');
  const done = await intruder.complete({
    ref: { type: 'ref/resource', uri: 'lipsync://tasks/{task_id}' },
    argument: { name: 'task_id', value: victimTask.slice(0, 6) },
  });
  if (done.completion.values.includes(victimTask)) leak();

  tried.push('spend_report');
  const report = JSON.stringify(structured(await call(intruder, 'spend_report', { days: 1 })));
  if (report.includes(victimTask)) leak();
  return { tried, crossReads };
}

describe('two OAuth users on one server', () => {
  let issuer: TestIssuer;
  let s: OAuthServed;
  let a: Client;
  let b: Client;
  let pairs: { video: string; audio: string }[] = [];
  const tasks = { alice: '', bob: '' };
  before(async () => {
    issuer = await startIssuer({ clients: [alice, bob] });
    s = await serveOAuth(issuer.issuer, { LIPSYNC_CAP_PAID_CREATES_PER_USER_PER_DAY: '2' });
    const url = s.server.url;
    a = await connect(url, await issuer.token(alice, { resource: url, scope: BOTH }));
    b = await connect(url, await issuer.token(bob, { resource: url, scope: BOTH }));
    pairs = [
      await makePair(s.env.work, 2901),
      await makePair(s.env.work, 2902, { video: 'v2.mp4', audio: 'a2.wav' }),
      await makePair(s.env.work, 2904, { video: 'v3.mp4', audio: 'a3.wav' }),
    ];
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await s?.stop();
    await issuer?.close();
  });

  test('identical requests of two users are two tasks; neither reaches the other by any tool or resource', async () => {
    const mine = structured<Created>(await call(a, 'create_lip_sync', { ...pairs[0], provider: 'jogg' }));
    const theirs = structured<Created>(await call(b, 'create_lip_sync', { ...pairs[0], provider: 'jogg' }));
    assert.notEqual(mine.task_id, theirs.task_id, 'no reuse across users (LIPSYNC_TEAM_REUSE is off)');
    tasks.alice = mine.task_id;
    tasks.bob = theirs.task_id;
    assert.equal(theirs.reused, false);
    assert.equal(s.fake.count('POST', '/v2/create_lip_sync_video'), 2, 'each user pays for their own job');

    const bobOnAlice = await crossUserAttacks(b, mine.task_id, theirs.task_id);
    const aliceOnBob = await crossUserAttacks(a, theirs.task_id, mine.task_id);
    process.stderr.write(
      `${JSON.stringify({ attacks: bobOnAlice.tried.length * 2, tried: bobOnAlice.tried, crossReads: bobOnAlice.crossReads + aliceOnBob.crossReads })}\n`,
    );
    assert.equal(bobOnAlice.crossReads + aliceOnBob.crossReads, 0);
  });

  test("a 2026-07-28 client of one user reaches none of the other's tasks either, nor hears them", async () => {
    assert.ok(tasks.alice && tasks.bob, 'the test before made both tasks');
    const url = s.server.url;
    const token = await issuer.token(bob, { resource: url, scope: BOTH });
    const transport = new Http2(new URL(url), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    });
    const modern = new Client2(
      { name: 'bob-2026', version: '1' },
      {
        versionNegotiation: { mode: { pin: '2026-07-28' } },
        capabilities: { extensions: { 'io.modelcontextprotocol/tasks': {} } },
      },
    );
    await modern.connect(transport);
    try {
      assert.equal(modern.getProtocolEra(), 'modern');
      const tool = async (name: string, args: Record<string, unknown>) =>
        (await modern.callTool({ name, arguments: args }, { timeout: 60_000 })) as CallToolResult;
      assert.equal(errorOf(await tool('get_task_status', { task_id: tasks.alice })).code, 'not_found');
      assert.equal(errorOf(await tool('download_result', { task_id: tasks.alice })).code, 'not_found');
      await assert.rejects(modern.readResource({ uri: `lipsync://tasks/${tasks.alice}` }));
      const listed = structured<{ tasks: { task_id: string }[] }>(await tool('list_tasks', {}));
      assert.deepEqual(
        listed.tasks.map((t) => t.task_id).filter((id) => id === tasks.alice || id === tasks.bob),
        [tasks.bob],
      );
      const mineUri = `lipsync://tasks/${tasks.bob}`;
      const sub = await modern.listen({ resourceSubscriptions: [`lipsync://tasks/${tasks.alice}`, mineUri] });
      assert.deepEqual(
        sub.honoredFilter.resourceSubscriptions,
        [mineUri],
        "another user's task is not listened to",
      );
      await sub.close();
      // The Tasks extension: another user's task is one that does not exist (-32602), to get and to cancel.
      const Task = z.looseObject({ taskId: z.string(), status: z.string() });
      const own = await modern.request({ method: 'tasks/get', params: { taskId: tasks.bob } }, Task);
      assert.equal(own.taskId, tasks.bob);
      for (const method of ['tasks/get', 'tasks/cancel', 'tasks/update'])
        await assert.rejects(
          modern.request({ method, params: { taskId: tasks.alice } }, z.looseObject({})),
          (err: { code?: number; message?: string }) => {
            assert.equal(err.code, -32602, `${method}: ${err.message}`);
            assert.match(err.message ?? '', /Task not found/);
            return true;
          },
        );
    } finally {
      await modern.close();
    }
  });

  test("each user's daily cap holds on its own", async () => {
    // Each has one paid job from the test before; the cap is 2.
    structured<Created>(await call(a, 'create_lip_sync', { ...pairs[1], provider: 'jogg' }));
    const third = await call(a, 'create_lip_sync', { ...pairs[2], provider: 'jogg' });
    const err = errorOf(third);
    assert.equal(err.code, 'spend_cap');
    assert.match(err.message, /your daily cap of 2 paid jobs \(LIPSYNC_CAP_PAID_CREATES_PER_USER_PER_DAY\)/);
    // Bob's own count is his: his second job passes.
    const bobs = structured<Created>(await call(b, 'create_lip_sync', { ...pairs[1], provider: 'jogg' }));
    assert.equal(bobs.reused, false);
    assert.equal(s.fake.count('POST', '/v2/create_lip_sync_video'), 4);
  });
});

describe('two OAuth users with LIPSYNC_TEAM_REUSE on', () => {
  let issuer: TestIssuer;
  let s: OAuthServed;
  before(async () => {
    issuer = await startIssuer({ clients: [alice, bob] });
    s = await serveOAuth(issuer.issuer, { LIPSYNC_TEAM_REUSE: 'true' });
  });
  after(async () => {
    await s?.stop();
    await issuer?.close();
  });

  test("a user's identical request reuses a teammate's paid task, says so, and can follow it", async () => {
    const url = s.server.url;
    const a = await connect(url, await issuer.token(alice, { resource: url, scope: BOTH }));
    const b = await connect(url, await issuer.token(bob, { resource: url, scope: BOTH }));
    try {
      const pair = await makePair(s.env.work, 2903);
      const mine = structured<Created>(await call(a, 'create_lip_sync', { ...pair, provider: 'jogg' }));
      const theirs = structured<Created>(await call(b, 'create_lip_sync', { ...pair, provider: 'jogg' }));
      assert.equal(theirs.task_id, mine.task_id);
      assert.equal(theirs.reused, true);
      assert.ok(
        theirs.warnings.some((w) => /reused from the team/.test(w)),
        JSON.stringify(theirs.warnings),
      );
      assert.equal(s.fake.count('POST', '/v2/create_lip_sync_video'), 1, 'paid once for the team');
      const followed = structured<{ task_id: string }>(
        await call(b, 'get_task_status', { task_id: mine.task_id }),
      );
      assert.equal(followed.task_id, mine.task_id);
      // Lists stay per user.
      const listed = structured<{ tasks: { task_id: string }[] }>(await call(b, 'list_tasks', {}));
      assert.ok(!listed.tasks.some((t) => t.task_id === mine.task_id));
    } finally {
      await a.close();
      await b.close();
    }
  });
});
