/**
 * Upload: our streamed Jogg upload (asset POST + signed PUT through the HTTP client) vs `curl -T` of
 * the same file to the same loopback PUT, in the same run. The fake Jogg runs in its own process, and
 * so does our upload (`--child`), so that each figure is one process's: its time and its peak RSS
 * (VmHWM, the whole process, as a CLI `run` would have).
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const SELF = fileURLToPath(import.meta.url);

function peakRssMb(pid: number | 'self'): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : Number.NaN;
}

/** The child: one upload, then `{ms, rss_mb}` on stdout. */
async function childUpload(fakeUrl: string, apiKey: string, file: string, dir: string): Promise<void> {
  const { systemClock } = await import('../src/clock.js');
  const { loadConfig } = await import('../src/config.js');
  const { createHttpClient } = await import('../src/http/client.js');
  const { silentLogger } = await import('../src/logger.js');
  const { resolveInput } = await import('../src/media/inputs.js');
  const { createJoggProvider } = await import('../src/providers/jogg/index.js');
  const config = loadConfig({ env: { JOGG_API_KEY: apiKey, JOGG_BASE_URL: fakeUrl, HOME: dir } });
  const http = createHttpClient({ clock: systemClock, timeoutMs: 600_000 });
  const jogg = createJoggProvider({ config: config.jogg, http, clock: systemClock, log: silentLogger() });
  const input = await resolveInput(file, 'video', {
    allowedDirs: [dir],
    maxBytes: 2 ** 40,
    homeDir: dir,
    cwd: dir,
  });
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  await jogg.upload?.(input, 'video', undefined, new AbortController().signal);
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  await http.close();
  process.stdout.write(
    JSON.stringify({ ms, cpu_ms: (cpu.user + cpu.system) / 1000, rss_mb: peakRssMb('self') }),
  );
}

/** Starts the fake Jogg in a process of its own; resolves with its URL and API key. */
function startFakeProcess(): Promise<{ url: string; apiKey: string; stop(): void }> {
  const fakeModule = new URL('../test/fakes/jogg/index.js', import.meta.url).href;
  const code = `const { startFakeJogg } = await import(${JSON.stringify(fakeModule)}); const f = await startFakeJogg(); process.stdout.write(JSON.stringify({ url: f.url, apiKey: f.apiKey }) + '\\n');`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.stdout.once('data', (d: Buffer) => {
      const { url, apiKey } = JSON.parse(d.toString('utf8')) as { url: string; apiKey: string };
      resolve({ url, apiKey, stop: () => child.kill('SIGTERM') });
    });
  });
}

interface Run {
  ms: number;
  cpu_ms: number;
}

function runChild(args: string[]): Promise<Run & { rss_mb: number }> {
  return promisify(execFile)(process.execPath, [SELF, '--child', ...args], { maxBuffer: 1 << 20 }).then(
    ({ stdout }) => JSON.parse(stdout) as Run & { rss_mb: number },
  );
}

/** curl's wall time, and its CPU time (user + system, from the shell's `times`): load hurts CPU time less. */
async function curlPut(file: string, url: string): Promise<Run | null> {
  const t0 = performance.now();
  const script = 'curl -sf -o /dev/null -T "$0" -H "content-type: video/mp4" "$1" && times';
  const out = await promisify(execFile)('bash', ['-c', script, file, url]).then(
    ({ stdout }) => stdout,
    () => null,
  );
  if (out === null) return null;
  const ms = performance.now() - t0;
  const secs = (out.trim().split('\n')[1] ?? '').split(/\s+/).map((t) => {
    const m = /^(\d+)m([\d.]+)s$/.exec(t);
    return m ? Number(m[1]) * 60 + Number(m[2]) : 0;
  });
  return { ms, cpu_ms: secs.reduce((a, b) => a + b, 0) * 1000 };
}

export async function benchUpload(sizeMb: number, rounds = 3) {
  const dir = mkdtempSync(join(tmpdir(), 'lipsync-bench-'));
  const fake = await startFakeProcess();
  try {
    const file = join(dir, 'big.mp4');
    const chunk = randomBytes(1 << 20);
    const fd = openSync(file, 'w');
    for (let i = 0; i < sizeMb; i++) writeSync(fd, chunk);
    closeSync(fd);
    const ours: (Run & { rss_mb: number })[] = [];
    const curl: Run[] = [];
    // Interleaved pairs: machine load hits both alike. Best of each (the least disturbed run).
    for (let i = 0; i < rounds; i++) {
      ours.push(await runChild([fake.url, fake.apiKey, file, dir]));
      const c = await curlPut(file, `${fake.url}/signed/bench?sig=x`);
      if (c !== null) curl.push(c);
    }
    const best = Math.min(...ours.map((o) => o.ms));
    const bestCurl = curl.length ? Math.min(...curl.map((c) => c.ms)) : null;
    const cpu = Math.min(...ours.map((o) => o.cpu_ms));
    const cpuCurl = curl.length ? Math.min(...curl.map((c) => c.cpu_ms)) : null;
    return {
      size_mb: sizeMb,
      ours_ms: Math.round(best),
      curl_ms: bestCurl === null ? null : Math.round(bestCurl),
      throughput_vs_curl: bestCurl === null ? null : Number((bestCurl / best).toFixed(2)),
      ours_cpu_ms: Math.round(cpu),
      curl_cpu_ms: cpuCurl === null ? null : Math.round(cpuCurl),
      peak_rss_mb: Math.max(...ours.map((o) => o.rss_mb)),
    };
  } finally {
    fake.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') {
  const [fakeUrl, apiKey, file, dir] = process.argv.slice(3) as [string, string, string, string];
  await childUpload(fakeUrl, apiKey, file, dir);
  process.exit(0);
} else if (process.argv[1] === SELF) {
  const size = Number(process.argv[2] ?? 256);
  console.log(JSON.stringify({ upload: await benchUpload(size) }, null, 2));
}
