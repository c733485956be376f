// The shipped command as users run it: packed with `npm pack`, unpacked into a project whose path has
// spaces, started through node_modules/.bin/lipsync-mcp (a symlink) from another working directory.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TOOL_CATALOG } from '../../tools/catalog.js';
import { espeakSkip } from '../helpers/system-tools.js';
import {
  type Installed,
  installPacked,
  Raw,
  type RpcMsg,
  resultText,
  runProgram,
  structured,
} from './bundle-helpers.js';
import { type Home, leaks, makeHome, mediaPair, STACK } from './helpers.js';

const runBin = runProgram;

/** Polls get_task_status (wait_seconds 50) until the task is terminal; every answer is an event. */
async function untilDone(s: Raw, taskId: string, idBase: number): Promise<Record<string, unknown>> {
  for (let i = 0; i < 20; i++) {
    const a = await s.call(idBase + i, 'get_task_status', { task_id: taskId, wait_seconds: 50 }, 70_000);
    const d = structured(a);
    if (d.status === 'success' || d.status === 'failed') return d;
  }
  throw new Error(`task ${taskId} did not finish`);
}

describe('bundle: packed, installed under a path with spaces, run through the .bin symlink', () => {
  let inst: Installed;
  let h: Home;
  before(() => {
    inst = installPacked();
    h = makeHome({ LIPSYNC_LOG_LEVEL: 'info' });
  });
  after(() => Raw.killAll());

  test('the .bin symlink runs directly (shebang) from another cwd: --version is the package version', async () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    const r = await runBin(inst.binLink, ['--version'], h.env, h.root);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), pkg.version);
  });

  test('doctor --json through the symlink: one JSON document, local configured', async () => {
    const r = await runBin(process.execPath, [inst.binLink, 'doctor', '--json'], h.env, h.root);
    assert.equal(r.code, 0, r.stderr);
    const d = JSON.parse(r.stdout) as { providers: Array<{ name: string; configured: boolean }> };
    assert.equal(d.providers.find((p) => p.name === 'local')?.configured, true);
    assert.doesNotMatch(r.stderr, STACK);
  });

  test('stdio through the symlink: tools/list equals the generated catalog, stdout is JSON-RPC only', async () => {
    const s = new Raw(inst.binLink, h.env, [], h.root);
    await s.init();
    const a = await s.request(2, 'tools/list');
    const names = ((a.result?.tools ?? []) as Array<{ name: string }>).map((t) => t.name);
    assert.deepEqual(
      names,
      TOOL_CATALOG.map((t) => t.name),
    );
    await s.close();
    assert.deepEqual(s.badLines, []);
  });

  test('a local job end to end over MCP through the installed bundle (worker process included)', async () => {
    const p = mediaPair(h.media, 501);
    const s = new Raw(inst.binLink, h.env, [], h.root);
    await s.init();
    const c = await s.call(2, 'create_lip_sync', { video: p.video, audio: p.audio, provider: 'local' });
    assert.notEqual(c.result?.isError, true, resultText(c));
    const taskId = String(structured(c).task_id);
    const done = await untilDone(s, taskId, 10);
    assert.equal(done.status, 'success', JSON.stringify(done));
    const d = await s.call(40, 'download_result', { task_id: taskId });
    assert.notEqual(d.result?.isError, true, resultText(d));
    const path = String(structured(d).path ?? structured(d).file ?? '');
    assert.ok(path && existsSync(path) && statSync(path).size > 0, resultText(d));
    await s.close();
    assert.deepEqual(s.badLines, []);
  });

  test('offline speech (generate_audio kind speech, provider local) through the installed bundle', {
    skip: espeakSkip,
  }, async () => {
    const s = new Raw(inst.binLink, h.env, [], h.root);
    await s.init();
    const c = await s.call(2, 'generate_audio', {
      kind: 'speech',
      provider: 'local',
      text: 'Hello from the installed bundle.',
    });
    assert.notEqual(c.result?.isError, true, resultText(c));
    const taskId = String(structured(c).task_id);
    const done = await untilDone(s, taskId, 10);
    assert.equal(done.status, 'success', JSON.stringify(done));
    const d = await s.call(40, 'download_result', { task_id: taskId });
    const path = String(structured(d).path ?? '');
    assert.ok(existsSync(path), resultText(d));
    assert.equal(readFileSync(path).subarray(0, 4).toString(), 'RIFF');
    await s.close();
    assert.deepEqual(s.badLines, []);
  });

  test('run --video V --audio A --provider local through the symlink: exactly one JSON object, success', async () => {
    const p = mediaPair(h.media, 502);
    const r = await runBin(
      inst.binLink,
      ['run', '--video', p.video, '--audio', p.audio, '--provider', 'local', '--poll-interval-seconds', '1'],
      h.env,
      h.root,
    );
    assert.equal(r.code, 0, r.stderr.slice(-1000));
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 1, r.stdout);
    const o = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
    assert.equal(o.status, 'success', r.stdout);
    assert.equal(o.completed, true);
  });

  test('demo through the installed bundle (sample media found inside the package)', async () => {
    const hd = makeHome({ LIPSYNC_LOG_LEVEL: 'warn' });
    const r = await runBin(process.execPath, [inst.binLink, 'demo'], hd.env, hd.root);
    assert.equal(r.code, 0, r.stderr.slice(-1500));
    assert.match(r.stdout, /success/);
    assert.doesNotMatch(r.stdout + r.stderr, STACK);
  });

  test('serve --http --port 0 through the symlink: answers initialize, stops on SIGTERM', async () => {
    const env = { ...h.env, JOGG_API_KEY: 'jogg-CANARY-7f3a9c1e5b' };
    const s = new Raw(inst.binLink, env, ['serve', '--http', '--port', '0'], h.root);
    const url = await s.until(() => {
      const m = /"listening":"([^"]+)"/.exec(s.err + s.lines.join('\n'));
      return m?.[1];
    }, 'listening line');
    const body = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
    });
    const answer = await new Promise<{ status: number; text: string }>((res, rej) => {
      const r = request(
        url,
        {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
          },
        },
        (resp) => {
          let t = '';
          resp.on('data', (d: Buffer) => {
            t += d.toString();
          });
          resp.on('end', () => res({ status: resp.statusCode ?? 0, text: t }));
        },
      );
      r.on('error', rej);
      r.end(body);
    });
    assert.equal(answer.status, 200, answer.text);
    assert.match(answer.text, /"serverInfo"/);
    s.proc.kill('SIGTERM');
    const ex = await s.exited;
    assert.ok(ex.code === 0 || ex.signal === 'SIGTERM', JSON.stringify(ex));
    assert.deepEqual(leaks(s.err + s.lines.join('\n')), []);
  });

  test('the stdio server started with `node <path with spaces>` answers the handshake', async () => {
    const real = join(inst.project, 'node_modules', 'lipsync-mcp', 'dist', 'bin', 'lipsync-mcp.js');
    assert.match(real, / /);
    const s = new Raw(real, h.env, [], h.root);
    const a: RpcMsg = await s.init();
    assert.equal((a.result?.serverInfo as { name?: string })?.name, 'lipsync-mcp');
    await s.close();
    assert.deepEqual(s.badLines, []);
  });
});
