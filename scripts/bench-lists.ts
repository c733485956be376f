/**
 * Listings and subscriptions at scale (issue 24 items 3 and 4), per ledger backend:
 *  - 100,000 tasks: the time of one page of `resources/list` and `list_tasks` (over MCP, in process),
 *    first and deep (random keyset positions, filters), and the event loop's worst stall (perf_hooks
 *    monitorEventLoopDelay) while 100 deep listings run at once. Goal: a page < 5 ms, no stall > 50 ms.
 *  - subscriptions: N subscribed tasks (sessions of 100, the default cap), then one change made by
 *    another process: this process's CPU and the latency until the subscriber is told. And 20,000
 *    subscribes to made-up ids in one session: refused, and what they cost in memory.
 *
 *   node dist/scripts/bench-lists.js [--tasks 100000] [--subs 1000]
 *
 * PostgreSQL needs LIPSYNC_TEST_DATABASE_URL (scratch database); SQLite always runs.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Client, InMemoryTransport } from '@modelcontextprotocol/client';
import { type App, createApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { encodeCursor } from '../src/jobs/cursor.js';
import { Ledger } from '../src/jobs/ledger.js';
import { PgLedger } from '../src/jobs/ledger-pg.js';
import { openDatabase } from '../src/jobs/sqlite.js';
import { silentLogger } from '../src/logger.js';
import { feedOf } from '../src/mcp/index.js';
import { createServer } from '../src/server.js';
import { pgSkip, pgTestDatabase } from '../test/helpers/pg.js';

const PROVIDERS = ['jogg', 'director', 'nemovideo', 'local'];
const STATUSES = ['success', 'success', 'success', 'failed', 'success', 'success', 'success', 'success'];
const REQUEST = JSON.stringify({ inputs: { video: { type: 'url', url: 'https://cdn.example/v.mp4' } } });
const SNAPSHOT = JSON.stringify({ status: 'success', resultUrl: 'https://cdn.example/r.mp4', progress: 1 });

/** Row i of the seeded ledger: 1% unfinished, 0.5% rejected, four providers, ids `ls_bench_<i>`. */
function seedRow(i: number) {
  const unfinished = i % 100 === 7;
  return {
    id: `ls_bench_${i}`,
    provider: PROVIDERS[i % 4]!,
    status: unfinished ? 'processing' : STATUSES[i % 8]!,
    rejected: i % 200 === 3 ? 1 : 0,
    // Several tasks share a creation time (the cursor breaks ties).
    created: 1_700_000_000_000 + Math.floor(i / 3) * 1000,
  };
}

interface Backend {
  name: string;
  skip: string | false;
  /** A ledger holding `n` tasks, and the env that points an App at it. */
  seed(n: number): Promise<{ env: Record<string, string>; outside: string[]; dispose(): Promise<void> }>;
}

