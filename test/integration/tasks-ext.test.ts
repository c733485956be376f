/**
 * The MCP Tasks extension (`io.modelcontextprotocol/tasks`, issue 25 item 4), with the v2 client pinned
 * to 2026-07-28 over HTTP (`serve --http`, in process). A client that declares the extension gets a
 * long tool's answer as a task whose id is the ledger's task id; `tasks/get` and `tasks/cancel` are
 * answered from the ledger, so another instance on the same ledger (SQLite file, or PostgreSQL) answers
 * them too. Cancel stops a local job (its worker process ends); a paid job is never said to be undone.
 * A client that does not declare the extension gets the ordinary answer. Time is a ManualClock: a
 * provider look happens when the test moves it past the provider's poll interval, never by waiting.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  Client,
  type JSONRPCMessage,
  StreamableHTTPClientTransport,
  type Transport,
} from '@modelcontextprotocol/client';
import { z } from 'zod';
import { type App, createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { type HttpServerHandle, startHttpServer } from '../../src/http-server/index.js';
import { type FakeJogg, startFakeJogg } from '../fakes/jogg/index.js';
import { publicLookup, SETTLE_SUBMISSION_MS, type TestEnv, testEnv } from '../helpers/app.js';
import { makePair } from '../helpers/clips.js';
import { captureStream } from '../helpers/log.js';
import { mediaTools } from '../helpers/media.js';
import { PG_ADMIN_URL, type PgTestDatabase, pgSkip, pgTestDatabase } from '../helpers/pg.js';
import { until } from '../helpers/wait.js';
import { ManualClock } from '../http/helpers.js';

const PIN = '2026-07-28';
const TASKS = 'io.modelcontextprotocol/tasks';
const LOCAL_POLL_MS = 2000;

interface McpTask {
  resultType?: string;
  taskId: string;
  status: 'working' | 'input_required' | 'completed' | 'failed' | 'cancelled';
  statusMessage?: string;
  createdAt: string;
  lastUpdatedAt: string;
  ttlMs: number | null;
  pollIntervalMs?: number;
  result?: {
    isError?: boolean;
    structuredContent?: Record<string, unknown>;
    content?: { type: string; text: string }[];
  };
  error?: { code: number; message: string };
}

const TaskSchema = z.looseObject({ taskId: z.string(), status: z.string() });
const Empty = z.looseObject({});

/**
 * The client transport, with a look at each answer: the v2 client has no task runtime and refuses a
 * `resultType: "task"` answer to tools/call (UNSUPPORTED_RESULT_TYPE); the raw answer is kept here.
 */
class Tap implements Transport {
  readonly raw = new Map<string | number, Record<string, unknown>>();
  onmessage?: Transport['onmessage'];
  onclose?: () => void;
  onerror?: (e: Error) => void;
  constructor(private readonly inner: Transport) {}
  start() {
    this.inner.onmessage = (m, extra) => {
      if ('id' in m && 'result' in m)
        this.raw.set(m.id as string | number, m.result as Record<string, unknown>);
      this.onmessage?.(m, extra);
    };
    this.inner.onclose = () => this.onclose?.();
    this.inner.onerror = (e) => this.onerror?.(e);
    return this.inner.start();
  }
  send(m: JSONRPCMessage, o?: Parameters<Transport['send']>[1]) {
    return this.inner.send(m, o);
  }
  close() {
    return this.inner.close();
  }
  get sessionId() {
    return this.inner.sessionId;
  }
  setProtocolVersion(v: string) {
    this.inner.setProtocolVersion?.(v);
  }
}

