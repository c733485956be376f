/**
 * Resumable answer streams (issue 26, src/http-server/resume.ts): two stateless instances on one ledger;
 * a client's answer stream is cut after its first event (as when its instance dies behind a balancer)
 * and the client comes back — through the "balancer", to the other instance — with Last-Event-ID. The
 * call is answered there, once, with no second paid create. Before: no priming event, so neither SDK
 * client could come back; the call waited out its whole timeout.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client as Client2, StreamableHTTPClientTransport as Http2 } from '@modelcontextprotocol/client';
import { Client as Client1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as Http1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { type App, createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { type HttpServerHandle, startHttpServer } from '../../src/http-server/index.js';
import { resumedRequest } from '../../src/http-server/resume.js';
import { type FakeJogg, startFakeJogg } from '../fakes/jogg/index.js';
import { structured, type TestEnv, testEnv } from '../helpers/app.js';
import { makePair } from '../helpers/clips.js';
import { drivenClock } from '../helpers/clock.js';
import { JSON_HEADERS, raw } from './helpers.js';

const CREATE = '/v2/create_lip_sync_video';
/** A call cut and never resumed fails at this timeout (the failure before the fix), not by hanging the suite. */
const CALL_TIMEOUT_MS = 45_000;

interface Instance {
  app: App;
  http: HttpServerHandle;
  logs: string[];
}

/**
 * A balancer in the client's fetch: every request goes to `target`; with `cut` armed, the next SSE
 * answer is passed on only up to its first event that carries data, and then the connection "drops".
 */
function balancer(first: string) {
  const state = {
    target: first,
    cut: false,
    cuts: 0,
    primingIds: [] as string[],
    onCut: (): void => undefined,
  };
  const fetchFn = async (url: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const u = new URL(url instanceof Request ? url.url : String(url));
    u.host = new URL(state.target).host;
    const res = await fetch(u, init);
    const sse = (res.headers.get('content-type') ?? '').startsWith('text/event-stream');
    if (!sse || !res.body) return res;
    const cutThis = state.cut && init?.method === 'POST';
    if (cutThis) state.cut = false;
    return new Response(watch(res.body, cutThis), { status: res.status, headers: res.headers });
  };
  /** Records priming ids; when cutting, ends the stream with an error at the first event with data. */
  const watch = (body: ReadableStream<Uint8Array>, cutting: boolean) => {
    const reader = body.getReader();
    const dec = new TextDecoder();
    let buf = '';
    let dropped = false;
    return new ReadableStream<Uint8Array>({
      async pull(c) {
        // What came before the cut has been read; the connection is gone now.
        if (dropped) return c.error(new TypeError('terminated: the instance went away'));
        const { done, value } = await reader.read();
        if (done) return c.close();
        buf += dec.decode(value, { stream: true });
        let at = buf.indexOf('\n\n');
        let out = '';
        while (at >= 0) {
          const event = buf.slice(0, at + 2);
          buf = buf.slice(at + 2);
          const id = /^id: ?(.*)$/m.exec(event)?.[1];
          const hasData = /^data: ?\S/m.test(event);
          if (id && !hasData) state.primingIds.push(id);
          if (cutting && hasData) {
            state.cuts++;
            void reader.cancel();
            state.onCut();
            dropped = true;
            if (out) return c.enqueue(new TextEncoder().encode(out));
            return c.error(new TypeError('terminated: the instance went away'));
          }
          out += event;
          at = buf.indexOf('\n\n');
        }
        if (out) c.enqueue(new TextEncoder().encode(out));
      },
      cancel: (r) => reader.cancel(r),
    });
  };
  return { state, fetch: fetchFn };
}

