/**
 * HTTP sessions benchmark: 10,000 clients that initialize and walk away without DELETE (as Inspector
 * CLI and mcporter do). Samples the process's memory as they pile up; with idle expiry and the session
 * cap it must stay flat. Idle time is shortened (default 5 minutes would make the run that long) and the
 * cap is the default, so refusals (503) show when clients outrun expiry.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { DEFAULT_MAX_SESSIONS, startHttpServer } from '../src/http-server/index.js';
import { silentLogger } from '../src/logger.js';

const INIT = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench', version: '1' } },
});

export interface SessionsBench {
  abandoned: number;
  refused_503: number;
  idle_seconds: number;
  max_sessions: number;
  /** [sessions opened so far, live sessions, RSS MB, heap used MB] after each step. */
  samples: [number, number, number, number][];
  rss_growth_mb: number;
  heap_growth_mb: number;
}

const mb = (n: number) => Math.round(n / 1048576);

function measure(): { rss: number; heap: number } {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed };
}

export async function benchSessions(total = 10_000, idleSeconds = 2): Promise<SessionsBench> {
  const dir = mkdtempSync(join(tmpdir(), 'lipsync-bench-sessions-'));
  const config = loadConfig({ env: { HOME: dir, LIPSYNC_HOME: join(dir, 'home'), PATH: '' } });
  const app = await createApp(config, { media: {}, log: silentLogger() });
  const server = await startHttpServer(app, {
    host: '127.0.0.1',
    port: 0,
    allowedOrigins: [],
    maxBodyBytes: 1 << 20,
    sessionIdleMs: idleSeconds * 1000,
  });
  const samples: SessionsBench['samples'] = [];
  let refused = 0;
  try {
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    // Warm up until the pool has filled and expired once (code, caches, allocator arenas), then take the
    // baseline: what must not happen is growth with the number of abandoned sessions after that.
    for (let i = 0; i < 2000; i++)
      await (await fetch(server.url, { method: 'POST', headers, body: INIT })).text();
    const base = measure();
    samples.push([0, server.sessions.size, mb(base.rss), mb(base.heap)]);
    const step = total / 5;
    for (let i = 1; i <= total; i++) {
      const r = await fetch(server.url, { method: 'POST', headers, body: INIT });
      await r.text();
      if (r.status === 503) refused++;
      if (i % step === 0) {
        const m = measure();
        samples.push([i, server.sessions.size, mb(m.rss), mb(m.heap)]);
      }
    }
    const last = measure();
    return {
      abandoned: total,
      refused_503: refused,
      idle_seconds: idleSeconds,
      max_sessions: DEFAULT_MAX_SESSIONS,
      samples,
      rss_growth_mb: mb(last.rss - base.rss),
      heap_growth_mb: mb(last.heap - base.heap),
    };
  } finally {
    await server.close(1000);
    await app.close(1000);
    rmSync(dir, { recursive: true, force: true });
  }
}
