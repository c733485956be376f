/**
 * Attack: the Tasks extension (io.modelcontextprotocol/tasks, 2026-07-28 only) over HTTP, from the
 * ext-tasks spec (specification/2026-07-28/tasks.md) and the README ("Tasks extension"): unknown, huge
 * and foreign task ids, cancel twice, cancel a finished task, get after cancel; a paid job (Jogg fake
 * that never finishes) and a local job.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type FakeJogg, startFakeJogg } from '../fakes/jogg/index.js';
import { makePair } from '../helpers/clips.js';
import { within } from '../helpers/wait.js';
import { assertClean, call26, rpcError, rpcResult, type Served, serve, TASKS_EXT } from './serve.js';

const WITH_TASKS = { extensions: { [TASKS_EXT]: {} } };

interface TaskShape {
  resultType?: string;
  taskId: string;
  status: string;
  statusMessage?: string;
  createdAt: string;
  lastUpdatedAt: string;
  ttlMs: number | null;
  pollIntervalMs?: number;
  result?: { isError?: boolean; structuredContent?: Record<string, unknown> };
}

let nextId = 1000;
const tasks = (
  url: string,
  method: string,
  params: Record<string, unknown>,
  caps: Record<string, unknown> = WITH_TASKS,
) => call26(url, nextId++, method, params, { capabilities: caps });

/** Polls tasks/get (each answer is an event) until `done`, with a bound on the number of polls. */
async function getUntil(
  url: string,
  taskId: string,
  done: (t: TaskShape) => boolean,
  what: string,
): Promise<TaskShape> {
  let last: TaskShape | undefined;
  for (let i = 0; i < 2000; i++) {
    last = rpcResult<TaskShape>(await tasks(url, 'tasks/get', { taskId }));
    if (done(last)) return last;
    // One turn of the event loop between polls (the server does the work; this only yields).
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`never happened: ${what}; last ${JSON.stringify(last)}`);
}

