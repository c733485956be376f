import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../../../src/logger.js';
import { TokenFile } from '../../../src/providers/nemovideo/token-file.js';
import { Redactor } from '../../../src/redact.js';
import { startFakeNemo } from '../../fakes/nemovideo/index.js';
import { fileEvent } from '../../helpers/wait.js';
import { FakeClock, LogCapture } from './helpers.js';

const RACER = fileURLToPath(new URL('../../fakes/nemovideo/token-racer.js', import.meta.url));
const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function tempHome(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'nemo-lock-'));
  dirs.push(d);
  return d;
}

function race(url: string, home: string, speed: number, staleMs: number) {
  return new Promise<{ code: number | null; out: string; err: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [RACER, url, home, String(speed), String(staleMs)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

function tokenFile(home: string, staleMs?: number, waitMs?: number) {
  const logs = new LogCapture();
  const file = new TokenFile(
    join(home, 'nemo-token.json'),
    new FakeClock(),
    createLogger('debug', new Redactor(), logs),
    {
      ...(staleMs !== undefined ? { staleMs } : {}),
      ...(waitMs !== undefined ? { waitMs } : {}),
    },
  );
  return { file, logs };
}

describe('NemoVideo token lock across processes', () => {
  it('three processes, a 429 on the token request: exactly one token is requested', async () => {
    const fake = await startFakeNemo();
    try {
      const home = await tempHome();
      fake.fail({ path: '/api/auth/anonymous-token', status: 429 });
      // The holder's 30 s rate-limit wait takes 2 s of real time: four times the lock's staleness.
      const results = await Promise.all([1, 2, 3].map(() => race(fake.url, home, 15, 500)));
      for (const r of results) assert.equal(r.code, 0, `racer failed: ${r.out} ${r.err}`);
      const tokenCalls = fake.calls.filter((c) => c.path === '/api/auth/anonymous-token');
      assert.equal(fake.state.tokensIssued, 1, 'exactly one token issued');
      assert.equal(tokenCalls.length, 2, 'the 429 and its one retry, from the holder only');
      assert.equal(new Set(tokenCalls.map((c) => c.headers['x-client-id'])).size, 1, 'one client id');
      assert.equal(fake.calls.filter((c) => c.path === '/api/credits/balance/simple').length, 3);
    } finally {
      await fake.close();
    }
  });

  it('the lock is refreshed while held', async () => {
    const home = await tempHome();
    const { file } = tokenFile(home, 300);
    await file.withLock(async () => {
      const old = new Date(Date.now() - 60_000);
      await utimes(file.lockPath, old, old);
      // The heartbeat's utimes is a change in the lock's folder: wait for it, not for a time.
      await fileEvent(
        file.lockPath,
        'a heartbeat on the lock',
        () => statSync(file.lockPath).mtimeMs > old.getTime() + 30_000,
      );
    });
  });

  it('a holder deletes only its own lock', async () => {
    const home = await tempHome();
    const { file, logs } = tokenFile(home);
    const foreign = `${JSON.stringify({ id: 'someone-else', pid: process.pid, host: hostname() })}\n`;
    await file.withLock(async () => {
      // Another process took the lock over (e.g. judged it stale): releasing must not delete theirs.
      await writeFile(file.lockPath, foreign);
    });
    assert.equal(await readFile(file.lockPath, 'utf8'), foreign);
    assert.match(logs.text(), /taken over/);
  });

  it("a dead owner's lock on this host is taken over at once, without waiting for it to go stale", async () => {
    const home = await tempHome();
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    const { file } = tokenFile(home, 30_000, 2_000);
    await writeFile(file.lockPath, `${JSON.stringify({ id: 'crashed', pid: dead, host: hostname() })}\n`);
    let ran = false;
    await file.withLock(async () => {
      ran = true;
    });
    assert.equal(ran, true);
  });
});