interface TasksClient {
  /** tools/call: a task (declaring clients, long tools) or the ordinary tool result. */
  call(
    name: string,
    args: Record<string, unknown>,
  ): Promise<McpTask | { structuredContent?: unknown; isError?: boolean }>;
  get(taskId: string): Promise<McpTask>;
  cancel(taskId: string): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

async function tasksClient(url: string, declare: boolean): Promise<TasksClient> {
  const tap = new Tap(new StreamableHTTPClientTransport(new URL(url)));
  const client = new Client(
    { name: 'tasks-2026', version: '1' },
    {
      versionNegotiation: { mode: { pin: PIN } },
      capabilities: declare ? { extensions: { [TASKS]: {} } } : {},
    },
  );
  await client.connect(tap);
  return {
    async call(name, args) {
      const before = new Set(tap.raw.keys());
      try {
        return (await client.callTool({ name, arguments: args }, { timeout: 120_000 })) as never;
      } catch (err) {
        const fresh = [...tap.raw.entries()].filter(([id]) => !before.has(id)).map(([, r]) => r);
        const task = fresh.find((r) => r.resultType === 'task');
        if (task) return task as unknown as McpTask;
        throw err;
      }
    },
    async get(taskId) {
      return (await client.request(
        { method: 'tasks/get', params: { taskId } },
        TaskSchema,
      )) as unknown as McpTask;
    },
    async cancel(taskId) {
      return (await client.request({ method: 'tasks/cancel', params: { taskId } }, Empty)) as Record<
        string,
        unknown
      >;
    },
    close: () => client.close(),
  };
}

interface Instance {
  app: App;
  http: HttpServerHandle;
  close(): Promise<void>;
}

async function instance(
  env: TestEnv,
  clock: ManualClock,
  media: { ffmpeg: string; ffprobe: string },
  extraEnv: Record<string, string> = {},
  opts: { preflight?: false } = {},
): Promise<Instance> {
  const { stream } = captureStream();
  const app = await createApp(loadConfig({ env: { ...env.env, ...extraEnv } }), {
    media: {
      ffmpeg: { path: media.ffmpeg, source: 'test' },
      ffprobe: { path: media.ffprobe, source: 'test' },
    },
    clock,
    logStream: stream,
    cwd: env.home,
    lookupHost: publicLookup,
    submitWaitMs: SETTLE_SUBMISSION_MS,
    ...opts,
  });
  const http = await startHttpServer(app, {
    host: '127.0.0.1',
    port: 0,
    allowedOrigins: [],
    maxBodyBytes: 1024 * 1024,
    clock,
  });
  return {
    app,
    http,
    async close() {
      await http.close(500);
      await app.close(500);
    },
  };
}

const isTask = (r: unknown): r is McpTask => (r as { resultType?: string }).resultType === 'task';

/** The local job's state file, from the ledger row's operation. */
async function stateOf(app: App, taskId: string): Promise<{ status?: string } | undefined> {
  const row = await app.ledger.get(taskId);
  const out = row?.operation?.out;
  if (typeof out !== 'string' || !existsSync(`${out}.state.json`)) return undefined;
  try {
    return JSON.parse(readFileSync(`${out}.state.json`, 'utf8')) as { status?: string };
  } catch {
    return undefined;
  }
}

/** Resolves once `check()` holds (turn by turn, no fixed sleep); fails with `what` at the hang guard. */
async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 20_000; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, i < 100 ? 0 : 5));
  }
  throw new Error(`never happened: ${what}`);
}

/**
 * The JSON-RPC error code of a failed request: the v2 client's ProtocolError carries it; over HTTP a
 * 2026-07-28 error arrives with a 4xx status, as an SdkHttpError whose message holds the JSON-RPC body.
 */
function rpcCode(err: unknown): number | undefined {
  const e = err as { code?: unknown; message?: string };
  if (typeof e.code === 'number') return e.code;
  const m = /"code":(-?\d+)/.exec(e.message ?? '');
  return m ? Number(m[1]) : undefined;
}

/** Whether a process is gone (or a zombie nobody has reaped yet: it runs nothing). */
function gone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

let media: { ffmpeg: string; ffprobe: string };
before(async () => {
  media = await mediaTools();
});

/** Create on one instance, follow on the other: both on one ledger (`extraEnv` names it). */
async function twoInstances(env: TestEnv, extraEnv: Record<string, string>, seed: number) {
  const clock = new ManualClock();
  const a = await instance(env, clock, media, extraEnv);
  const b = await instance(env, clock, media, extraEnv);
  const ca = await tasksClient(a.http.url, true);
  const cb = await tasksClient(b.http.url, true);
  try {
    const pair = await makePair(env.work, seed, { video: `v${seed}.mp4`, audio: `a${seed}.wav` });
    const created = await ca.call('create_lip_sync', { ...pair, provider: 'local' });
    assert.ok(isTask(created), `a task, not: ${JSON.stringify(created)}`);
    assert.equal(created.status, 'working');
    assert.equal(created.ttlMs, null, 'the ledger keeps tasks: no expiry');
    assert.equal(created.pollIntervalMs, LOCAL_POLL_MS, "the local engine's poll interval");
    const row = await a.app.ledger.get(created.taskId);
    assert.ok(row, 'the task id is the ledger task id');
    assert.equal(row.provider, 'local');

    const seen = await cb.get(created.taskId);
    assert.equal(seen.taskId, created.taskId);
    assert.equal(seen.status, 'working', 'the other instance answers from the ledger');

    // The job ends in its worker; the next look (one poll interval later) sees it.
    await eventually(
      async () => (await stateOf(b.app, created.taskId))?.status === 'success',
      'the local job ends',
    );
    clock.advance(LOCAL_POLL_MS);
    const done = await cb.get(created.taskId);
    assert.equal(done.status, 'completed', JSON.stringify(done));
    const sc = done.result?.structuredContent;
    assert.equal(sc?.task_id, created.taskId);
    assert.equal(sc?.status, 'success');
    assert.ok(existsSync(fileURLToPath(String(sc?.result_url))), 'the result exists');
    assert.notEqual(done.result?.isError, true);
    assert.equal((await a.app.ledger.get(created.taskId))?.status, 'success');
  } finally {
    await ca.close();
    await cb.close();
    await a.close();
    await b.close();
  }
}

