/**
 * A repeated identical request over MCP: `create_lip_sync` with inputs the ledger already has a task
 * for (real media, real preflight configured, Jogg fake on loopback), through the SDK client and
 * server on an in-memory transport. Baseline: `get_task_status` of the same task on the same
 * connection (a ledger read plus the protocol's own cost). The repeat must answer from the ledger:
 * no preflight, no upload, no provider request.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, InMemoryTransport } from '@modelcontextprotocol/client';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { silentLogger } from '../src/logger.js';
import { createServer } from '../src/server.js';
import { startFakeJogg } from '../test/fakes/jogg/index.js';
import { makePair } from '../test/helpers/clips.js';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.95)]!;

export async function benchRepeat(rounds = 200) {
  const dir = mkdtempSync(join(tmpdir(), 'lipsync-bench-repeat-'));
  const fake = await startFakeJogg();
  try {
    const work = join(dir, 'work');
    mkdirSync(work);
    const { video, audio } = await makePair(work, 1);
    const env = {
      HOME: dir,
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      LIPSYNC_HOME: join(dir, 'l'),
      LIPSYNC_ALLOWED_DIRS: dir,
      JOGG_API_KEY: fake.apiKey,
      JOGG_BASE_URL: fake.url,
      LIPSYNC_ALLOW_PRIVATE_URLS: 'true',
    };
    const app = await createApp(loadConfig({ env }), { log: silentLogger(), cwd: dir });
    const server = createServer(app);
    const [a, b] = InMemoryTransport.createLinkedPair();
    const client = new Client({ name: 'bench', version: '1.0.0' }, { capabilities: {} });
    await Promise.all([server.connect(a), client.connect(b)]);
    const call = async (name: string, args: Record<string, unknown>) => {
      const t0 = performance.now();
      const r = await client.callTool({ name, arguments: args });
      const ms = performance.now() - t0;
      if (r.isError) throw new Error(`${name}: ${JSON.stringify(r.content)}`);
      return { ms, out: r.structuredContent as { task_id: string; action?: string } };
    };
    const args = { video, audio, provider: 'jogg', wait_seconds: 0 };
    const first = await call('create_lip_sync', args);
    const creates = fake.calls.length;
    const repeat: number[] = [];
    const status: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const r = await call('create_lip_sync', args);
      if (r.out.task_id !== first.out.task_id || r.out.action !== 'reused_existing_task')
        throw new Error('a repeat did not reuse the first task');
      repeat.push(r.ms);
      status.push((await call('get_task_status', { task_id: first.out.task_id })).ms);
    }
    const providerRequests = fake.calls.length - creates;
    await client.close();
    await server.close();
    await app.close(2000);
    return {
      rounds,
      first_ms: Math.round(first.ms),
      repeat_median_ms: Number(median(repeat).toFixed(2)),
      repeat_p95_ms: Number(p95(repeat).toFixed(2)),
      status_median_ms: Number(median(status).toFixed(2)),
      ratio_vs_status: Number((median(repeat) / median(status)).toFixed(2)),
      provider_requests_during_loop: providerRequests,
    };
  } finally {
    await fake.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1]?.endsWith('bench-repeat.js')) console.log(JSON.stringify(await benchRepeat(), null, 2));
