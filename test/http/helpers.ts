/** Starts the HTTP server in-process over a fake Jogg, and a raw node:http requester for the guards. */
import { request } from 'node:http';
import { Writable } from 'node:stream';
import { type App, createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import {
  type HttpServerHandle,
  type HttpServerOptions,
  startHttpServer,
} from '../../src/http-server/index.js';
import { type FakeJogg, startFakeJogg } from '../fakes/jogg/index.js';
import { type TestEnv, testEnv } from '../helpers/app.js';
import { drivenClock } from '../helpers/clock.js';
import { within } from '../helpers/wait.js';

export const TOKEN = 'http-token-CANARY-7f3e9a1b2c';
export const ALLOWED_ORIGIN = 'https://agents.example';

export interface Served {
  env: TestEnv;
  fake: FakeJogg;
  app: App;
  server: HttpServerHandle;
  logs: string[];
  /** Resolves when a log line matching `re` has been written (at once if one was). */
  waitForLog(re: RegExp): Promise<void>;
  stop(): Promise<void>;
}

export type ServeOptions = Partial<Omit<HttpServerOptions, 'host' | 'port' | 'allowedOrigins'>> & {
  env?: Record<string, string>;
};

export async function serve(opts: ServeOptions = {}): Promise<Served> {
  const fake = await startFakeJogg();
  const env = testEnv({
    JOGG_API_KEY: fake.apiKey,
    JOGG_BASE_URL: fake.url,
    ...(opts.token ? { LIPSYNC_HTTP_TOKEN: opts.token } : {}),
    ...opts.env,
  });
  const { stream, lines, waitForLog } = logCapture();
  const clock = drivenClock();
  const app = await createApp(loadConfig({ env: env.env }), {
    media: {},
    clock,
    logStream: stream,
    cwd: env.home,
  });
  const { env: _env, ...rest } = opts;
  const server = await startHttpServer(app, {
    ...rest,
    host: '127.0.0.1',
    port: 0,
    allowedOrigins: [ALLOWED_ORIGIN],
    maxBodyBytes: opts.maxBodyBytes ?? 64 * 1024,
  });
  return {
    env,
    fake,
    app,
    server,
    logs: lines,
    waitForLog,
    async stop() {
      await server.close(2000);
      await app.close(2000);
      clock.stop();
      await fake.close();
      env.cleanup();
    },
  };
}

/** Keeps every log line and wakes whoever waits for a line like it. */
function logCapture() {
  const lines: string[] = [];
  const waiters = new Set<{ re: RegExp; resolve: () => void }>();
  const stream = new Writable({
    write(chunk, _enc, cb) {
      const line = String(chunk);
      lines.push(line);
      for (const w of waiters)
        if (w.re.test(line)) {
          waiters.delete(w);
          w.resolve();
        }
      cb();
    },
  });
  const waitForLog = (re: RegExp) =>
    lines.some((l) => re.test(l))
      ? Promise.resolve()
      : within(
          new Promise<void>((resolve) => {
            waiters.add({ re, resolve });
          }),
          `a log line matching ${re}`,
        );
  return { stream, lines, waitForLog };
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A request with full control over Host, Origin and body size (fetch forbids setting Host). */
export function raw(
  url: string,
  o: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: o.method ?? 'POST', headers: o.headers, agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => {
        body += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    // The server may drop the connection after refusing an oversized body; the answer came first.
    req.on('error', reject);
    req.end(o.body);
  });
}

export const INIT = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
});

export const JSON_HEADERS = {
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
};

/** A clock whose time moves only when the test says so (test/helpers/clock.ts). */
export { ManualClock } from '../helpers/clock.js';

/** Waits (on event-loop turns, not on time) until `cond` holds; fails after `turns` turns. */
export async function until(cond: () => boolean, what: string, turns = 2000): Promise<void> {
  for (let i = 0; i < turns; i++) {
    if (cond()) return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`timed out waiting for: ${what}`);
}
