/**
 * Shared setup for the NemoVideo provider tests: a fake Clock (sleep resolves at once and advances
 * time), a provider pointed at the loopback fake with a temp LIPSYNC_HOME, a log capture, small input
 * files, and minimal JobService-like contexts.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { abortError, type Clock } from '../../../src/clock.js';
import { loadConfig } from '../../../src/config.js';
import { createHttpClient, type HttpClient } from '../../../src/http/client.js';
import { createLogger, type Logger } from '../../../src/logger.js';
import { createNemoVideoProvider } from '../../../src/providers/nemovideo/index.js';
import type {
  InputRole,
  JobRequest,
  JsonObject,
  PrepareContext,
  Provider,
  ResolvedInput,
  Snapshot,
  StartContext,
  StatusContext,
} from '../../../src/providers/provider.js';
import { Redactor } from '../../../src/redact.js';
import { type FakeNemo, startFakeNemo } from '../../fakes/nemovideo/index.js';

/** A clock whose sleep resolves immediately while advancing `now`; records every sleep. */
export class FakeClock implements Clock {
  sleeps: number[] = [];
  constructor(public t = Date.now()) {}
  now = (): number => this.t;
  sleep = async (ms: number, signal?: AbortSignal): Promise<void> => {
    if (signal?.aborted) throw abortError();
    this.sleeps.push(ms);
    this.t += ms;
  };
}

/** Collects log lines (as pino writes them, after redaction). */
export class LogCapture extends Writable {
  lines: string[] = [];
  override _write(chunk: Buffer | string, _enc: BufferEncoding, cb: () => void): void {
    this.lines.push(chunk.toString());
    cb();
  }
  text(): string {
    return this.lines.join('');
  }
}

export interface Harness {
  fake: FakeNemo;
  home: string;
  clock: FakeClock;
  logs: LogCapture;
  log: Logger;
  redactor: Redactor;
  http: HttpClient;
  provider: Provider;
  /** Another provider on the same home (a second process). */
  another(): Provider;
  close(): Promise<void>;
}

export async function harness(
  env: Record<string, string> = {},
  fakeOpts: Parameters<typeof startFakeNemo>[0] = {},
): Promise<Harness> {
  const fake = await startFakeNemo(fakeOpts);
  const home = await mkdtemp(join(tmpdir(), 'nemo-test-'));
  const clock = new FakeClock();
  const logs = new LogCapture();
  const redactor = new Redactor();
  const log = createLogger('debug', redactor, logs);
  const http = createHttpClient({ clock, timeoutMs: 10_000 });
  const config = loadConfig({
    env: { LIPSYNC_HOME: join(home, 'lipsync'), NEMO_BASE_URL: fake.url, ...env },
    homeDir: home,
  });
  const make = () =>
    createNemoVideoProvider({ config: config.nemo, http, clock, log, redactor, version: '9.9.9-test' });
  return {
    fake,
    home,
    clock,
    logs,
    log,
    redactor,
    http,
    provider: make(),
    another: make,
    close: async () => {
      await http.close();
      await fake.close();
      await rm(home, { recursive: true, force: true });
    },
  };
}

/** Writes a small local input file and describes it as the media layer would. */
export async function fileInput(
  dir: string,
  filename: string,
  mime: string,
  bytes = 2048,
): Promise<ResolvedInput> {
  const path = join(dir, filename);
  const data = Buffer.alloc(bytes, filename.length);
  await writeFile(path, data);
  return {
    type: 'file',
    path,
    filename,
    mime,
    size: bytes,
    sha256: createHash('sha256').update(data).digest('hex'),
  };
}

/** A PrepareContext whose asset() caches by (scope, sha|url) and calls provider.upload on a miss. */
export function prepareCtx(
  provider: Provider,
  log: Logger,
): PrepareContext & { uploads: number; progressLines: string[] } {
  const cache = new Map<string, string>();
  const ctx = {
    uploads: 0,
    progressLines: [] as string[],
    signal: new AbortController().signal,
    log,
    progress: (m: string) => ctx.progressLines.push(m),
    async asset(input: ResolvedInput, role: InputRole, scope?: string): Promise<string> {
      const key = `${scope}:${input.type === 'file' ? `${input.sha256}:${input.size}` : input.url}`;
      const hit = cache.get(key);
      if (hit) return hit;
      ctx.uploads++;
      const res = await provider.upload!(input, role, scope, ctx.signal);
      cache.set(key, res.url);
      return res.url;
    },
  };
  return ctx;
}

export function startCtx(log: Logger, taskId = 'task-1'): StartContext {
  return { signal: new AbortController().signal, log, progress: () => undefined, workDir: tmpdir(), taskId };
}

export function statusCtx(log: Logger): StatusContext {
  return { signal: new AbortController().signal, log };
}

export function request(
  kind: JobRequest['kind'],
  inputs: JobRequest['inputs'],
  params: JsonObject = {},
): JobRequest {
  return { kind, inputs, params };
}

/** Drains a start's live events, returning every partial snapshot. */
export async function drain(
  events: AsyncIterable<Partial<Snapshot>> | undefined,
): Promise<Partial<Snapshot>[]> {
  const out: Partial<Snapshot>[] = [];
  if (!events) return out;
  for await (const e of events) out.push(e);
  return out;
}

export function countCalls(fake: FakeNemo, method: string, pathPrefix: string): number {
  return fake.calls.filter((c) => c.method === method && c.path.startsWith(pathPrefix)).length;
}
