/**
 * The Python MCP SDK 2.x client (PyPI `mcp`) against the built server (issue 25, item 6): over stdio
 * and over HTTP (`serve --http`), pinned to 2026-07-28 and through the 2025 handshake, it lists the
 * tools, runs a local job from create to download, watches the task (listen / resources/subscribe) and
 * reads it (scripts/mcp-python-client.py). The Python is LIPSYNC_TEST_PYTHON, else python3 on PATH;
 * where it has no `mcp` 2.x the test skips, saying so (.ci/run installs it in a venv and sets it).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { testEnv } from '../helpers/app.js';
import { makePair } from '../helpers/clips.js';

const BIN = fileURLToPath(new URL('../../bin/lipsync-mcp.js', import.meta.url));
const SCRIPT = fileURLToPath(new URL('../../../scripts/mcp-python-client.py', import.meta.url));
const PYTHON = process.env.LIPSYNC_TEST_PYTHON || 'python3';

/** false when PYTHON imports mcp 2.x, else why the test cannot run. */
function pythonSkip(): string | false {
  const probe = spawnSync(PYTHON, ['-c', 'import importlib.metadata as m, mcp; print(m.version("mcp"))'], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (probe.error) return `no Python (${PYTHON}: ${probe.error.message}); set LIPSYNC_TEST_PYTHON`;
  if (probe.status !== 0)
    return `${PYTHON} has no MCP Python SDK (pip install "mcp>=2,<3"; .ci/run does it in a venv)`;
  const version = probe.stdout.trim();
  return version.startsWith('2.') ? false : `${PYTHON} has mcp ${version}, not the 2.x SDK this test drives`;
}
const skip = pythonSkip();

type Seen = { protocol: string; tools: number; status: string; bytes: number; heard_by: string };

function runClient(args: string[], env: Record<string, string>): Promise<Seen> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [SCRIPT, ...args], {
      env: { ...env, PYTHONUNBUFFERED: '1' },
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
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`the Python client exited ${code}:\n${err.slice(-3000)}`));
      resolve(JSON.parse(out.trim().split('\n').pop() ?? '{}') as Seen);
    });
  });
}

/** `serve --http` of the bundle on a free port; resolves with its URL from the start-up log line. */
async function serveHttp(env: Record<string, string>): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [BIN, 'serve', '--http', '--host', '127.0.0.1', '--port', '0'], {
    env: { ...env, LIPSYNC_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  const url = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`serve --http did not start:\n${err}`)), 30_000);
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString('utf8');
      const m = /"url":"(http:\/\/[^"]+)"/.exec(err);
      if (m?.[1]) {
        clearTimeout(t);
        resolve(m[1]);
      }
    });
    child.on('exit', (code) => reject(new Error(`serve --http exited ${code}:\n${err}`)));
  });
  return { url, child };
}

const stop = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });

function check(seen: Seen, mode: string): void {
  assert.equal(seen.protocol, mode === 'legacy' ? '2025-11-25' : mode, JSON.stringify(seen));
  assert.equal(seen.status, 'success');
  assert.ok(seen.bytes > 0, 'the downloaded result has bytes');
  assert.equal(seen.heard_by, mode === 'legacy' ? 'resources/subscribe' : 'subscriptions/listen');
  console.log(`python mcp client (${mode}): ${seen.tools} tools, job ${seen.status}, ${seen.bytes} bytes`);
}

for (const mode of ['2026-07-28', 'legacy']) {
  test(`Python SDK client over stdio (${mode}): tools, a local job to download, its task resource`, {
    skip,
    timeout: 400_000,
  }, async () => {
    const env = testEnv({ LIPSYNC_LOG_LEVEL: 'warn' });
    try {
      const { video, audio } = await makePair(env.work, mode === 'legacy' ? 821 : 822);
      const seen = await runClient(
        ['--stdio', process.execPath, BIN, '--mode', mode, '--video', video, '--audio', audio],
        env.env,
      );
      check(seen, mode);
    } finally {
      env.cleanup();
    }
  });

  test(`Python SDK client over HTTP (${mode}): tools, a local job to download, its task resource`, {
    skip,
    timeout: 400_000,
  }, async () => {
    const env = testEnv({ LIPSYNC_LOG_LEVEL: 'warn' });
    const { url, child } = await serveHttp(env.env);
    try {
      const { video, audio } = await makePair(env.work, mode === 'legacy' ? 823 : 824);
      const seen = await runClient(
        ['--url', url, '--mode', mode, '--video', video, '--audio', audio],
        env.env,
      );
      check(seen, mode);
    } finally {
      await stop(child);
      env.cleanup();
    }
  });
}
