/**
 * Media reads benchmark (issue 24 item 1): the built server (`serve --http`, its own process) with a
 * local task whose original and result are 60 MiB, then 100 concurrent reads three ways:
 *  - batch: one HTTP POST holding 100 reads (50 whole-file, 50 ranges at spread offsets), read in full;
 *  - sessions: 100 sessions, each one POST of a 4 MiB range at once, read in full;
 *  - unread: 100 sessions each asking for a 4 MiB range on a socket that never reads, held open for a
 *    few seconds, then dropped.
 * Peak RSS is the server's VmHWM (Linux), against the goal of 300 MB. Before issue 24 one such batch of
 * 100 reads of a 30 MiB file took the server to 8.4 GB.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { silentLogger } from '../src/logger.js';
import { seedTask } from '../test/mcp/seed.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
const BIN = join(ROOT, PKG.bin['lipsync-mcp'] as string);
const RANGE = 4 * 1024 * 1024;
const HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

export interface MediaBench {
  file_mib: number;
  reads: number;
  batch: { answered: number; described: number; refused: number; ms: number };
  sessions: { answered: number; refused: number; ms: number };
  unread: { held_s: number; refused: number };
  idle_rss_mb: number;
  /** RSS with the batch done and `reads` more sessions open, before their reads. */
  sessions_open_rss_mb: number;
  /** Peak RSS (VmHWM) after each part: batch, sessions, unread. */
  peak_after_mb: [number, number, number];
  peak_rss_mb: number;
  goal_mb: number;
}

const mb = (kb: number) => Math.round(kb / 1024);

function vm(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0);
}

const read = (id: number, uri: string) => ({ jsonrpc: '2.0', id, method: 'resources/read', params: { uri } });

async function initialize(url: string): Promise<Record<string, string>> {
  const init = {
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench', version: '1' } },
  };
  const r = await fetch(url, { method: 'POST', headers: HEADERS, body: JSON.stringify(init) });
  await r.text();
  const headers = {
    ...HEADERS,
    'mcp-session-id': r.headers.get('mcp-session-id') as string,
    'mcp-protocol-version': '2025-06-18',
  };
  const note = { jsonrpc: '2.0', method: 'notifications/initialized' };
  await (await fetch(url, { method: 'POST', headers, body: JSON.stringify(note) })).text();
  return headers;
}

/** Answers of an SSE body: [answered with a blob, answered with a description, refused]. */
function tally(body: string): [number, number, number] {
  const t: [number, number, number] = [0, 0, 0];
  for (const line of body.split('\n')) {
    if (!line.startsWith('data: ')) continue;
    const m = JSON.parse(line.slice(6)) as { result?: { contents: { blob?: string }[] }; error?: unknown };
    if (m.error) t[2]++;
    else if (m.result?.contents[0]?.blob !== undefined) t[0]++;
    else if (m.result) t[1]++;
  }
  return t;
}

