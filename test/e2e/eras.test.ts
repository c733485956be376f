/**
 * Both protocol eras from one server (issue 25): a v2 client pinned to 2026-07-28 and the 1.x client
 * (the 2025-11-25 client hosts embed) each run a local job from create to download, over stdio (the
 * built bundle) and over HTTP (`serve --http`), and each hears the task change: `subscriptions/listen`
 * on one, `resources/subscribe` on the other. The last change is made by another process on the same
 * ledger after the download, so that hearing it never depends on how fast the job ran.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Client as Client2, StreamableHTTPClientTransport as Http2 } from '@modelcontextprotocol/client';
import { StdioClientTransport as Stdio2 } from '@modelcontextprotocol/client/stdio';
import { Client as Client1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport as Stdio1 } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport as Http1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { testEnv } from '../helpers/app.js';
import { makePair } from '../helpers/clips.js';
import { updateFromAnotherProcess } from '../mcp/updater.js';

const BIN = fileURLToPath(new URL('../../bin/lipsync-mcp.js', import.meta.url));
const PIN = '2026-07-28';

type Result = { isError?: boolean; structuredContent?: unknown; content?: unknown };

/** What a test needs of a client, whichever SDK and era. */
interface Face {
  era: 'legacy' | 'modern';
  call(name: string, args: Record<string, unknown>): Promise<Result>;
  /** Starts hearing about `uri` (listen or subscribe); `heard()` counts updates for it so far. */
  hear(uri: string): Promise<void>;
  heard(): number;
  /** Resolves once more than `n` updates were heard (a hang guard fails the wait). */
  after(n: number): Promise<void>;
  close(): Promise<void>;
}

