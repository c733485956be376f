import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { testEnv } from '../helpers/app.js';
import { CLI } from '../helpers/spawn.js';

/**
 * Starts the stdio server with hooks that note every module it loads (ES modules through a loader hook,
 * CommonJS packages such as pino through require) in a file, synchronously, before each module runs;
 * returns what the file held when the answer to tools/list arrived.
 */
async function modulesUntilToolsList(dir: string, env: Record<string, string>): Promise<string[]> {
  const log = join(dir, 'loads.txt');
  writeFileSync(log, '');
  const hook = join(dir, 'hook.mjs');
  writeFileSync(
    hook,
    `import { appendFileSync } from 'node:fs';\nexport async function load(u, c, n) { appendFileSync(${JSON.stringify(log)}, u + '\\n'); return n(u, c); }\n`,
  );
  const reg = join(dir, 'reg.mjs');
  writeFileSync(
    reg,
    `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hook).href)});\n`,
  );
  const cjs = join(dir, 'cjs-hook.cjs');
  writeFileSync(
    cjs,
    `const { appendFileSync } = require('node:fs'); const M = require('node:module'); const r = M.prototype.require; M.prototype.require = function (id) { appendFileSync(${JSON.stringify(log)}, 'cjs:' + id + '\\n'); return r.apply(this, arguments); };\n`,
  );
  const child = spawn(process.execPath, ['--require', cjs, '--import', pathToFileURL(reg).href, CLI], {
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (d) => {
    err += d;
  });
  const send = (m: object) => child.stdin.write(`${JSON.stringify(m)}\n`);
  const seen = await new Promise<string>((resolve, reject) => {
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
      if (out.includes('"id":2')) resolve(readFileSync(log, 'utf8'));
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
  return seen.split('\n').filter(Boolean);
}

test("the stdio server answers tools/list without loading undici, any provider's implementation, a tool or a job unit", async () => {
  // The users' default log level: nothing is logged before the first answers.
  const env = testEnv({ JOGG_API_KEY: 'k-test', LIPSYNC_LOG_LEVEL: 'info' });
  try {
    const loaded = await modulesUntilToolsList(env.root, env.env);
    assert.ok(
      loaded.some((u) => u.includes('/tools/catalog.js')),
      'the hook saw the tool catalog load',
    );
    // tools/list is answered from the generated catalog: no tool module, no zod schema of a tool.
    assert.deepEqual(
      loaded.filter((u) => /\/tools\/(?!catalog|index|serve|define|mcp-apps)[a-z-]+\.js$/.test(u)),
      [],
    );
    // The job units, and what they use (input checks, DNS, hashing, downloads), load with the first job.
    assert.deepEqual(
      loaded.filter((u) =>
        /\/jobs\/(submission|recovery|waiting|transfers|spend-gate|download)\.js$|\/media\/(inputs|preflight|media-check)\.js$/.test(
          u,
        ),
      ),
      [],
    );
    // pino loads with the first log line, after the handshake.
    assert.ok(
      loaded.some((u) => u.startsWith('cjs:')),
      'the CommonJS hook saw the ffmpeg installers load',
    );
    assert.deepEqual(
      loaded.filter((u) => u === 'cjs:pino' || u.includes('/node_modules/pino/')),
      [],
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
