/**
 * Opening a new ledger under a race (issue 31 item 4): many processes open one new SQLite ledger at the
 * same moment (a barrier), again and again. A client started with another must never fail to open it
 * (`SQLITE_BUSY` on `PRAGMA journal_mode = WAL` was seen with four). Both drivers where the runtime has them.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isBusy } from '../../src/jobs/sqlite.js';
import { within } from '../helpers/wait.js';

const OPENER = fileURLToPath(new URL('../helpers/ledger-opener.js', import.meta.url));
const PROCESSES = 16;
const ROUNDS = 40;

const hasBuiltin = (() => {
  const get = (process as unknown as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule;
  try {
    return Boolean(get?.('node:sqlite'));
  } catch {
    return false;
  }
})();
// Its JS loads on any Node; its native part only where it was built (Node 20 here, not the Node 24 leg).
const hasBetter = (() => {
  try {
    const Database = createRequire(import.meta.url)('better-sqlite3') as new (f: string) => { close(): void };
    new Database(':memory:').close();
    return true;
  } catch {
    return false;
  }
})();

/** The first line a child prints (its `ready`, then its outcome). */
function lines(child: ChildProcess): () => Promise<string> {
  const queue: string[] = [];
  const waiting: ((l: string) => void)[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => {
    const w = waiting.shift();
    if (w) w(l);
    else queue.push(l);
  });
  child.on('exit', (code) => {
    for (const w of waiting.splice(0)) w(`exited ${code}`);
  });
  return () => {
    const l = queue.shift();
    return l !== undefined ? Promise.resolve(l) : new Promise((r) => waiting.push(r));
  };
}

/** Starts the children and waits until each is ready; then `round(file)` releases them all on `file`. */
async function openers(driver: string) {
  const children = Array.from({ length: PROCESSES }, () =>
    spawn(process.execPath, [OPENER, driver], { stdio: ['pipe', 'pipe', 'inherit'] }),
  );
  const next = children.map(lines);
  const ready = await within(Promise.all(next.map((n) => n())), 'every child ready at the barrier');
  assert.ok(
    ready.every((l) => l === 'ready'),
    ready.join('; '),
  );
  return {
    /** One barrier: every child opens the same new ledger at once; their outcomes. */
    async round(file: string): Promise<string[]> {
      const outcomes = next.map((n) => n());
      for (const c of children) c.stdin.write(`${file}\n`);
      return within(Promise.all(outcomes), 'every child opened the ledger or failed');
    },
    stop: () => {
      for (const c of children) c.stdin.end();
    },
  };
}

describe('a new SQLite ledger opened by many processes at once', () => {
  for (const driver of ['better-sqlite3', 'node:sqlite'] as const) {
    const skip = (driver === 'node:sqlite' ? !hasBuiltin : !hasBetter) && `${driver} is not available here`;
    test(`${PROCESSES} processes, ${ROUNDS} new ledgers, ${driver}: every open succeeds`, {
      skip,
    }, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'ledger-race-'));
      try {
        const failures: string[] = [];
        const o = await openers(driver);
        try {
          for (let i = 0; i < ROUNDS; i++) {
            const out = await o.round(join(dir, `round-${i}`, 'ledger.sqlite'));
            failures.push(...out.filter((l) => l !== 'ok').map((l) => `round ${i}: ${l}`));
          }
        } finally {
          o.stop();
        }
        assert.deepEqual(failures, [], `${failures.length} of ${PROCESSES * ROUNDS} opens failed`);
      } finally {
        rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
      }
    });
  }
});

test('busy is recognised from both drivers (better-sqlite3 code, node:sqlite errcode)', () => {
  assert.equal(isBusy(Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' })), true);
  assert.equal(isBusy(Object.assign(new Error('x'), { code: 'SQLITE_BUSY_RECOVERY' })), true);
  assert.equal(
    isBusy(Object.assign(new Error('database is locked'), { code: 'ERR_SQLITE_ERROR', errcode: 5 })),
    true,
  );
  assert.equal(isBusy(Object.assign(new Error('x'), { code: 'ERR_SQLITE_ERROR', errcode: 261 })), true);
  assert.equal(isBusy(Object.assign(new Error('no such table'), { code: 'SQLITE_ERROR' })), false);
});