const BACKENDS: Backend[] = [
  {
    name: 'sqlite',
    skip: false,
    async seed(n) {
      const dir = mkdtempSync(join(tmpdir(), 'lipsync-bench-lists-'));
      const file = join(dir, 'home', 'ledger.sqlite');
      new Ledger(file).closeSync();
      const db = openDatabase(file, 10_000);
      const ins = db.prepare(
        `INSERT INTO tasks (id, fingerprint, provider, kind, status, rejected, provider_task_id, request, snapshot, created_at, updated_at, completed_at)
         VALUES (?, ?, ?, 'lip_sync', ?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      for (let from = 0; from < n; from += 10_000)
        db.immediate(() => {
          for (let i = from; i < Math.min(n, from + 10_000); i++) {
            const r = seedRow(i);
            ins.run(
              r.id,
              `fp${i}`,
              r.provider,
              r.status,
              r.rejected,
              `p${i}`,
              REQUEST,
              SNAPSHOT,
              r.created,
              r.created,
              r.created,
            );
          }
        });
      db.close();
      return {
        env: { HOME: dir, LIPSYNC_HOME: join(dir, 'home') },
        outside: ['sqlite', file],
        dispose: async () => rmSync(dir, { recursive: true, force: true }),
      };
    },
  },
  {
    name: 'postgres',
    skip: pgSkip,
    async seed(n) {
      const t = await pgTestDatabase('bench_lists');
      const l = await PgLedger.open(t.url);
      await l.close();
      const pg = (await import('pg')).default;
      const c = new pg.Client({ connectionString: t.url });
      await c.connect();
      // The same rows as seedRow, in SQL.
      await c.query(
        `INSERT INTO tasks (id, fingerprint, provider, kind, status, rejected, provider_task_id, request, snapshot, created_at, updated_at, completed_at)
         SELECT 'ls_bench_' || i, 'fp' || i, (ARRAY['jogg','director','nemovideo','local'])[i % 4 + 1], 'lip_sync',
           CASE WHEN i % 100 = 7 THEN 'processing' WHEN i % 8 = 3 THEN 'failed' ELSE 'success' END,
           i % 200 = 3, 'p' || i, $2, $3, t, t, t
         FROM generate_series(0, $1::int - 1) AS i, LATERAL (SELECT 1700000000000 + (i / 3) * 1000::bigint AS t) AS x`,
        [n, REQUEST, SNAPSHOT],
      );
      await c.query('ANALYZE tasks');
      await c.end();
      const dir = mkdtempSync(join(tmpdir(), 'lipsync-bench-lists-'));
      return {
        env: { HOME: dir, LIPSYNC_HOME: join(dir, 'home'), LIPSYNC_DATABASE_URL: t.url },
        outside: ['postgres', t.url],
        dispose: async () => {
          rmSync(dir, { recursive: true, force: true });
          await t.drop();
        },
      };
    },
  },
];

const round = (n: number) => Math.round(n * 100) / 100;
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return round(s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)] ?? 0);
};

async function session(app: App): Promise<{ client: Client; close(): Promise<void> }> {
  const server = createServer(app);
  const [a, b] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: 'bench', version: '1' }, { capabilities: {} });
  await Promise.all([server.connect(a), client.connect(b)]);
  // As over a socket, each message arrives in its own turn of the event loop (the in-memory pair hands
  // it over synchronously, which would make a batch of requests one long turn).
  for (const t of [a, b]) {
    const deliver = t.onmessage;
    t.onmessage = (m, extra) => setImmediate(() => deliver?.(m, extra));
  }
  return {
    client,
    async close() {
      await client.close();
      await server.close();
    },
  };
}

/** Times `fn` `times` times, one after another (ms each). */
async function timed(times: number, fn: (i: number) => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < times; i++) {
    const t0 = performance.now();
    await fn(i);
    out.push(performance.now() - t0);
  }
  return out;
}

/** Cursors at random depths: the keyset position of seeded rows (as a previous page would give). */
function deepCursors(n: number, count: number): string[] {
  const out: string[] = [];
  for (let k = 0; k < count; k++) {
    const i = Math.floor(((k + 0.5) / count) * n);
    // SQLite's rowid is i + 1; PostgreSQL's seq as generated: also i + 1 on a fresh table.
    out.push(encodeCursor({ createdAt: seedRow(i).created, rowid: i + 1 }));
  }
  return out;
}

/**
 * The first page only: the v2 client's listResources() without a cursor walks and aggregates every page
 * (up to listMaxPages), which is not what a page costs.
 */
const firstPage = (c: Client) => c.request({ method: 'resources/list', params: {} });

async function listings(app: App, n: number) {
  const s = await session(app);
  try {
    const c = s.client;
    await firstPage(c); // warm-up
    const cursors = deepCursors(n, 200);
    const first = await timed(50, () => firstPage(c));
    const deep = await timed(cursors.length, (i) => c.listResources({ cursor: cursors[i] }));
    const call = (args: Record<string, unknown>) => c.callTool({ name: 'list_tasks', arguments: args });
    const tasksDeep = await timed(cursors.length, (i) => call({ limit: 50, cursor: cursors[i] }));
    const filtered = await timed(cursors.length, (i) =>
      call({ limit: 50, cursor: cursors[i], ...(i % 2 ? { unfinished_only: true } : { provider: 'local' }) }),
    );
    const ledgerDeep = await timed(cursors.length, (i) =>
      app.ledger.page({
        limit: 50,
        after: {
          createdAt: seedRow(Math.floor(((i + 0.5) / 200) * n)).created,
          rowid: Math.floor(((i + 0.5) / 200) * n) + 1,
        },
      }),
    );
    // 100 deep listings at once, the event loop watched (its worst stall is what every session feels).
    const h = monitorEventLoopDelay({ resolution: 1 });
    h.enable();
    const t0 = performance.now();
    await Promise.all(cursors.slice(100).map((cursor) => c.listResources({ cursor })));
    const batchMs = performance.now() - t0;
    // A stall is recorded when the monitor's timer finally runs: give it turns to run.
    for (let k = 0; k < 5; k++) await new Promise((r) => setTimeout(r, 2));
    h.disable();
    return {
      tasks: n,
      resources_list_first_page_ms: { p50: pct(first, 0.5), p99: pct(first, 0.99) },
      resources_list_deep_page_ms: { p50: pct(deep, 0.5), p99: pct(deep, 0.99), max: pct(deep, 1) },
      list_tasks_deep_page_ms: {
        p50: pct(tasksDeep, 0.5),
        p99: pct(tasksDeep, 0.99),
        max: pct(tasksDeep, 1),
      },
      list_tasks_filtered_deep_ms: {
        p50: pct(filtered, 0.5),
        p99: pct(filtered, 0.99),
        max: pct(filtered, 1),
      },
      ledger_page_deep_ms: { p50: pct(ledgerDeep, 0.5), p99: pct(ledgerDeep, 0.99) },
      batch_100_deep_listings_ms: round(batchMs),
      event_loop_max_stall_ms: round(h.max / 1e6),
      event_loop_p99_ms: round(h.percentile(99) / 1e6),
    };
  } finally {
    await s.close();
  }
}

/** A process that applies `{id, patch}` lines from stdin to the ledger, and says `ok` after each. */
function outsideWriter(outside: string[]): {
  child: ChildProcess;
  update(id: string, patch: object): Promise<void>;
} {
  const dist = fileURLToPath(new URL('../src/jobs/', import.meta.url));
  const code = `
    const [kind, where] = process.argv.slice(1);
    const l = kind === 'sqlite'
      ? new (await import(${JSON.stringify(join(dist, 'ledger.js'))})).Ledger(where)
      : await (await import(${JSON.stringify(join(dist, 'ledger-pg.js'))})).PgLedger.open(where);
    const rl = (await import('node:readline')).createInterface({ input: process.stdin });
    for await (const line of rl) {
      const { id, patch } = JSON.parse(line);
      await l.update(id, patch, Date.now());
      process.stdout.write('ok\\n');
    }
    await l.close();
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code, ...outside], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const waiting: (() => void)[] = [];
  child.stdout?.on('data', (d: Buffer) => {
    for (let k = 0; k < String(d).split('\n').length - 1; k++) waiting.shift()?.();
  });
  return {
    child,
    update: (id, patch) =>
      new Promise<void>((resolve) => {
        waiting.push(resolve);
        child.stdin?.write(`${JSON.stringify({ id, patch })}\n`);
      }),
  };
}

async function subscriptions(app: App, outside: string[], subs: number) {
  const perSession = app.config.maxSubscriptions;
  const sessions: Awaited<ReturnType<typeof session>>[] = [];
  const writer = outsideWriter(outside);
  const hold = setInterval(() => undefined, 1000);
  try {
    const heard: string[] = [];
    let wake: (() => void) | undefined;
    for (let k = 0; k * perSession < subs; k++) {
      const s = await session(app);
      sessions.push(s);
      s.client.setNotificationHandler('notifications/resources/updated', (m) => {
        heard.push(m.params.uri);
        wake?.();
      });
      for (let j = 0; j < perSession && k * perSession + j < subs; j++) {
        // Finished rows (every 8th is a success): no provider is asked to follow them.
        const i = (k * perSession + j) * 8;
        await s.client.subscribeResource({ uri: `lipsync://tasks/ls_bench_${i}` });
      }
    }
    const { feed } = feedOf(app);
    await feed.settled();
    const runs: { cpu: number; latency: number }[] = [];
    for (let r = 0; r < 5; r++) {
      const target = `lipsync://tasks/ls_bench_${r * 8}`;
      const heardIt = new Promise<void>((resolve) => {
        wake = () => heard.includes(target) && resolve();
      });
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      await writer.update(`ls_bench_${r * 8}`, {
        snapshot: { status: 'success', resultUrl: `https://cdn.example/r${r}.mp4` },
      });
      await heardIt;
      const latency = performance.now() - t0;
      await feed.settled();
      const cpu = process.cpuUsage(cpu0);
      runs.push({ cpu: (cpu.user + cpu.system) / 1000, latency });
    }
    return {
      subscriptions: subs,
      sessions: sessions.length,
      outside_change_cpu_ms: {
        p50: pct(
          runs.map((x) => x.cpu),
          0.5,
        ),
        max: pct(
          runs.map((x) => x.cpu),
          1,
        ),
      },
      outside_change_latency_ms: {
        p50: pct(
          runs.map((x) => x.latency),
          0.5,
        ),
        max: pct(
          runs.map((x) => x.latency),
          1,
        ),
      },
    };
  } finally {
    clearInterval(hold);
    writer.child.stdin?.end();
    for (const s of sessions) await s.close();
  }
}

/** 20,000 subscribes to ids that name no task, in one session: all refused; memory before and after. */
async function madeUp(app: App, count = 20_000) {
  const s = await session(app);
  try {
    (globalThis as { gc?: () => void }).gc?.();
    const before = process.memoryUsage().rss;
    let refused = 0;
    for (let i = 0; i < count; i++)
      await s.client.subscribeResource({ uri: `lipsync://tasks/made-up-${i}` }).catch(() => refused++);
    (globalThis as { gc?: () => void }).gc?.();
    return { attempts: count, refused, rss_growth_mb: round((process.memoryUsage().rss - before) / 1048576) };
  } finally {
    await s.close();
  }
}

export interface ListsFigures {
  listings: Awaited<ReturnType<typeof listings>>;
  subscriptions: Awaited<ReturnType<typeof subscriptions>>;
  made_up: Awaited<ReturnType<typeof madeUp>>;
}

export async function benchLists(
  opts: { tasks?: number; subs?: number } = {},
): Promise<Record<string, ListsFigures | { skipped: string }>> {
  const n = opts.tasks ?? 100_000;
  const out: Record<string, ListsFigures | { skipped: string }> = {};
  for (const b of BACKENDS) {
    if (b.skip) {
      out[b.name] = { skipped: b.skip };
      continue;
    }
    const seeded = await b.seed(n);
    const app = await createApp(loadConfig({ env: seeded.env }), {
      media: {},
      preflight: false,
      log: silentLogger(),
    });
    try {
      out[b.name] = {
        listings: await listings(app, n),
        subscriptions: await subscriptions(app, seeded.outside, opts.subs ?? 1000),
        made_up: await madeUp(app),
      };
    } finally {
      await app.close(2000);
      await seeded.dispose();
    }
  }
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? Number(process.argv[i + 1]) : undefined;
  };
  console.log(
    JSON.stringify({ lists: await benchLists({ tasks: arg('--tasks'), subs: arg('--subs') }) }, null, 2),
  );
  process.exit(0);
}