describe('Tasks extension: a declaring 2026-07-28 client', () => {
  test('create_lip_sync (local) answers a task with the ledger id; tasks/get on another instance (one SQLite ledger) follows it to completed', async () => {
    const env = testEnv({ LIPSYNC_LOG_LEVEL: 'warn' });
    try {
      await twoInstances(env, {}, 401);
    } finally {
      env.cleanup();
    }
  });

  test('the same on PostgreSQL: two instances, one database', { skip: pgSkip }, async () => {
    assert.ok(PG_ADMIN_URL);
    const db: PgTestDatabase = await pgTestDatabase('tasks_ext');
    const env = testEnv({ LIPSYNC_LOG_LEVEL: 'warn' });
    try {
      await twoInstances(env, { LIPSYNC_DATABASE_URL: db.url }, 402);
    } finally {
      env.cleanup();
      await db.drop();
    }
  });

  test('tasks/cancel of a running local job stops its worker and its ffmpeg; the ledger says cancelled', async () => {
    const env = testEnv({ LIPSYNC_LOG_LEVEL: 'warn' });
    // An ffmpeg that never ends (until killed), and says which process it is.
    const hang = join(env.root, 'hang-ffmpeg.sh');
    const pidFile = join(env.root, 'ffmpeg.pid');
    writeFileSync(hang, `#!/bin/sh\necho $$ > '${pidFile}'\nexec tail -f /dev/null\n`);
    chmodSync(hang, 0o755);
    const clock = new ManualClock();
    // No preflight (it would run this ffmpeg too): the only ffmpeg is the job's own.
    const a = await instance(env, clock, { ffmpeg: hang, ffprobe: media.ffprobe }, {}, { preflight: false });
    const b = await instance(env, clock, { ffmpeg: hang, ffprobe: media.ffprobe }, {}, { preflight: false });
    const ca = await tasksClient(a.http.url, true);
    const cb = await tasksClient(b.http.url, true);
    try {
      const pair = await makePair(env.work, 403, { video: 'v403.mp4', audio: 'a403.wav' });
      const created = await ca.call('create_lip_sync', { ...pair, provider: 'local' });
      assert.ok(isTask(created), JSON.stringify(created));
      await until(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '', 'ffmpeg runs');
      const ffmpegPid = Number(readFileSync(pidFile, 'utf8').trim());
      const workerPid = Number((await a.app.ledger.get(created.taskId))?.operation?.worker_pid);
      assert.ok(workerPid > 0 && !gone(workerPid), 'the worker runs');

      // Cancelled through the other instance: any instance can stop a job on this machine.
      const ack = await cb.cancel(created.taskId);
      assert.deepEqual(
        Object.keys(ack).filter((k) => k !== '_meta'),
        [],
        'an empty acknowledgement',
      );
      assert.ok(gone(workerPid), 'the worker process is gone when the cancel is acknowledged');
      await until(() => gone(ffmpegPid), 'its ffmpeg is gone');

      const t = await ca.get(created.taskId);
      assert.equal(t.status, 'cancelled', JSON.stringify(t));
      assert.match(t.statusMessage ?? '', /stopped/i);
      const row = await a.app.ledger.get(created.taskId);
      assert.equal(row?.status, 'failed');
      assert.equal(row?.error?.code, 'cancelled');
      // Cancelling again: nothing left to stop, the same answer.
      await ca.cancel(created.taskId);
      assert.equal((await cb.get(created.taskId)).status, 'cancelled');
    } finally {
      await ca.close();
      await cb.close();
      await a.close();
      await b.close();
      env.cleanup();
    }
  });

  test('unknown task ids: a clear -32602 for tasks/get and tasks/cancel', async () => {
    const env = testEnv({ LIPSYNC_LOG_LEVEL: 'warn' });
    const a = await instance(env, new ManualClock(), media);
    const c = await tasksClient(a.http.url, true);
    try {
      for (const op of [() => c.get('no-such-task'), () => c.cancel('no-such-task')])
        await assert.rejects(op, (err: { message?: string }) => {
          assert.equal(rpcCode(err), -32602, String(err));
          assert.match(err.message ?? '', /Task not found: no-such-task/);
          return true;
        });
    } finally {
      await c.close();
      await a.close();
      env.cleanup();
    }
  });
});

