/**
 * What one OAuth user can try against another user's task (issue 29), through every tool and resource
 * of both protocol eras. Each attack takes a URL (or a client connected to one) and tokens only, so the
 * same cases run against one server (test/http/oauth-users.test.ts) and against three instances behind
 * nginx (test/e2e/oauth-load-balancer.test.ts). Each attempt on the victim's task must answer exactly as
 * for a task that does not exist; a read that gets through is counted (crossReads, must be 0).
 */
import assert from 'node:assert/strict';
import { Client as Client2, StreamableHTTPClientTransport as Http2 } from '@modelcontextprotocol/client';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { errorOf, structured } from '../helpers/app.js';

export type Created = { task_id: string; status: string; reused: boolean; warnings: string[] };

/** A 2025-era client (SDK 1.x) with this bearer token; `fetch` (e.g. one that counts requests) if given. */
export async function connect(url: string, token: string, fetch?: typeof globalThis.fetch): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { authorization: `Bearer ${token}` } },
    ...(fetch ? { fetch } : {}),
  });
  const client = new Client({ name: 'oauth-user', version: '1.0.0' }, { capabilities: {} });
  await client.connect(transport);
  return client;
}

export const call = async (c: Client, name: string, args: Record<string, unknown>) =>
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

/**
 * The same from a 2026-07-28 client (SDK v2, pinned, with the Tasks extension): the tools, a resource
 * read, a listen stream (another user's task is not honored), and the Tasks extension's tasks/get,
 * tasks/cancel and tasks/update (another user's task is one that does not exist: -32602).
 */
export async function modernCrossUserAttacks(
  url: string,
  token: string,
  victimTask: string,
  ownTask: string,
  fetch?: typeof globalThis.fetch,
): Promise<AttackReport> {
  const transport = new Http2(new URL(url), {
    requestInit: { headers: { authorization: `Bearer ${token}` } },
    ...(fetch ? { fetch } : {}),
  });
  const modern = new Client2(
    { name: 'oauth-user-2026', version: '1' },
    {
      versionNegotiation: { mode: { pin: '2026-07-28' } },
      capabilities: { extensions: { 'io.modelcontextprotocol/tasks': {} } },
    },
  );
  await modern.connect(transport);
  const tried: string[] = [];
  let crossReads = 0;
  const leak = (what: string) => {
    crossReads++;
    process.stderr.write(`cross-user read got through (2026): ${what}\n`);
  };
  try {
    assert.equal(modern.getProtocolEra(), 'modern');
    const tool = async (name: string, args: Record<string, unknown>) =>
      (await modern.callTool({ name, arguments: args }, { timeout: 60_000 })) as CallToolResult;
    for (const name of ['get_task_status', 'download_result']) {
      tried.push(`2026 ${name}`);
      const r = await tool(name, { task_id: victimTask });
      if (!r.isError) leak(name);
      else assert.equal(errorOf(r).code, 'not_found', `2026 ${name}`);
    }
    tried.push('2026 resources/read task');
    await modern.readResource({ uri: `lipsync://tasks/${victimTask}` }).then(
      () => leak('resources/read'),
      () => undefined,
    );
    tried.push('2026 list_tasks');
    const listed = structured<{ tasks: { task_id: string }[] }>(await tool('list_tasks', { limit: 200 }));
    const ids = listed.tasks.map((t) => t.task_id);
    if (ids.includes(victimTask)) leak('list_tasks');
    assert.ok(ids.includes(ownTask), 'a 2026 user lists their own task');

    tried.push('2026 subscriptions/listen');
    const mineUri = `lipsync://tasks/${ownTask}`;
    const sub = await modern.listen({ resourceSubscriptions: [`lipsync://tasks/${victimTask}`, mineUri] });
    const honored = sub.honoredFilter.resourceSubscriptions ?? [];
    await sub.close();
    if (honored.some((u) => u.includes(victimTask))) leak('subscriptions/listen');
    assert.deepEqual(honored, [mineUri], "the user's own task is listened to");

    const Task = z.looseObject({ taskId: z.string(), status: z.string() });
    const own = await modern.request({ method: 'tasks/get', params: { taskId: ownTask } }, Task);
    assert.equal(own.taskId, ownTask);
    for (const method of ['tasks/get', 'tasks/cancel', 'tasks/update']) {
      tried.push(`2026 ${method}`);
      await modern.request({ method, params: { taskId: victimTask } }, z.looseObject({})).then(
        () => leak(method),
        (err: { code?: number; message?: string }) => {
          assert.equal(err.code, -32602, `${method}: ${err.message}`);
          assert.match(err.message ?? '', /Task not found/);
        },
      );
    }
    return { tried, crossReads };
  } finally {
    await modern.close();
  }
}
