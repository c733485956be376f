import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { testEnv } from '../helpers/app.js';
import { CLI } from '../helpers/spawn.js';

/** Starts the stdio server with a loader hook that reports every module it loads, until tools/list. */
async function modulesUntilToolsList(dir: string, env: Record<string, string>): Promise<string[]> {
  const hook = join(dir, 'hook.mjs');
  writeFileSync(
    hook,
    "export async function load(u, c, n) { process.stderr.write('LOAD ' + u + '\\n'); return n(u, c); }\n",
  );
  const reg = join(dir, 'reg.mjs');
  writeFileSync(
    reg,
    `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hook).href)});\n`,
  );
  const child = spawn(process.execPath, ['--import', pathToFileURL(reg).href, CLI], {
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (d) => {
    err += d;
  });
  const send = (m: object) => child.stdin.write(`${JSON.stringify(m)}\n`);
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.on('error', reject);
    child.on('exit', () => reject(new Error(`server exited: ${err.slice(-2000)}`)));
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('"id":1') && !out.includes('"id":2') && !out.includes('sent-2')) {
        out += 'sent-2';
        send({ jsonrpc: '2.0', method: 'notifications/initialized' });
        send({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
      }
      if (out.includes('"id":2')) resolve();
    });
    send({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
    });
  });
  child.removeAllListeners('exit');
  const exited = new Promise((r) => child.once('exit', r));
  child.stdin.end();
  await exited;
  return err
    .split('\n')
    .filter((l) => l.startsWith('LOAD '))
    .map((l) => l.slice(5));
}

test("the stdio server answers tools/list without loading undici or any provider's implementation", async () => {
  const env = testEnv({ JOGG_API_KEY: 'k-test' });
  try {
    const loaded = await modulesUntilToolsList(env.root, env.env);
    assert.ok(
      loaded.some((u) => u.includes('/tools/list-tasks.js')),
      'the hook saw the tools load',
    );
    assert.deepEqual(
      loaded.filter((u) => u.includes('/node_modules/undici/')),
      [],
    );
    // Providers are metadata until their first call (src/providers/lazy.ts).
    assert.deepEqual(
      loaded.filter((u) => /\/providers\/[a-z]+\/index\.js$|\/node_modules\/eventsource-parser\//.test(u)),
      [],
    );
    // The ledger opens on first use (src/jobs/lazy-ledger.ts): a handshake never creates or opens it.
    assert.equal(
      existsSync(join(env.env.LIPSYNC_HOME!, 'ledger.sqlite')),
      false,
      'the ledger was not opened',
    );
  } finally {
    env.cleanup();
  }
});