/** Counts resources/updated notifications for one URI and wakes waiters. */
function counter() {
  let uri = '';
  let n = 0;
  const waiters: { above: number; resolve: () => void }[] = [];
  return {
    set uri(u: string) {
      uri = u;
    },
    on(got: string) {
      if (got !== uri) return;
      n++;
      for (const w of waiters.splice(0))
        if (n > w.above) w.resolve();
        else waiters.push(w);
    },
    get n() {
      return n;
    },
    after(above: number, what: string): Promise<void> {
      if (n > above) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no ${what} for ${uri} within 60 s`)), 60_000);
        waiters.push({
          above,
          resolve: () => {
            clearTimeout(t);
            resolve();
          },
        });
      });
    },
  };
}

async function modernFace(transport: Stdio2 | Http2): Promise<Face> {
  const client = new Client2(
    { name: 'eras-2026', version: '1' },
    { versionNegotiation: { mode: { pin: PIN } } },
  );
  await client.connect(transport);
  const c = counter();
  client.setNotificationHandler('notifications/resources/updated', async (n) => c.on(n.params.uri));
  let sub: Awaited<ReturnType<Client2['listen']>> | undefined;
  return {
    era: client.getProtocolEra() as 'modern',
    call: async (name, args) =>
      (await client.callTool({ name, arguments: args }, { timeout: 70_000 })) as Result,
    async hear(uri) {
      c.uri = uri;
      sub = await client.listen({ resourceSubscriptions: [uri] });
      assert.deepEqual(sub.honoredFilter.resourceSubscriptions, [uri], 'the server honours the task URI');
    },
    heard: () => c.n,
    after: (n) => c.after(n, 'notifications/resources/updated on the listen stream'),
    async close() {
      await sub?.close();
      await client.close();
    },
  };
}

async function legacyFace(transport: Stdio1 | Http1): Promise<Face> {
  const client = new Client1({ name: 'eras-2025', version: '1' }, { capabilities: {} });
  await client.connect(transport);
  const c = counter();
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, async (n) => c.on(n.params.uri));
  return {
    era: 'legacy',
    call: async (name, args) =>
      (await client.callTool({ name, arguments: args }, undefined, { timeout: 70_000 })) as Result,
    async hear(uri) {
      c.uri = uri;
      await client.subscribeResource({ uri });
    },
    heard: () => c.n,
    after: (n) => c.after(n, 'notifications/resources/updated after resources/subscribe'),
    close: () => client.close(),
  };
}

function data(r: Result): Record<string, unknown> {
  assert.notEqual(r.isError, true, JSON.stringify(r.content));
  return r.structuredContent as Record<string, unknown>;
}

/** create -> hear the task -> wait until success -> download; then another process changes the task. */
async function localJob(face: Face, work: string, ledgerFile: string, seed: number): Promise<void> {
  const { video, audio } = await makePair(work, seed);
  const created = data(await face.call('create_lip_sync', { video, audio, provider: 'local' }));
  const taskId = String(created.task_id);
  await face.hear(`lipsync://tasks/${encodeURIComponent(taskId)}`);
  let status = created;
  for (let i = 0; i < 30 && status.status !== 'success' && status.status !== 'failed'; i++)
    status = data(await face.call('get_task_status', { task_id: taskId, wait_seconds: 50 }));
  assert.equal(status.status, 'success', JSON.stringify(status));
  const saved = data(await face.call('download_result', { task_id: taskId }));
  assert.ok(typeof saved.path === 'string' && existsSync(saved.path), JSON.stringify(saved));
  const before = face.heard();
  await updateFromAnotherProcess(ledgerFile, taskId, {
    snapshot: { status: 'success', resultUrl: 'https://cdn.example/again.mp4' },
  });
  await face.after(before);
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

test('over stdio (the bundle): a client pinned to 2026-07-28 and a 2025-11-25 client each run a local job and hear it', async () => {
  const env = testEnv({ LIPSYNC_LOG_LEVEL: 'warn' });
  const ledger = join(env.env.LIPSYNC_HOME as string, 'ledger.sqlite');
  try {
    const t2 = new Stdio2({
      command: process.execPath,
      args: [BIN],
      env: { ...env.env, LIPSYNC_LOG_LEVEL: 'info' },
      stderr: 'pipe',
    });
    let stderr = '';
    t2.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString('utf8');
    });
    const modern = await modernFace(t2);
    try {
      assert.equal(modern.era, 'modern');
      await localJob(modern, env.work, ledger, 711);
      // The start-up line says which era the client chose (README: "Protocol eras").
      const ready = stderr.split('\n').find((l) => l.includes('ready on stdio'));
      assert.equal(JSON.parse(ready ?? '{}').protocol, '2026-07-28', stderr.slice(-2000));
    } finally {
      await modern.close();
    }
    const legacy = await legacyFace(
      new Stdio1({ command: process.execPath, args: [BIN], env: env.env, stderr: 'ignore' }),
    );
    try {
      await localJob(legacy, env.work, ledger, 712);
    } finally {
      await legacy.close();
    }
  } finally {
    env.cleanup();
  }
});

test('over HTTP (serve --http): a client pinned to 2026-07-28 and a 2025-11-25 client each run a local job and hear it', async () => {
  const env = testEnv();
  const ledger = join(env.env.LIPSYNC_HOME as string, 'ledger.sqlite');
  const { url, child } = await serveHttp(env.env);
  try {
    const modern = await modernFace(new Http2(new URL(url)));
    try {
      assert.equal(modern.era, 'modern');
      await localJob(modern, env.work, ledger, 713);
    } finally {
      await modern.close();
    }
    const legacy = await legacyFace(new Http1(new URL(url)));
    try {
      await localJob(legacy, env.work, ledger, 714);
    } finally {
      await legacy.close();
    }
  } finally {
    await stop(child);
    env.cleanup();
  }
});

test('a copy started only to answer server/discover, then stopped, leaves nothing behind (no ledger opened, no recovery)', async () => {
  const env = testEnv({ LIPSYNC_LOG_LEVEL: 'warn' });
  const home = env.env.LIPSYNC_HOME as string;
  try {
    // As the v2 client's probe does: one server/discover with the per-request envelope, then SIGTERM.
    const child = spawn(process.execPath, [BIN], { env: env.env, stdio: ['pipe', 'pipe', 'ignore'] });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const answer = await new Promise<Record<string, unknown>>((resolve, reject) => {
      let buf = '';
      child.stdout?.on('data', (d: Buffer) => {
        buf += d.toString('utf8');
        const nl = buf.indexOf('\n');
        if (nl >= 0) resolve(JSON.parse(buf.slice(0, nl)));
      });
      child.once('exit', (code) => reject(new Error(`the server exited (${code}) before answering`)));
      child.stdin?.write(
        `${JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'server/discover',
          params: {
            _meta: {
              'io.modelcontextprotocol/protocolVersion': PIN,
              'io.modelcontextprotocol/clientInfo': { name: 'probe', version: '1' },
              'io.modelcontextprotocol/clientCapabilities': {},
            },
          },
        })}\n`,
      );
    });
    const result = answer.result as { supportedVersions?: string[] } | undefined;
    assert.ok(result?.supportedVersions?.includes(PIN), JSON.stringify(answer));
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    const left = existsSync(home) ? readdirSync(home) : [];
    assert.ok(!left.some((f) => f.startsWith('ledger')), `the probe opened the ledger: ${left.join(', ')}`);
    // The same start used for real opens it: the check above can fail.
    const real = await legacyFace(
      new Stdio1({ command: process.execPath, args: [BIN], env: env.env, stderr: 'ignore' }),
    );
    try {
      data(await real.call('list_tasks', {}));
    } finally {
      await real.close();
    }
    assert.ok(
      readdirSync(home).some((f) => f.startsWith('ledger')),
      'a real session opens the ledger',
    );
  } finally {
    env.cleanup();
  }
});
