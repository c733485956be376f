/**
 * Abandoned HTTP clients (issue 26 item 3): 10,000 clients that connect and leave the server to clean up
 * after them, in waves, a quarter of each kind: a silent connection, a slow loris (half its headers),
 * an abandoned stream (a call sent, its answer never read, the socket dropped), and an idle keep-alive
 * connection after one answered call. The server (stateless, as behind a load balancer) must cut them
 * all itself (timeouts shortened, as the sessions bench shortens idle time), answer a newcomer during
 * every wave (200, or 503 with Retry-After when full: never silence), and keep its memory flat.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { startHttpServer } from '../src/http-server/index.js';
import type { HttpLimits } from '../src/http-server/limits.js';
import { silentLogger } from '../src/logger.js';

const INIT = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench', version: '1' } },
});

export interface AbandonedBench {
  abandoned: number;
  limits: HttpLimits;
  /** Newcomers (one per wave) answered 200 / 503 with Retry-After / not at all. */
  newcomers: { ok: number; full_503: number; silent: number };
  /** [clients abandoned so far, RSS MB, heap used MB, open connections] after each wave. */
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

function post(host: string, body: string): string {
  return `POST /mcp HTTP/1.1\r\nHost: ${host}\r\ncontent-type: application/json\r\naccept: application/json, text/event-stream\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

/** One abandoned client of kind `k`; resolves when the connection is gone (whoever closed it). */
function abandon(port: number, host: string, k: number): Promise<void> {
  return new Promise((resolve) => {
    const s: Socket = connect(port, '127.0.0.1', () => {
      if (k === 1) s.write(`POST /mcp HTTP/1.1\r\nHost: ${host}\r\n`);
      if (k === 2) {
        s.write(post(host, INIT));
        s.pause();
        setImmediate(() => s.destroy());
      }
      if (k === 3) s.write(post(host, INIT));
    });
    // Kinds 0, 1 and 3 read (and drop) what comes and never close: the server must.
    if (k !== 2) s.resume();
    s.on('error', () => undefined);
    s.once('close', () => resolve());
  });
}

/**
 * A new client's initialize, on a connection of its own: its status (-1: a 503 without Retry-After), or
 * 0 when nothing came back within 10 s.
 */
function newcomer(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        timeout: 10_000,
      },
      (res) => {
        res.resume();
        res.on('end', () =>
          resolve(res.statusCode === 503 && !res.headers['retry-after'] ? -1 : (res.statusCode ?? 0)),
        );
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', (err) => {
      if (process.env.BENCH_DEBUG) console.error('newcomer', String(err));
      resolve(0);
    });
    req.end(INIT);
  });
}

export async function benchAbandoned(total = 10_000, wave = 500): Promise<AbandonedBench> {
  const dir = mkdtempSync(join(tmpdir(), 'lipsync-bench-abandoned-'));
  const config = loadConfig({ env: { HOME: dir, LIPSYNC_HOME: join(dir, 'home'), PATH: '' } });
  const app = await createApp(config, { media: {}, log: silentLogger() });
  const limits: HttpLimits = {
    maxConnections: 400,
    headersTimeoutMs: 1000,
    requestTimeoutMs: 2000,
    keepAliveTimeoutMs: 1000,
  };
  const server = await startHttpServer(app, {
    host: '127.0.0.1',
    port: 0,
    allowedOrigins: [],
    maxBodyBytes: 1 << 20,
    legacySessions: 'stateless',
    limits,
  });
  const u = new URL(server.url);
  const port = Number(u.port);
  const samples: AbandonedBench['samples'] = [];
  const newcomers = { ok: 0, full_503: 0, silent: 0 };
  const runWave = async (from: number) => {
    const gone = Array.from({ length: wave }, (_, i) => abandon(port, u.host, (from + i) % 4));
    const status = await newcomer(server.url);
    if (status === 200) newcomers.ok++;
    else if (status === 503) newcomers.full_503++;
    else newcomers.silent++;
    await Promise.all(gone);
  };
  try {
    // Warm-up (code, caches, allocator arenas), then the baseline.
    for (let n = 0; n < 2000; n += wave) await runWave(n);
    Object.assign(newcomers, { ok: 0, full_503: 0, silent: 0 });
    const base = measure();
    samples.push([0, mb(base.rss), mb(base.heap), server.connections.open]);
    for (let n = 0; n < total; n += wave) {
      await runWave(n);
      if ((n + wave) % (total / 5) === 0) {
        const m = measure();
        samples.push([n + wave, mb(m.rss), mb(m.heap), server.connections.open]);
      }
    }
    const last = measure();
    return {
      abandoned: total,
      limits,
      newcomers,
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
