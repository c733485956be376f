/**
 * `npm run bench`: performance figures as ratios against a baseline run in the same command.
 *  - upload: our streamed Jogg upload (signed PUT through the HTTP client) vs `curl -T` of the same
 *    file to the same loopback fake, and the process's peak RSS growth (streaming, not buffering);
 *  - local engine: a 5-minute 720p input vs a plain ffmpeg remux of the same files; alignment time;
 *  - HTTP sessions: memory while 10,000 clients initialize and never DELETE (must stay flat).
 * Pass `--quick` for a 60-second local input; `--sessions` runs only the sessions measurement.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { systemClock } from '../src/clock.js';
import { loadConfig } from '../src/config.js';
import { createHttpClient } from '../src/http/client.js';
import { silentLogger } from '../src/logger.js';
import { resolveInput } from '../src/media/inputs.js';
import { createJoggProvider } from '../src/providers/jogg/index.js';
import { startFakeJogg } from '../test/fakes/jogg/index.js';
import { benchLocal } from './bench-local.js';
import { benchSessions } from './bench-sessions.js';

async function benchUpload(sizeMb: number) {
  const dir = mkdtempSync(join(tmpdir(), 'lipsync-bench-'));
  const fake = await startFakeJogg();
  try {
    const file = join(dir, 'big.mp4');
    const chunk = randomBytes(1 << 20);
    const fd = openSync(file, 'w');
    for (let i = 0; i < sizeMb; i++) writeSync(fd, chunk);
    closeSync(fd);
    const config = loadConfig({ env: { JOGG_API_KEY: fake.apiKey, JOGG_BASE_URL: fake.url, HOME: dir } });
    const http = createHttpClient({ clock: systemClock, timeoutMs: 120_000 });
    const jogg = createJoggProvider({ config: config.jogg, http, clock: systemClock, log: silentLogger() });
    const input = await resolveInput(file, 'video', {
      allowedDirs: [dir],
      maxBytes: 2 ** 40,
      homeDir: dir,
      cwd: dir,
    });
    const rss0 = process.memoryUsage().rss;
    let peak = rss0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 5);
    const t0 = performance.now();
    await jogg.upload!(input, 'video', undefined, new AbortController().signal);
    const oursMs = performance.now() - t0;
    clearInterval(sampler);
    const t1 = performance.now();
    // Asynchronously: the fake server lives in this process and must keep serving while curl runs.
    const curlOk = await promisify(execFile)('curl', [
      '-s',
      '-o',
      '/dev/null',
      '-T',
      file,
      '-H',
      'content-type: video/mp4',
      `${fake.url}/signed/bench?sig=x`,
    ]).then(
      () => true,
      () => false,
    );
    const curlMs = performance.now() - t1;
    await http.close();
    return {
      size_mb: sizeMb,
      ours_ms: Math.round(oursMs),
      curl_ms: curlOk ? Math.round(curlMs) : null,
      ratio_vs_curl: curlOk ? Number((oursMs / curlMs).toFixed(2)) : null,
      rss_growth_mb: Math.round((peak - rss0) / 1048576),
    };
  } finally {
    await fake.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const quick = process.argv.includes('--quick');
if (process.argv.includes('--sessions')) {
  console.log(JSON.stringify({ sessions: await benchSessions() }, null, 2));
  process.exit(0);
}
// Two sizes: peak RSS growth that does not grow with the file shows the upload streams from disk.
const upload = [await benchUpload(64), await benchUpload(quick ? 256 : 1024)];
console.log(JSON.stringify({ upload }, null, 2));
const local = await benchLocal(quick ? 60 : 300);
console.log(JSON.stringify({ local }, null, 2));
console.log(JSON.stringify({ sessions: await benchSessions() }, null, 2));
