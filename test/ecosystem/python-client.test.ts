/**
 * The Python MCP SDK 2.x client (PyPI `mcp`) against the built server (issue 25, item 6): over stdio
 * and over HTTP (`serve --http`), pinned to 2026-07-28 and through the 2025 handshake, it lists the
 * tools, runs a local job from create to download, watches the task (listen / resources/subscribe) and
 * reads it; then it asks for a paid job (the Jogg fake, LIPSYNC_CONFIRM_PAID) and answers the confirmation
 * through its elicitation callback: "no" sends nothing, "yes" runs exactly one create
 * (scripts/mcp-python-client.py). The Python is LIPSYNC_TEST_PYTHON, else python3 on PATH;
 * where it has no `mcp` 2.x the test skips, saying so (.ci/run installs it in a venv and sets it).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type FakeJogg, startFakeJogg } from '../fakes/jogg/index.js';
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

type Seen = {
  protocol: string;
  tools: number;
  status: string;
  bytes: number;
  heard_by: string;
  asked?: string[];
  error?: string;
  task_id?: string;
};

let jogg: FakeJogg | undefined;
before(async () => {
  if (!skip) jogg = await startFakeJogg();
});
after(async () => {
  await jogg?.close();
});

/** The sandbox, with paid jobs confirmed and Jogg answered by its fake. */
function clientEnv() {
  if (!jogg) throw new Error('the Jogg fake did not start');
  return testEnv({
    LIPSYNC_LOG_LEVEL: 'warn',
    LIPSYNC_CONFIRM_PAID: 'true',
    JOGG_API_KEY: jogg.apiKey,
    JOGG_BASE_URL: jogg.url,
  });
}

/** A paid job declined, then accepted, through the client's elicitation callback. */
async function confirmPaid(
  target: string[],
  mode: string,
  media: { video: string; audio: string },
  env: Record<string, string>,
) {
  const fake = jogg as FakeJogg;
  const creates = () => fake.count('POST', '/v2/create_lip_sync_video');
  const args = [...target, '--mode', mode, '--video', media.video, '--audio', media.audio, '--paid'];
  const c0 = creates();
  const no = await runClient([...args, 'decline'], env);
  assert.equal(no.error, 'declined', JSON.stringify(no));
  assert.equal(no.asked?.length, 1, 'the client was asked once');
  assert.match(no.asked?.[0] ?? '', /Expected cost/);
  assert.equal(creates(), c0, 'no sends nothing');
  const yes = await runClient([...args, 'accept'], env);
  assert.ok(yes.task_id, JSON.stringify(yes));
  assert.equal(yes.asked?.length, 1, 'the client was asked once');
  assert.equal(creates(), c0 + 1, 'yes runs exactly one create');
  console.log(`python mcp client (${mode}): paid job asked, declined (0 creates), accepted (1 create)`);
}

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
  test(`Python SDK client over stdio (${mode}): tools, a local job to download, its task resource, a paid job confirmed`, {
    skip,
    timeout: 400_000,
  }, async () => {
    const env = clientEnv();
    try {
      const { video, audio } = await makePair(env.work, mode === 'legacy' ? 821 : 822);
      const target = ['--stdio', process.execPath, BIN];
      const seen = await runClient([...target, '--mode', mode, '--video', video, '--audio', audio], env.env);
      check(seen, mode);
      const paid = await makePair(env.work, mode === 'legacy' ? 831 : 832, {
        video: 'p.mp4',
        audio: 'p.wav',
      });
      await confirmPaid(target, mode, paid, env.env);
    } finally {
      env.cleanup();
    }
  });

  test(`Python SDK client over HTTP (${mode}): tools, a local job to download, its task resource, a paid job confirmed`, {
    skip,
    timeout: 400_000,
  }, async () => {
    const env = clientEnv();
    const { url, child } = await serveHttp(env.env);
    try {
      const { video, audio } = await makePair(env.work, mode === 'legacy' ? 823 : 824);
      const seen = await runClient(
        ['--url', url, '--mode', mode, '--video', video, '--audio', audio],
        env.env,
      );
      check(seen, mode);
      const paid = await makePair(env.work, mode === 'legacy' ? 833 : 834, {
        video: 'p.mp4',
        audio: 'p.wav',
      });
      await confirmPaid(['--url', url], mode, paid, env.env);
    } finally {
      await stop(child);
      env.cleanup();
    }
  });
}
