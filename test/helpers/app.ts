import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { type CallToolResult, ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { type App, type AppOptions, createApp } from '../../src/app.js';
import type { Clock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import type { HostLookup } from '../../src/media/url-guard.js';
import { createServer } from '../../src/server.js';
import { DrivenClock, drivenClock } from './clock.js';
import { captureStream } from './log.js';

export interface TestEnv {
  root: string;
  home: string;
  work: string;
  outputs: string;
  env: Record<string, string>;
  cleanup(): void;
}

/** A temp sandbox: a fake $HOME, a work folder (the allowed input root) and LIPSYNC_HOME. */
export function testEnv(extra: Record<string, string> = {}): TestEnv {
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'lipsync-test-')));
  const home = join(root, 'home');
  const work = join(home, 'work');
  const outputs = join(root, 'lipsync', 'outputs');
  mkdirSync(work, { recursive: true });
  const env: Record<string, string> = {
    HOME: home,
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    LIPSYNC_HOME: join(root, 'lipsync'),
    LIPSYNC_ALLOWED_DIRS: home,
    LIPSYNC_LOG_LEVEL: 'debug',
    JOGG_LIP_SYNC_DEFAULT_POLL_INTERVAL_SECONDS: '10',
    ...extra,
  };
  // Retries: a folder a worker process is just leaving can be briefly non-empty (ENOTEMPTY).
  return {
    root,
    home,
    work,
    outputs,
    env,
    cleanup: () => rmSync(root, { recursive: true, force: true, maxRetries: 5 }),
  };
}

export function writeBytes(path: string, seed: string, size = 4096): string {
  const buf = Buffer.alloc(size);
  for (let i = 0; i < size; i++) buf[i] = (seed.charCodeAt(i % seed.length) + i) & 0xff;
  writeFileSync(path, buf);
  return path;
}

export interface Harness {
  app: App;
  client: Client;
  clock: Clock;
  logs: string[];
  call(
    name: string,
    args: Record<string, unknown>,
    opts?: { onprogress?: (p: unknown) => void; signal?: AbortSignal },
  ): Promise<CallToolResult>;
  close(): Promise<void>;
}

/** No real DNS in tests: every host name resolves to a public documentation address (TEST-NET-3). */
export const publicLookup: HostLookup = async () => [{ address: '203.0.113.10', family: 4 }];

/**
 * A submission budget no test run reaches (about 11 days). The create budget is a wall-clock promise;
 * on a loaded machine a short one expires before loopback I/O finishes, and the call answers "pending"
 * before the provider's answer. Here a create answers when its submission settles: the event these
 * tests assert on. Pass `submitWaitMs` to test the budget itself.
 */
export const SETTLE_SUBMISSION_MS = 1e9;

/** How a test client answers elicitation: with `accept` or `decline`; each message is recorded. */
export interface Elicit {
  answer: 'accept' | 'decline';
  asked: string[];
}

/**
 * createServer + SDK Client over InMemoryTransport, with a driven clock (virtual time moves only when
 * the process is idle: test/helpers/clock.ts) and captured logs. With `elicit`
 * the client declares elicitation and answers every request with `elicit.answer`.
 */
export async function harness(
  env: Record<string, string>,
  { elicit, ...opts }: AppOptions & { clock?: Clock; elicit?: Elicit } = {},
): Promise<Harness> {
  const clock = opts.clock ?? drivenClock();
  const { stream, lines } = captureStream();
  const config = loadConfig({ env });
  const app = await createApp(config, {
    media: {},
    lookupHost: publicLookup,

    submitWaitMs: SETTLE_SUBMISSION_MS,
    ...opts,
    clock,
    logStream: stream,
    cwd: env.HOME,
  });
  const server = createServer(app);
  const [a, b] = InMemoryTransport.createLinkedPair();
  const client = new Client(
    { name: 'test-client', version: '1.0.0' },
    { capabilities: elicit ? { elicitation: {} } : {} },
  );
  if (elicit) {
    client.setRequestHandler(ElicitRequestSchema, async (req) => {
      elicit.asked.push(req.params.message);
      return elicit.answer === 'accept'
        ? { action: 'accept', content: { confirm: true } }
        : { action: 'decline' };
    });
  }
  await Promise.all([server.connect(a), client.connect(b)]);
  return {
    app,
    client,
    clock,
    logs: lines,
    async call(name, args, o = {}) {
      return (await client.callTool({ name, arguments: args }, undefined, {
        onprogress: o.onprogress as never,
        signal: o.signal,
        timeout: 120_000,
      })) as CallToolResult;
    },
    async close() {
      await client.close();
      await server.close();
      await app.close(2000);
      if (clock instanceof DrivenClock) clock.stop();
    },
  };
}

export function structured<T = Record<string, unknown>>(r: CallToolResult): T {
  if (r.isError) throw new Error(`tool error: ${JSON.stringify(r.content)}`);
  return r.structuredContent as T;
}

export function errorOf(r: CallToolResult): { code: string; message: string; hint?: string } {
  if (!r.isError) throw new Error(`expected an error, got ${JSON.stringify(r.structuredContent)}`);
  const text = (r.content[0] as { text: string }).text;
  try {
    return (JSON.parse(text) as { error: { code: string; message: string; hint?: string } }).error;
  } catch {
    return { code: 'sdk', message: text };
  }
}
