/** A second process that writes to the same ledger, as another server or CLI would. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const LEDGER_JS = fileURLToPath(new URL('../../src/jobs/ledger.js', import.meta.url));

/** Runs `node` in a new process that opens the ledger file and applies `patch` to task `id`. */
export function updateFromAnotherProcess(file: string, id: string, patch: object): Promise<void> {
  const code = `
    const { Ledger } = await import(${JSON.stringify(LEDGER_JS)});
    const [file, id, patch] = process.argv.slice(1);
    const l = new Ledger(file);
    l.update(id, JSON.parse(patch), Date.now());
    l.close();
  `;
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--input-type=module', '-e', code, file, id, JSON.stringify(patch)],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let err = '';
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.on('error', reject);
    child.on('exit', (c) => (c === 0 ? resolve() : reject(new Error(`updater exited ${c}: ${err}`))));
  });
}
