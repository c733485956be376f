/**
 * Cold start: a fresh process of the shipped command (package.json's bin: the bundle), stdio, until its
 * answer to `tools/list` (initialize first, as a client does), and its peak RSS (VmHWM) and CPU time at
 * that moment; the same for the unbundled modules (dist/src/cli.js). Baseline:
 * `@modelcontextprotocol/server-everything` (a dev dependency), measured in interleaved pairs so machine
 * load hits both alike; medians reported. On a shared machine the wall-clock ratio swings with load;
 * the CPU time (every thread, from /proc; Linux only) is the steadier figure.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface Start {
  ms: number;
  rssMb: number;
  cpuMs: number;
}

function peakRssMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : Number.NaN;
}

/** CPU time of every thread of `pid` so far (schedstat, in ns), or NaN where /proc has none. */
function cpuMs(pid: number): number {
  try {
    let ns = 0;
    for (const t of readdirSync(`/proc/${pid}/task`))
      ns += Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]);
    return ns / 1e6;
  } catch {
    return Number.NaN;
  }
}

/** Spawns `args`, speaks initialize + tools/list on stdio, and times the tools/list answer. */
function coldStart(args: string[], env: Record<string, string>): Promise<Start> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, args, { env, stdio: ['pipe', 'pipe', 'ignore'] });
    let buf = '';
    const send = (msg: object) => child.stdin.write(`${JSON.stringify(msg)}\n`);
    child.on('error', reject);
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString('utf8');
      let nl = buf.indexOf('\n');
      while (nl >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        nl = buf.indexOf('\n');
        const msg = JSON.parse(line) as { id?: number };
        if (msg.id === 1) {
          send({ jsonrpc: '2.0', method: 'notifications/initialized' });
          send({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
        } else if (msg.id === 2) {
          const ms = performance.now() - t0;
          const rssMb = peakRssMb(child.pid as number);
          const cpu = cpuMs(child.pid as number);
          child.kill('SIGTERM');
          child.on('exit', () => resolve({ ms, rssMb, cpuMs: cpu }));
        }
      }
    });
    send({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: {
        protocolVersion: '2025-06-18',
        capabilities: {},
        clientInfo: { name: 'bench', version: '1' },
      },
    });
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

export async function benchStart(pairs = 9) {
  const here = dirname(fileURLToPath(import.meta.url));
  // The command users run: package.json's bin (the bundle, dist/bin/), and the compiled modules it is built from.
  const root = join(here, '..', '..');
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { bin: Record<string, string> };
  const ours = join(root, pkg.bin['lipsync-mcp'] as string);
  const modules = join(here, '..', 'src', 'cli.js');
  const require = createRequire(import.meta.url);
  const everything = join(
    dirname(require.resolve('@modelcontextprotocol/server-everything/package.json')),
    'dist',
    'index.js',
  );
  const home = mkdtempSync(join(tmpdir(), 'lipsync-bench-start-'));
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, LIPSYNC_HOME: join(home, 'l') };
  const a: Start[] = [];
  const b: Start[] = [];
  const m: Start[] = [];
  try {
    await coldStart([ours], env); // warms the OS file cache and creates the ledger
    await coldStart([modules], env);
    for (let i = 0; i < pairs; i++) {
      a.push(await coldStart([ours], env));
      b.push(await coldStart([everything, 'stdio'], env));
      m.push(await coldStart([modules], env));
    }
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
  const ms = median(a.map((x) => x.ms));
  const baseMs = median(b.map((x) => x.ms));
  const cpu = median(a.map((x) => x.cpuMs));
  const baseCpu = median(b.map((x) => x.cpuMs));
  return {
    ours_ms: Math.round(ms),
    everything_ms: Math.round(baseMs),
    ratio_vs_everything: Number((ms / baseMs).toFixed(2)),
    ours_cpu_ms: Math.round(cpu),
    everything_cpu_ms: Math.round(baseCpu),
    cpu_ratio_vs_everything: Number((cpu / baseCpu).toFixed(2)),
    ours_rss_mb: median(a.map((x) => x.rssMb)),
    everything_rss_mb: median(b.map((x) => x.rssMb)),
    // The same server run from its compiled modules (dist/src/cli.js), not bundled: what the bundle saves.
    unbundled_ms: Math.round(median(m.map((x) => x.ms))),
    unbundled_cpu_ratio_vs_everything: Number((median(m.map((x) => x.cpuMs)) / baseCpu).toFixed(2)),
    unbundled_rss_mb: median(m.map((x) => x.rssMb)),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify({ cold_start: await benchStart(Number(process.argv[2] ?? 9)) }, null, 2));
}
