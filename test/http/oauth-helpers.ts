/**
 * OAuth test rig (issue 29): a real issuer (oidc-provider, test/helpers/oidc.ts) and `serve --http`
 * in OAuth mode configured through loadConfig, as the CLI does. The requests in here take a base URL
 * only, so the same cases can run against several instances behind a load balancer.
 */
import { Writable } from 'node:stream';
import { type App, createApp } from '../../src/app.js';
import type { Clock } from '../../src/clock.js';
import { systemClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import { type HttpServerHandle, startHttpServer } from '../../src/http-server/index.js';
import { type FakeJogg, startFakeJogg } from '../fakes/jogg/index.js';
import { type TestEnv, testEnv } from '../helpers/app.js';
import { JSON_HEADERS, raw } from './helpers.js';

/** A clock `offsetMs` away from the issuer's (tests move it to model clock skew and expiry). */
export class SkewedClock implements Clock {
  offsetMs = 0;
  now = () => Date.now() + this.offsetMs;
  sleep = systemClock.sleep;
}

export interface OAuthServed {
  env: TestEnv;
  fake: FakeJogg;
  app: App;
  server: HttpServerHandle;
  clock: SkewedClock;
  logs: string[];
  stop(): Promise<void>;
}

/** `serve --http` with LIPSYNC_OAUTH_ISSUER (and `env`), over a fake Jogg, on a free loopback port. */
export async function serveOAuth(issuer: string, env: Record<string, string> = {}): Promise<OAuthServed> {
  const fake = await startFakeJogg();
  const te = testEnv({
    JOGG_API_KEY: fake.apiKey,
    JOGG_BASE_URL: fake.url,
    LIPSYNC_OAUTH_ISSUER: issuer,
    LIPSYNC_CONFIRM_PAID: 'false',
    ...env,
  });
  const config = loadConfig({ env: te.env });
  const clock = new SkewedClock();
  const logs: string[] = [];
  const logStream = new Writable({
    write(chunk, _enc, cb) {
      logs.push(String(chunk));
      cb();
    },
  });
  const app = await createApp(config, { media: {}, clock, logStream, cwd: te.home });
  const server = await startHttpServer(app, {
    host: '127.0.0.1',
    port: 0,
    allowedOrigins: [],
    maxBodyBytes: 64 * 1024,
    oauth: config.http.oauth,
    legacySessions: config.http.legacySessions,
    clock,
  });
  return {
    env: te,
    fake,
    app,
    server,
    clock,
    logs,
    async stop() {
      await server.close(2000);
      await app.close(2000);
      await fake.close();
      te.cleanup();
    },
  };
}

const bearer = (token: string | undefined): Record<string, string> =>
  token === undefined ? {} : { authorization: `Bearer ${token}` };

/** One 2026-07-28-free, session-free probe: a 2025 `initialize` POST with this token. */
export function initialize(url: string, token: string | undefined) {
  return raw(url, {
    headers: { ...JSON_HEADERS, ...bearer(token) },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: {
        protocolVersion: '2025-06-18',
        capabilities: {},
        clientInfo: { name: 'oauth', version: '1' },
      },
    }),
  });
}

/** A raw JSON-RPC POST in an existing 2025 session. */
export function rpc(url: string, token: string | undefined, session: string, method: string, params: object) {
  return raw(url, {
    headers: {
      ...JSON_HEADERS,
      ...bearer(token),
      'mcp-session-id': session,
      'mcp-protocol-version': '2025-06-18',
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 2, method, params }),
  });
}

/** The JSON-RPC message in an SSE or JSON answer. */
export function messageOf(body: string): { result?: Record<string, unknown>; error?: { message: string } } {
  const data = body
    .split('\n')
    .filter((l) => l.startsWith('data: '))
    .map((l) => l.slice(6));
  return JSON.parse(data.length ? (data[data.length - 1] as string) : body);
}