describe('an answer stream cut before its answer is resumed on another instance (stateless HTTP)', () => {
  let env: TestEnv;
  let fake: FakeJogg;
  const clock = drivenClock();
  const instances: Instance[] = [];

  const start = async (): Promise<Instance> => {
    const logs: string[] = [];
    const { Writable } = await import('node:stream');
    const logStream = new Writable({
      write(chunk, _e, cb) {
        logs.push(String(chunk));
        cb();
      },
    });
    const app = await createApp(loadConfig({ env: env.env }), { media: {}, clock, logStream, cwd: env.home });
    const http = await startHttpServer(app, {
      host: '127.0.0.1',
      port: 0,
      allowedOrigins: [],
      maxBodyBytes: 256 * 1024,
      legacySessions: 'stateless',
    });
    const i = { app, http, logs };
    instances.push(i);
    return i;
  };

  before(async () => {
    fake = await startFakeJogg();
    env = testEnv({
      JOGG_API_KEY: fake.apiKey,
      JOGG_BASE_URL: fake.url,
      LIPSYNC_CONFIRM_PAID: 'false',
      LIPSYNC_LOG_LEVEL: 'info',
    });
    await start();
    await start();
  });

  after(async () => {
    for (const i of instances) {
      await i.http.close(500);
      await i.app.close(500);
    }
    clock.stop();
    await fake.close();
    env.cleanup();
  });

  const resumedOn = (i: Instance) => i.logs.filter((l) => l.includes('answer stream resumed')).length;

  test('2025-11-25 (1.x client): a paid create cut after it began is answered by the other instance; one create', async () => {
    const [a, b] = instances as [Instance, Instance];
    const lb = balancer(a.http.url);
    const client = new Client1({ name: 'resume-2025', version: '1' }, { capabilities: {} });
    await client.connect(new Http1(new URL(a.http.url), { fetch: lb.fetch }));
    try {
      const pair = await makePair(env.work, 2901);
      const creates0 = fake.count('POST', CREATE);
      const before = resumedOn(b);
      lb.state.cut = true;
      // The instance "dies" for this client: from the cut on, the balancer sends it to b.
      lb.state.onCut = () => {
        lb.state.target = b.http.url;
      };
      const r = await client.callTool(
        { name: 'create_lip_sync', arguments: { ...pair, provider: 'jogg', wait_seconds: 0, confirm: true } },
        undefined,
        { timeout: CALL_TIMEOUT_MS },
      );
      assert.equal(lb.state.cuts, 1, 'the answer stream was cut once');
      const view = structured<{ task_id?: string; status?: string }>(r as never);
      assert.ok(view.task_id, JSON.stringify(r));
      assert.equal(resumedOn(b), before + 1, 'b ran the request again');
      // a may still be finishing its own (lost) answer: wait for both to have claimed, then count.
      const again = await client.callTool(
        { name: 'create_lip_sync', arguments: { ...pair, provider: 'jogg', wait_seconds: 0, confirm: true } },
        undefined,
        { timeout: CALL_TIMEOUT_MS },
      );
      assert.equal(structured<{ task_id?: string }>(again as never).task_id, view.task_id, 'the same task');
      assert.equal(fake.count('POST', CREATE), creates0 + 1, 'exactly one paid create');
    } finally {
      await client.close();
    }
  });

  test('2026-07-28 (v2 client): a status wait whose stream is cut at its first progress event is answered by the other instance', async () => {
    const [a, b] = instances as [Instance, Instance];
    const lb = balancer(a.http.url);
    const client = new Client2(
      { name: 'resume-2026', version: '1' },
      { capabilities: {}, versionNegotiation: { mode: { pin: '2026-07-28' } } },
    );
    await client.connect(new Http2(new URL(a.http.url), { fetch: lb.fetch }));
    try {
      const pair = await makePair(env.work, 2902);
      const created = await client.callTool(
        { name: 'create_lip_sync', arguments: { ...pair, provider: 'jogg', wait_seconds: 0, confirm: true } },
        { timeout: CALL_TIMEOUT_MS },
      );
      const taskId = (created as { structuredContent?: { task_id?: string } }).structuredContent?.task_id;
      assert.ok(taskId, JSON.stringify(created));
      const before = resumedOn(b);
      lb.state.cut = true;
      lb.state.onCut = () => {
        lb.state.target = b.http.url;
      };
      const progress: unknown[] = [];
      const r = await client.callTool(
        { name: 'get_task_status', arguments: { task_id: taskId, wait_seconds: 50 } },
        { timeout: CALL_TIMEOUT_MS, onprogress: (p) => progress.push(p) },
      );
      assert.equal(lb.state.cuts, 1, 'the answer streamed (progress) and was cut once');
      const view = (r as { structuredContent?: { task_id?: string; status?: string } }).structuredContent;
      assert.equal(view?.task_id, taskId, JSON.stringify(r));
      assert.equal(resumedOn(b), before + 1, 'b ran the wait again');
    } finally {
      await client.close();
    }
  });

  test('a stream whose error answer went out reads as answered (204, nothing run again); one whose result went out is answered again', async () => {
    const [a, b] = instances as [Instance, Instance];
    const post = async (body: object) => {
      const r = await fetch(a.http.url, {
        method: 'POST',
        headers: { ...JSON_HEADERS, 'mcp-protocol-version': '2025-11-25' },
        body: JSON.stringify({ jsonrpc: '2.0', ...body }),
      });
      const text = await r.text();
      const id = /^id: (\S+)$/m.exec(text)?.[1];
      assert.ok(id, `a priming event: ${text.slice(0, 300)}`);
      return id;
    };
    const back = (id: string) =>
      raw(b.http.url, {
        method: 'GET',
        headers: { accept: 'text/event-stream', 'last-event-id': id, 'mcp-protocol-version': '2025-11-25' },
      });
    const failed = await post({
      id: 11,
      method: 'resources/read',
      params: { uri: 'lipsync://tasks/no-such-task' },
    });
    const resumed = resumedOn(b);
    const r1 = await back(failed);
    assert.equal(r1.status, 204, r1.body);
    assert.equal(resumedOn(b), resumed, 'nothing run again');

    const listed = await post({
      id: 12,
      method: 'tools/call',
      params: { name: 'list_tasks', arguments: {} },
    });
    const r2 = await back(listed);
    assert.equal(r2.status, 200, r2.body);
    assert.match(r2.body, /^id: ls1-/m, 'primed again: it can be resumed again');
    assert.match(r2.body, /"id":12/, 'the answer to the same request id');
    assert.equal(resumedOn(b), resumed + 1);
  });

  test('an unknown or malformed stream id is a 404 with a sentence, never a run', async () => {
    const [a] = instances as [Instance];
    for (const id of ['ls1-AAAAAAAAAAAAAAAAAAAAAA', "'; DROP TABLE streams; --", 'x'.repeat(5000)]) {
      const r = await raw(a.http.url, {
        method: 'GET',
        headers: { ...JSON_HEADERS, accept: 'text/event-stream', 'last-event-id': id },
      });
      assert.equal(r.status, 404, r.body);
      assert.match(r.body, /unknown here or has expired.*Send the request again/);
    }
  });

  test('a forced create is sent at most once: force_recreate is dropped from a request run again', () => {
    const body = {
      jsonrpc: '2.0' as const,
      id: 7,
      method: 'tools/call',
      params: { name: 'create_lip_sync', arguments: { video: 'v', audio: 'a', force_recreate: true } },
    };
    assert.deepEqual(resumedRequest(body).params?.arguments, { video: 'v', audio: 'a' });
    const other = { jsonrpc: '2.0' as const, id: 8, method: 'resources/read', params: { uri: 'x' } };
    assert.equal(resumedRequest(other), other);
  });
});