export async function benchMedia(fileMib = 60, reads = 100, holdSeconds = 3): Promise<MediaBench> {
  const dir = mkdtempSync(join(tmpdir(), 'lipsync-bench-media-'));
  const env = {
    HOME: dir,
    LIPSYNC_HOME: join(dir, 'home'),
    LIPSYNC_LOG_LEVEL: 'warn',
    PATH: process.env.PATH ?? '',
  };
  const size = fileMib * 1024 * 1024;
  const out = join(dir, 'home', 'outputs', 'work', 'm');
  mkdirSync(out, { recursive: true });
  const bytes = randomBytes(size);
  writeFileSync(join(dir, 'talk.mp4'), bytes);
  writeFileSync(join(out, 'r.mp4'), bytes);
  const app = await createApp(loadConfig({ env }), { media: {}, log: silentLogger() });
  await seedTask(app.ledger, 'm', {
    provider: 'local',
    status: 'success',
    request: { inputs: { video: { type: 'file', path: join(dir, 'talk.mp4') } } },
    snapshot: { status: 'success', resultUrl: pathToFileURL(join(out, 'r.mp4')).href },
  });
  await app.close(1000);
  const child = spawn(process.execPath, [BIN, 'serve', '--http', '--port', '0'], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const pid = child.pid as number;
  const sockets: Socket[] = [];
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let err = '';
      child.stderr.on('data', (d) => {
        err += d;
        const m = /\{"listening":"([^"]+)"\}/.exec(err);
        if (m) resolve(m[1] as string);
      });
      child.on('exit', (code) => reject(new Error(`server exited (${code}): ${err}`)));
    });
    const ranges = Math.ceil(size / RANGE);
    const uriOf = (i: number, which: string) =>
      i % 2
        ? `lipsync://tasks/m/media/${which}`
        : `lipsync://tasks/m/media/${which}?offset=${((i / 2) % ranges) * RANGE}`;
    const idle = vm(pid, 'VmRSS');

    // 1. One batch of `reads` reads.
    let t0 = Date.now();
    const headers = await initialize(url);
    const batchBody = JSON.stringify(
      Array.from({ length: reads }, (_, i) => read(10 + i, uriOf(i, 'original'))),
    );
    const [answered, described, refused] = tally(
      await (await fetch(url, { method: 'POST', headers, body: batchBody })).text(),
    );
    const batch = { answered, described, refused, ms: Date.now() - t0 };
    const afterBatch = vm(pid, 'VmHWM');

    // 2. `reads` sessions, one range each, all at once.
    const sessionHeaders = await Promise.all(Array.from({ length: reads }, () => initialize(url)));
    const sessionsOpen = vm(pid, 'VmRSS');
    t0 = Date.now();
    const each = await Promise.all(
      sessionHeaders.map(async (h, i) =>
        tally(
          await (
            await fetch(url, {
              method: 'POST',
              headers: h,
              body: JSON.stringify(read(2, uriOf(i * 2, 'result'))),
            })
          ).text(),
        ),
      ),
    );
    const sessions = {
      answered: each.reduce((n, t) => n + t[0], 0),
      refused: each.reduce((n, t) => n + t[2], 0),
      ms: Date.now() - t0,
    };
    const afterSessions = vm(pid, 'VmHWM');

    // 3. `reads` sessions ask for a range and never read the answer.
    const u = new URL(url);
    const unreadHeaders = await Promise.all(Array.from({ length: reads }, () => initialize(url)));
    for (const [i, h] of unreadHeaders.entries()) {
      const body = JSON.stringify(read(3, uriOf(i * 2, 'original')));
      const s = connect(Number(u.port), u.hostname);
      s.on('error', () => undefined);
      const head = Object.entries({ ...h, host: u.host, 'content-length': String(Buffer.byteLength(body)) })
        .map(([k, v]) => `${k}: ${v}`)
        .join('\r\n');
      s.write(`POST ${u.pathname} HTTP/1.1\r\n${head}\r\n\r\n${body}`);
      s.pause();
      sockets.push(s);
    }
    await new Promise((r) => setTimeout(r, holdSeconds * 1000));
    // A fresh session's read while the unread ones hold their bytes: answered, or refused with the cap error.
    const probe = tally(
      await (
        await fetch(url, {
          method: 'POST',
          headers: await initialize(url),
          body: JSON.stringify(read(4, uriOf(0, 'result'))),
        })
      ).text(),
    );
    const peak = vm(pid, 'VmHWM');
    return {
      file_mib: fileMib,
      reads,
      batch,
      sessions,
      unread: { held_s: holdSeconds, refused: probe[2] },
      idle_rss_mb: mb(idle),
      sessions_open_rss_mb: mb(sessionsOpen),
      peak_after_mb: [mb(afterBatch), mb(afterSessions), mb(peak)],
      peak_rss_mb: mb(peak),
      goal_mb: 300,
    };
  } finally {
    for (const s of sockets) s.destroy();
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  }
}
