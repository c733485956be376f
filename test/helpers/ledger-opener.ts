/**
 * A child process for the open race (test/integration/ledger-open-race.test.ts). Prints `ready`; then
 * for every line on stdin (a ledger file path: the barrier's "go") opens that ledger with the driver
 * argv[2] and prints `ok` or the error. Usage: `node ledger-opener.js <driver>`.
 */
import { createInterface } from 'node:readline';
import { Ledger } from '../../src/jobs/ledger.js';

const driver = process.argv[2] as 'node:sqlite' | 'better-sqlite3';
createInterface({ input: process.stdin }).on('line', (file) => {
  try {
    new Ledger(file, driver).closeSync();
    process.stdout.write('ok\n');
  } catch (err) {
    const e = err as { code?: unknown; stack?: unknown };
    // The first frames say which statement failed.
    const where = String(e.stack).split('\n').slice(0, 4).join(' | ');
    process.stdout.write(`error ${String(e.code)} ${where}\n`);
  }
});
process.stdout.write('ready\n');
