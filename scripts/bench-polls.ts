/**
 * Polls at scale: 1,000 active Jogg tasks in the ledger, a start-up recovery pass, then an agent asking
 * `get_task_status` (wait 0) for every task, twice, all at once, within one poll interval. Figures:
 * provider status requests per task in that interval (goal <= 1), and this process's peak RSS (it also
 * hosts the fake provider; goal < 150 MB).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApp } from '../src/app.js';
import { systemClock } from '../src/clock.js';
import { loadConfig } from '../src/config.js';
import { silentLogger } from '../src/logger.js';
import { startFakeJogg } from '../test/fakes/jogg/index.js';

function rssMb(kind: 'VmHWM' | 'VmRSS'): number {
  const m = new RegExp(`${kind}:\\s+(\\d+) kB`).exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : Number.NaN;
}

export async function benchPolls(n = 1000) {
  const dir = mkdtempSync(join(tmpdir(), 'lipsync-bench-polls-'));
  const fake = await startFakeJogg();
  fake.faults.queriesToFinish = 1e9;
  const env = {
    HOME: dir,
    LIPSYNC_HOME: join(dir, 'l'),
    JOGG_API_KEY: fake.apiKey,
    JOGG_BASE_URL: fake.url,
    JOGG_LIP_SYNC_DEFAULT_POLL_INTERVAL_SECONDS: '10',
  };
  const app = await createApp(loadConfig({ env }), {
    media: {},
    preflight: false,
    clock: systemClock,
    log: silentLogger(),
  });
  try {
    const idleMb = rssMb('VmRSS');
    const now = Date.now();
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const id = `task_bench_${i}`;
      const ptid = `jogg_${i}`;
      fake.tasks.set(ptid, {
        task_id: ptid,
        video_url: 'https://example.com/v.mp4',
        audio_url: 'https://example.com/a.wav',
        playback_type: 'normal',
        status: 'processing',
        queries: 0,
        created_at: Math.floor(now / 1000),
      });
      await app.ledger.claim(
        {
          id,
          fingerprint: `fp${i}`,
          provider: 'jogg',
          kind: 'lip_sync',
          request: {},
          warnings: [],
          ownerPid: process.pid,
          ownerHost: 'seed',
          leaseUntil: now,
          now,
        },
        { force: false, isOwnerAlive: () => true },
      );
      await app.ledger.update(
        id,
        { status: 'processing', phase: null, providerTaskId: ptid, operation: { task_id: ptid } },
        now,
      );
      ids.push(id);
    }
    const t0 = Date.now();
    await app.jobs.recover();
    for (let round = 0; round < 2; round++) {
      await Promise.all(ids.map((id) => app.jobs.status({ taskId: id }, 0)));
    }
    await app.jobs.drain(60_000);
    const elapsedMs = Date.now() - t0;
    const perTask = new Map<string, number>();
    for (const c of fake.calls) {
      if (c.method === 'GET' && c.path.startsWith('/v2/lip_sync_video/')) {
        const k = c.path.slice('/v2/lip_sync_video/'.length);
        perTask.set(k, (perTask.get(k) ?? 0) + 1);
      }
    }
    const counts = [...perTask.values()];
    return {
      tasks: n,
      elapsed_ms: elapsedMs,
      within_one_interval: elapsedMs < 10_000,
      requests_per_task_max: Math.max(0, ...counts),
      tasks_polled: counts.length,
      idle_rss_mb: idleMb,
      peak_rss_mb: rssMb('VmHWM'),
    };
  } finally {
    await app.close(2000);
    await fake.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify({ polls: await benchPolls(Number(process.argv[2] ?? 1000)) }, null, 2));
}
