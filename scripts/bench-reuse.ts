/**
 * Reuse across processes: resolving a 100 MB input in a new app (a new CLI process: its own in-memory
 * hash cache) on the same home. Baseline: the first resolution, which reads and hashes the file; the
 * second must answer from the ledger's hash table without reading it.
 */
import { closeSync, mkdtempSync, openSync, rmSync, utimesSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { silentLogger } from '../src/logger.js';
import { FileHasher } from '../src/media/hash.js';

export async function benchReuse(sizeMb = 100) {
  const dir = mkdtempSync(join(tmpdir(), 'lipsync-bench-reuse-'));
  try {
    const file = join(dir, 'talk.mp4');
    const chunk = Buffer.alloc(1 << 20, 7);
    const fd = openSync(file, 'w');
    for (let i = 0; i < sizeMb; i++) writeSync(fd, chunk);
    closeSync(fd);
    const old = new Date(Date.now() - 60_000);
    utimesSync(file, old, old);
    const env = { HOME: dir, LIPSYNC_HOME: join(dir, 'l') };
    // The ctime of a just-written file is "racy" (hash.ts); a clock 10 s ahead lets it be cached.
    const later = () => Date.now() + 10_000;
    const once = async () => {
      const hasher = new FileHasher({ now: later });
      const app = await createApp(loadConfig({ env }), {
        media: {},
        preflight: false,
        log: silentLogger(),
        hasher,
      });
      const t0 = performance.now();
      await app.jobs.resolveInputs({ video: file });
      const ms = performance.now() - t0;
      await app.close();
      return { ms, reads: hasher.stats.reads };
    };
    const first = await once();
    const second = await once();
    return {
      size_mb: sizeMb,
      first_ms: Math.round(first.ms),
      second_ms: Number(second.ms.toFixed(1)),
      ratio_vs_first: Number((second.ms / first.ms).toFixed(3)),
      second_reads_file: second.reads > 0,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