describe('Tasks extension over HTTP: ids and cancellation', () => {
  let s: Served;
  let jogg: FakeJogg;
  let paidTask: TaskShape;
  let localTask: TaskShape;

  before(async () => {
    jogg = await startFakeJogg();
    jogg.faults.queriesToFinish = 1_000_000; // the paid job never finishes at the provider
    s = await serve({
      JOGG_API_KEY: jogg.apiKey,
      JOGG_BASE_URL: jogg.url,
      JOGG_LIP_SYNC_DEFAULT_POLL_INTERVAL_SECONDS: '600',
    });
  });
  after(async () => {
    await s?.stop();
    await jogg?.close();
  });

  test('tasks/get for an unknown id: -32602 (spec: MUST)', async () => {
    const a = await tasks(s.url, 'tasks/get', { taskId: 'no-such-task' });
    assert.equal(rpcError(a).code, -32602, a.text);
  });

  test('tasks/cancel and tasks/update for an unknown id: a JSON-RPC error -32602 (spec: SHOULD)', async () => {
    const c = await tasks(s.url, 'tasks/cancel', { taskId: 'no-such-task' });
    assert.equal(rpcError(c).code, -32602, c.text);
    const u = await tasks(s.url, 'tasks/update', { taskId: 'no-such-task', inputResponses: {} });
    assert.equal(rpcError(u).code, -32602, u.text);
  });

  test('tasks/get with an 8 000-character id: a clean -32602, no 5xx', async () => {
    const a = await tasks(s.url, 'tasks/get', { taskId: 'z'.repeat(8_000) });
    assert.ok(a.status < 500, `${a.status} ${a.text.slice(0, 300)}`);
    assert.equal(rpcError(a).code, -32602);
    assertClean(a.text);
  });

  test('tasks/get with a 100 000-character id (mirrored in Mcp-Name as the spec asks): a 4xx that says what is wrong', async () => {
    const a = await tasks(s.url, 'tasks/get', { taskId: 'z'.repeat(100_000) });
    assert.ok(a.status >= 400 && a.status < 500, `${a.status} ${a.text.slice(0, 300)}`);
    assert.ok(
      rpcError(a).message.length > 10,
      `HTTP ${a.status}, body ${JSON.stringify(a.text.slice(0, 200))}`,
    );
  });

  test('tasks/get with path-traversal, SQL and unicode ids: -32602 each', async () => {
    for (const taskId of ['../../etc/passwd', "x' OR '1'='1", '%00', '🙂'.repeat(50), 'lipsync://tasks/x']) {
      const a = await tasks(s.url, 'tasks/get', { taskId });
      assert.equal(rpcError(a).code, -32602, `${taskId}: ${a.text.slice(0, 300)}`);
      assertClean(a.text);
    }
  });

  test('tasks/get with a non-string taskId: -32602, not a 5xx', async () => {
    for (const taskId of [12345, null, { a: 1 }, ['x']]) {
      const a = await call26(
        s.url,
        nextId++,
        'tasks/get',
        { taskId },
        { capabilities: WITH_TASKS, headers: { 'mcp-name': String(taskId) } },
      );
      assert.ok(a.status < 500, `${JSON.stringify(taskId)}: ${a.status} ${a.text.slice(0, 300)}`);
      assert.equal(rpcError(a).code, -32602, `${JSON.stringify(taskId)}: ${a.text.slice(0, 300)}`);
    }
  });

  test('tasks/list is not a method of the 2026-07-28 Tasks extension: 404 -32601', async () => {
    const a = await tasks(s.url, 'tasks/list', {});
    assert.equal(a.status, 404, a.text.slice(0, 300));
    assert.equal(rpcError(a).code, -32601);
  });

  test('tasks/cancel and tasks/update without the extension declared: -32021 (spec: MUST)', async () => {
    for (const method of ['tasks/cancel', 'tasks/update']) {
      const a = await tasks(s.url, method, { taskId: 'anything', inputResponses: {} }, {});
      assert.equal(rpcError(a).code, -32021, `${method}: ${a.text.slice(0, 300)}`);
    }
  });

  test('tasks/get from a client that does not declare the extension: -32021 naming it (spec: MUST)', async () => {
    const a = await tasks(s.url, 'tasks/get', { taskId: 'anything' }, {});
    const e = rpcError(a);
    assert.equal(e.code, -32021, a.text);
    assert.ok(JSON.stringify(e.data).includes(TASKS_EXT));
  });

  test('a paid create with the extension answers a task (resultType task, ttlMs null, durable at once)', async () => {
    const { video, audio } = await makePair(s.work, 91);
    const a = await call26(
      s.url,
      nextId++,
      'tools/call',
      { name: 'create_lip_sync', arguments: { provider: 'jogg', video, audio, confirm: true } },
      { capabilities: WITH_TASKS },
    );
    const r = rpcResult<TaskShape>(a);
    assert.equal(r.resultType, 'task', a.text);
    assert.equal(r.status, 'working');
    assert.equal(r.ttlMs, null);
    assert.ok(Number.isInteger(r.pollIntervalMs), `pollIntervalMs ${r.pollIntervalMs}`);
    paidTask = r;
    const g = rpcResult<TaskShape>(await tasks(s.url, 'tasks/get', { taskId: r.taskId }));
    assert.equal(g.resultType, 'complete');
    assert.equal(g.taskId, r.taskId);
    assert.equal(g.status, 'working');
  });

  test('the same create without the extension gets no task (spec: MUST NOT) and the same task_id', async () => {
    assert.ok(paidTask, 'needs the paid task of the previous case');
    const { video, audio } = await makePair(s.work, 91);
    const a = await call26(s.url, nextId++, 'tools/call', {
      name: 'create_lip_sync',
      arguments: { provider: 'jogg', video, audio, confirm: true },
    });
    const r = rpcResult<{ resultType?: string; structuredContent: { task_id: string; reused: boolean } }>(a);
    assert.notEqual(r.resultType, 'task', a.text);
    assert.equal(r.structuredContent.task_id, paidTask.taskId);
    assert.equal(r.structuredContent.reused, true);
  });

  test('tasks/update on a working task with responses to keys never issued: ignored, empty ack (spec: SHOULD ignore)', async () => {
    assert.ok(paidTask);
    const a = await tasks(s.url, 'tasks/update', {
      taskId: paidTask.taskId,
      inputResponses: { nope: { action: 'accept', content: {} } },
    });
    const r = rpcResult<{ resultType?: string }>(a);
    assert.equal(r.resultType, 'complete', a.text);
    const g = rpcResult<TaskShape>(await tasks(s.url, 'tasks/get', { taskId: paidTask.taskId }));
    assert.equal(g.status, 'working');
  });

  test('cancel a paid task: ack, then cancelled with a message that the provider may still charge (README)', async () => {
    assert.ok(paidTask);
    const a = await tasks(s.url, 'tasks/cancel', { taskId: paidTask.taskId });
    assert.equal(rpcResult<{ resultType?: string }>(a).resultType, 'complete', a.text);
    const g = await getUntil(
      s.url,
      paidTask.taskId,
      (t) => t.status !== 'working',
      'the paid task leaves working after tasks/cancel',
    );
    assert.equal(g.status, 'cancelled', JSON.stringify(g));
    assert.match(g.statusMessage ?? '', /charg|provider/i, JSON.stringify(g));
  });

  test('cancel the paid task twice: second is an ack too, status stays cancelled', async () => {
    assert.ok(paidTask);
    const a = await tasks(s.url, 'tasks/cancel', { taskId: paidTask.taskId });
    assert.equal(rpcResult<{ resultType?: string }>(a).resultType, 'complete', a.text);
    const g = rpcResult<TaskShape>(await tasks(s.url, 'tasks/get', { taskId: paidTask.taskId }));
    assert.equal(g.status, 'cancelled');
  });

  test('after cancel, get_task_status still follows the paid job (README: the server keeps following it)', async () => {
    assert.ok(paidTask);
    const a = await call26(s.url, nextId++, 'tools/call', {
      name: 'get_task_status',
      arguments: { task_id: paidTask.taskId },
    });
    const r = rpcResult<{ isError?: boolean; structuredContent: { status: string } }>(a);
    assert.equal(r.isError ?? false, false, a.text);
    assert.ok(['pending', 'processing'].includes(r.structuredContent.status), a.text.slice(0, 400));
  });

  test('a local job as a task runs to completed with the tool result; cancel after that changes nothing', async () => {
    const { video, audio } = await makePair(s.work, 92, { video: 'local talk ✓.mp4', audio: 'dub ✓.wav' });
    const a = await call26(
      s.url,
      nextId++,
      'tools/call',
      { name: 'create_lip_sync', arguments: { provider: 'local', video, audio } },
      { capabilities: WITH_TASKS },
    );
    const r = rpcResult<TaskShape>(a);
    assert.equal(r.resultType, 'task', a.text);
    localTask = r;
    const done = await within(
      getUntil(s.url, r.taskId, (t) => t.status !== 'working', 'the local task finishes'),
      'the local task finishes',
      300_000,
    );
    assert.equal(done.status, 'completed', JSON.stringify(done).slice(0, 600));
    assert.ok(done.result, 'a completed task carries its result');
    const c = await tasks(s.url, 'tasks/cancel', { taskId: r.taskId });
    assert.ok(c.messages.length === 1, c.text);
    const g = rpcResult<TaskShape>(await tasks(s.url, 'tasks/get', { taskId: r.taskId }));
    assert.equal(g.status, 'completed', 'a terminal task stays terminal (spec: state diagram)');
    assert.ok(g.result);
  });

  test('cancel a running local job: cancelled; the same request then runs it again (README)', async () => {
    const { video, audio } = await makePair(s.work, 93, { video: 'long.mp4', audio: 'long.wav' });
    // A longer input so that the job is still running when the cancel arrives.
    const { makeVideo } = await import('../helpers/media.js');
    await makeVideo({ file: video, seconds: 40, width: 640, height: 360, fps: 25 });
    const create = () =>
      call26(
        s.url,
        nextId++,
        'tools/call',
        { name: 'create_lip_sync', arguments: { provider: 'local', video, audio, align: 'off' } },
        { capabilities: WITH_TASKS },
      );
    const r = rpcResult<TaskShape>(await create());
    assert.equal(r.resultType, 'task');
    const c = await tasks(s.url, 'tasks/cancel', { taskId: r.taskId });
    assert.equal(rpcResult<{ resultType?: string }>(c).resultType, 'complete', c.text);
    const g = await getUntil(
      s.url,
      r.taskId,
      (t) => t.status !== 'working',
      'the local task leaves working after cancel',
    );
    assert.equal(g.status, 'cancelled', JSON.stringify(g).slice(0, 500));
    const again = rpcResult<TaskShape>(await create());
    assert.equal(again.resultType, 'task');
    const g2 = rpcResult<TaskShape>(await tasks(s.url, 'tasks/get', { taskId: again.taskId }));
    assert.equal(g2.status, 'working', `the same request runs again: ${JSON.stringify(g2).slice(0, 300)}`);
    await tasks(s.url, 'tasks/cancel', { taskId: again.taskId });
    await getUntil(s.url, again.taskId, (t) => t.status !== 'working', 'the rerun is cancelled too');
  });

  test('a task id is not a provider task id: tasks/get on the Jogg id answers -32602', async () => {
    assert.ok(paidTask);
    const st = rpcResult<{ structuredContent: { provider_task_id?: string } }>(
      await call26(s.url, nextId++, 'tools/call', {
        name: 'get_task_status',
        arguments: { task_id: paidTask.taskId },
      }),
    );
    const foreign = st.structuredContent.provider_task_id;
    assert.ok(foreign && foreign !== paidTask.taskId, JSON.stringify(st));
    const a = await tasks(s.url, 'tasks/get', { taskId: foreign });
    assert.equal(rpcError(a).code, -32602, a.text);
  });

  test('local task ids show up in list_tasks and in the task resource', async () => {
    assert.ok(localTask);
    const a = await call26(s.url, nextId++, 'resources/read', { uri: `lipsync://tasks/${localTask.taskId}` });
    const r = rpcResult<{ contents: Array<{ text?: string }> }>(a);
    assert.ok(r.contents[0]?.text?.includes(localTask.taskId), a.text.slice(0, 300));
  });
});
