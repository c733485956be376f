/** Shared set-up for The Director's unit tests: a fake clock, the provider wired to the fake, contexts. */

import type { Clock } from '../../../src/clock.js';
import type { Config, Secret, TemplateSecret } from '../../../src/config.js';
import { createHttpClient, type HttpClient } from '../../../src/http/client.js';
import { type Logger, silentLogger } from '../../../src/logger.js';
import { createDirectorProvider } from '../../../src/providers/director/index.js';
import type {
  JobRequest,
  Provider,
  ResolvedInput,
  StartContext,
  StatusContext,
} from '../../../src/providers/provider.js';
import { type FakeDirector, startFakeDirector } from '../../fakes/director/index.js';

export interface FakeClock extends Clock {
  sleeps: number[];
}

/** Sleep resolves at once and advances `now`, so 30 s retry waits cost nothing but are visible. */
export function fakeClock(start = Date.parse('2025-03-01T10:00:00Z')): FakeClock {
  let t = start;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => t,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      t += ms;
    },
  };
}

export interface Harness {
  fake: FakeDirector;
  clock: FakeClock;
  http: HttpClient;
  provider: Provider;
  progress: string[];
  startCtx: StartContext;
  statusCtx: StatusContext;
  close(): Promise<void>;
}

export interface HarnessOptions {
  gatewayToken?: Secret | TemplateSecret | 'fake' | undefined;
  sjinnApiKey?: Secret | TemplateSecret | 'fake' | undefined;
  gatewayUrl?: string;
  stateFile?: string;
  progression?: number[];
  /** A base logger; the provider and the contexts get child loggers as the registry and JobService make. */
  log?: Logger;
}

export async function harness(opts: HarnessOptions = { gatewayToken: 'fake' }): Promise<Harness> {
  const fake = await startFakeDirector(opts.progression ? { progression: opts.progression } : {});
  const clock = fakeClock();
  const http = createHttpClient({ clock, timeoutMs: 5_000 });
  const pick = (v: HarnessOptions['gatewayToken'], value: string, source: string) =>
    v === 'fake' ? { value, source } : v;
  const config: Config['director'] = {
    gatewayToken: pick(opts.gatewayToken, fake.token, 'env:GATEWAY_TOKEN'),
    gatewayUrl: opts.gatewayUrl ?? fake.url,
    sjinnApiKey: pick(opts.sjinnApiKey, fake.apiKey, 'env:SJINN_API_KEY'),
    sjinnBaseUrl: fake.directUrl,
  };
  const base = opts.log ?? silentLogger();
  // As in src/providers/index.ts (provider child) and the JobService (task + provider child).
  const log = base.child({ task: 'task-local-1', provider: 'director' });
  const provider = createDirectorProvider({
    config,
    http,
    clock,
    log: base.child({ provider: 'director' }),
    ...(opts.stateFile ? { stateFile: opts.stateFile } : {}),
  });
  const progress: string[] = [];
  const signal = new AbortController().signal;
  return {
    fake,
    clock,
    http,
    provider,
    progress,
    startCtx: { signal, log, progress: (m) => progress.push(m), workDir: '/tmp', taskId: 'task-local-1' },
    statusCtx: { signal, log },
    async close() {
      await http.close();
      await fake.close();
    },
  };
}

export function urlInput(url: string, filename = url.split('/').pop() ?? 'file'): ResolvedInput {
  return { type: 'url', url, filename, mime: 'application/octet-stream' };
}

export const noAssets = {
  asset: async () => {
    throw new Error('The Director must not upload');
  },
};

export function prepareCtx(h: Harness) {
  return { ...noAssets, signal: h.startCtx.signal, log: h.startCtx.log, progress: h.startCtx.progress };
}

export function videoRequest(params: JobRequest['params'], inputs: JobRequest['inputs'] = {}): JobRequest {
  return { kind: 'generate_video', inputs, params };
}

/** prepare + start, as the JobService does (without the ledger). */
export async function startJob(h: Harness, request: JobRequest) {
  const prepared = await h.provider.prepare(request, prepareCtx(h));
  return h.provider.start(prepared, h.startCtx);
}

/** Polls until a terminal status or `max` polls (the JobService's job; here without waiting). */
export async function pollUntilDone(h: Harness, operation: Record<string, unknown>, max = 10) {
  const snaps = [];
  let op = operation as import('../../../src/providers/provider.js').JsonObject;
  for (let i = 0; i < max; i++) {
    const snap = await h.provider.status(op, h.statusCtx);
    snaps.push(snap);
    if (snap.operation) op = snap.operation;
    if (snap.status === 'success' || snap.status === 'failed') break;
  }
  return snaps;
}

/** Runs `fn` and returns the AppError it throws (fails the test if it does not throw one). */
export async function appErrorOf(fn: () => Promise<unknown>) {
  const { AppError } = await import('../../../src/errors.js');
  try {
    await fn();
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error('expected an AppError');
}
