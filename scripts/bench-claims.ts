/**
 * Claims under load: N distinct claims fired at once from several instances of one ledger (separate
 * pools, as separate servers would be), with and without a spend-cap guard (which serialises guarded
 * claims). Figures: claims per second, p50/p99 claim latency (the burst queues, so it includes the wait
 * for a connection), and connections in use (peak of total - idle, per instance, and most waiting);
 * first, for scale, the latency of one claim at a time.
 *
 *   node dist/scripts/bench-claims.js [--claims 1000] [--instances 3]
 *
 * PostgreSQL needs LIPSYNC_TEST_DATABASE_URL (a server where it may create a scratch database:
 * scripts/pg-test-cluster.sh start). Another backend is one more entry of BACKENDS.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Ledger } from '../src/jobs/ledger.js';
import { PgLedger } from '../src/jobs/ledger-pg.js';
import type { ClaimDecision, ClaimOptions, LedgerStore, NewTask } from '../src/jobs/store.js';
import { pgSkip, pgTestDatabase } from '../test/helpers/pg.js';

interface PoolStats {
  total: number;
  idle: number;
  waiting: number;
}

interface Fresh {
  /** One more instance on the same (new, empty) ledger. */
  open(): Promise<LedgerStore>;
  /** Connections of an instance, where the backend has a pool. */
  stats?(l: LedgerStore): PoolStats;
  dispose(): Promise<void>;
}

export interface BenchBackend {
  name: string;
  /** Why it cannot run here, or false. */
  skip: string | false;
  fresh(): Promise<Fresh>;
}

export const BACKENDS: BenchBackend[] = [
  {
    name: 'sqlite',
    skip: false,
    async fresh() {
      const dir = mkdtempSync(join(tmpdir(), 'lipsync-bench-claims-'));
      const opened: Ledger[] = [];
      return {
        async open() {
          const l = new Ledger(join(dir, 'ledger.sqlite'));
          opened.push(l);
          return l;
        },
        async dispose() {
          for (const l of opened) l.closeSync();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: 'postgres',
    skip: pgSkip,
    async fresh() {
      const db = await pgTestDatabase('bench');
      const opened: PgLedger[] = [];
      return {
        async open() {
          const l = await PgLedger.open(db.url);
          opened.push(l);
          return l;
        },
        stats: (l) => (l as PgLedger).poolStats(),
        async dispose() {
          await Promise.all(opened.map((l) => l.close()));
          await db.drop();
        },
      };
    },
  },
];

export interface ClaimFigures {
  backend: string;
  guarded: boolean;
  claims: number;
  /** Claims in flight at once. */
  concurrency: number;
  instances: number;
  elapsed_ms: number;
  claims_per_s: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  created: number;
  /** Peak connections in use (total - idle) per instance, and the most claims waiting for one. */
  peak_in_use?: number[];
  peak_waiting?: number;
  /** Connections open per instance after the burst (the pool keeps idle ones). */
  open_after?: number[];
}

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
const round = (n: number) => Math.round(n * 10) / 10;

export async function benchClaims(
  backend: BenchBackend,
  opts: { claims?: number; instances?: number; guarded?: boolean; concurrency?: number } = {},
): Promise<ClaimFigures> {
  const claims = opts.claims ?? 1000;
  const concurrency = Math.min(claims, opts.concurrency ?? claims);
  const n = opts.instances ?? 3;
  const fresh = await backend.fresh();
  try {
    const ledgers = await Promise.all(Array.from({ length: n }, () => fresh.open()));
    const claimOpts: ClaimOptions = {
      force: false,
      isOwnerAlive: () => true,
      cost: { amount: 1, unit: 'credits', paid: true },
      ...(opts.guarded ? { guard: { since: 0, check: () => {} } } : {}),
    };
    const peakInUse = ledgers.map(() => 0);
    let peakWaiting = 0;
    const sample = () =>
      ledgers.forEach((l, i) => {
        const s = fresh.stats?.(l);
        if (!s) return;
        peakInUse[i] = Math.max(peakInUse[i]!, s.total - s.idle);
        peakWaiting = Math.max(peakWaiting, s.waiting);
      });
    const sampler = setInterval(sample, 2);
    const latencies: number[] = [];
    const t0 = performance.now();
    const decisions: ClaimDecision[] = [];
    let next = 0;
    // `concurrency` claims in flight at a time (all of them by default: a burst).
    const worker = async () => {
      while (next < claims) {
        const i = next++;
        const now = Date.now();
        const task: NewTask = {
          id: `ls_${randomUUID().replace(/-/g, '').slice(0, 20)}`,
          fingerprint: `bench-${i}-${randomUUID()}`,
          provider: 'jogg',
          kind: 'lip_sync',
          request: { params: { i } },
          warnings: [],
          ownerPid: process.pid,
          ownerHost: 'bench',
          leaseUntil: now + 60_000,
          now,
        };
        const start = performance.now();
        decisions.push(await ledgers[i % n]!.claim(task, claimOpts));
        latencies.push(performance.now() - start);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    const elapsed = performance.now() - t0;
    clearInterval(sampler);
    sample();
    latencies.sort((a, b) => a - b);
    return {
      backend: backend.name,
      guarded: !!opts.guarded,
      claims,
      concurrency,
      instances: n,
      elapsed_ms: Math.round(elapsed),
      claims_per_s: Math.round((claims / elapsed) * 1000),
      p50_ms: round(pct(latencies, 0.5)),
      p99_ms: round(pct(latencies, 0.99)),
      max_ms: round(latencies[latencies.length - 1]!),
      created: decisions.filter((d) => d.kind === 'created').length,
      ...(fresh.stats
        ? {
            peak_in_use: peakInUse,
            peak_waiting: peakWaiting,
            open_after: ledgers.map((l) => fresh.stats!(l).total),
          }
        : {}),
    };
  } finally {
    await fresh.dispose();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (name: string, dflt: number) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? Number(process.argv[i + 1]) : dflt;
  };
  const claims = arg('--claims', 1000);
  const instances = arg('--instances', 3);
  for (const b of BACKENDS) {
    if (b.skip) {
      console.log(JSON.stringify({ backend: b.name, skipped: b.skip }));
      continue;
    }
    // A first, small round warms the connections and the plans up.
    await benchClaims(b, { claims: 50, instances });
    // Unloaded: one claim at a time, what a single request pays.
    console.log(JSON.stringify(await benchClaims(b, { claims: 200, instances: 1, concurrency: 1 })));
    for (const guarded of [false, true])
      console.log(JSON.stringify(await benchClaims(b, { claims, instances, guarded })));
  }
}