describe('Tasks extension: paid jobs and clients without it', () => {
  let jogg: FakeJogg;
  before(async () => {
    jogg = await startFakeJogg();
  });
  after(async () => {
    await jogg.close();
  });

  test('tasks/cancel of a paid Jogg job stops the waiting and says plainly the job is not undone; the ledger keeps following it', async () => {
    const env = testEnv({ LIPSYNC_LOG_LEVEL: 'warn', JOGG_API_KEY: jogg.apiKey, JOGG_BASE_URL: jogg.url });
    const a = await instance(env, new ManualClock(), media);
    const c = await tasksClient(a.http.url, true);
    try {
      const pair = await makePair(env.work, 404, { video: 'v404.mp4', audio: 'a404.wav' });
      const created = await c.call('create_lip_sync', { ...pair, provider: 'jogg', confirm: true });
      assert.ok(isTask(created), JSON.stringify(created));
      assert.equal(
        created.pollIntervalMs,
        10_000,
        "Jogg's poll interval (JOGG_LIP_SYNC_DEFAULT_POLL_INTERVAL_SECONDS)",
      );
      const before = (await a.app.ledger.get(created.taskId))?.status;
      assert.ok(before === 'pending' || before === 'processing', String(before));

      assert.deepEqual(
        Object.keys(await c.cancel(created.taskId)).filter((k) => k !== '_meta'),
        [],
      );
      const t = await c.get(created.taskId);
      assert.equal(t.status, 'cancelled');
      assert.match(t.statusMessage ?? '', /not (been )?cancelled at Jogg/i);
      assert.match(t.statusMessage ?? '', /may still .*charge/i);
      assert.doesNotMatch(t.statusMessage ?? '', /refund/i);
      const row = await a.app.ledger.get(created.taskId);
      assert.ok(
        row?.status === 'pending' || row?.status === 'processing',
        `the ledger still follows the paid job: ${row?.status}`,
      );
      assert.equal(row?.error, null, 'nothing is recorded as failed or cancelled at Jogg');
      assert.ok(
        row?.warnings.some((w) => /not cancelled at Jogg/.test(w)),
        JSON.stringify(row?.warnings),
      );

      // The same request again: the same task (never a second paid job), followed again.
      const creates = jogg.count('POST', '/v2/create_lip_sync_video');
      const again = await c.call('create_lip_sync', { ...pair, provider: 'jogg', confirm: true });
      assert.ok(isTask(again), JSON.stringify(again));
      assert.equal(again.taskId, created.taskId);
      assert.equal(again.status, 'working');
      assert.equal(jogg.count('POST', '/v2/create_lip_sync_video'), creates, 'nothing sent again');
      assert.equal((await c.get(created.taskId)).status, 'working', 'the earlier cancel no longer applies');
      const resumed = await a.app.ledger.get(created.taskId);
      assert.ok(!resumed?.warnings.some((w) => /not cancelled at Jogg/.test(w)));
    } finally {
      await c.close();
      await a.close();
      env.cleanup();
    }
  });

  test('a client that does not declare the extension gets the ordinary answer, and no tasks/get', async () => {
    const env = testEnv({ LIPSYNC_LOG_LEVEL: 'warn' });
    const a = await instance(env, new ManualClock(), media);
    const c = await tasksClient(a.http.url, false);
    try {
      const pair = await makePair(env.work, 405, { video: 'v405.mp4', audio: 'a405.wav' });
      const r = await c.call('create_lip_sync', { ...pair, provider: 'local' });
      assert.ok(!isTask(r), 'no task');
      const sc = (r as { structuredContent?: { task_id?: string; action?: string } }).structuredContent;
      assert.equal(sc?.action, 'created_new_task');
      await assert.rejects(
        () => c.get(String(sc?.task_id)),
        (err) => rpcCode(err) === -32021,
      );
    } finally {
      await c.close();
      await a.close();
      env.cleanup();
    }
  });
});
