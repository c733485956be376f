// Black-box helpers for the issue-24 surface tests: the shipped bin over stdio with the 1.x SDK client
// (optionally with elicitation), JSON-RPC error capture, a local task, a >10 MiB real video.
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { BIN } from './bundle-helpers.js';
import { call, type Home, type Mcp, mediaPair, type ToolOut, wav } from './helpers.js';

export { BIN };

export interface BinOpts {
  /** Declare elicitation and answer every request with this action. */
  elicit?: 'accept' | 'decline' | 'cancel';
  args?: string[];
}

export interface BinMcp extends Mcp {
  elicitations: unknown[];
}

/** The shipped bin (dist/bin/lipsync-mcp.js) over stdio, with the 1.x SDK client. */
export async function startBin(env: Record<string, string>, opts: BinOpts = {}): Promise<BinMcp> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BIN, ...(opts.args ?? [])],
    env,
    stderr: 'pipe',
  });
  let err = '';
  transport.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const client = new Client(
    { name: 'surfaces-tester', version: '1.0.0' },
    { capabilities: opts.elicit ? { elicitation: { form: {} } } : {} },
  );
  const elicitations: unknown[] = [];
  if (opts.elicit) {
    const action = opts.elicit;
    client.setRequestHandler(ElicitRequestSchema, async (req) => {
      elicitations.push(req.params);
      return action === 'accept' ? { action, content: {} } : { action };
    });
  }
  await client.connect(transport);
  const proc = (transport as unknown as { _process?: ChildProcess })._process;
  return {
    client,
    proc,
    elicitations,
    stderr: () => err,
    close: async () => {
      await client.close().catch(() => undefined);
    },
  };
}

export interface RpcError {
  code: number;
  message: string;
}

/** Runs a request that must be refused with a JSON-RPC error; fails (with what came) if it answered. */
export async function rpcError(what: string, p: Promise<unknown>): Promise<RpcError> {
  try {
    const r = await p;
    assert.fail(`${what}: expected a JSON-RPC error, got a result: ${JSON.stringify(r).slice(0, 400)}`);
  } catch (e) {
    if (e instanceof assert.AssertionError) throw e;
    const x = e as { code?: unknown; message?: unknown };
    return { code: Number(x.code), message: String(x.message) };
  }
}

/** Asserts a JSON-RPC error is "invalid params" (-32602). */
export function assertInvalidParams(what: string, e: RpcError): void {
  assert.equal(
    e.code,
    -32602,
    `${what}: expected JSON-RPC -32602 invalid params, got ${e.code}: ${e.message}`,
  );
}

/** The server still answers (ping) within a bound. */
export async function stillAnswers(m: Mcp, what: string): Promise<void> {
  await m.client.ping({ timeout: 15_000 }).catch((e: Error) => {
    assert.fail(`server stopped answering after ${what}: ${e.message}`);
  });
}

function ffmpeg(): string {
  const req = createRequire(import.meta.url);
  return (req('@ffmpeg-installer/ffmpeg') as { path: string }).path;
}

const cache = join(tmpdir(), 'lipsync-indep-media-cache');
/** A real, ~12.5 MiB mp4 (lossless noise, 640x480, 26 frames). */
export function bigVideo(): string {
  const p = join(cache, 'big-12mib.mp4');
  if (!existsSync(p)) {
    mkdirSync(cache, { recursive: true });
    const tmp = `${p}.${process.pid}.mp4`;
    execFileSync(ffmpeg(), [
      '-y',
      '-loglevel',
      'error',
      '-f',
      'lavfi',
      '-i',
      'nullsrc=s=640x480:r=10:d=2.6,geq=random(1)*255:128:128',
      '-pix_fmt',
      'yuv420p',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-qp',
      '0',
      tmp,
    ]);
    execFileSync('mv', [tmp, p]);
  }
  return p;
}

/** Creates a local lip-sync task from video (or a small default) and waits for its end (bounded). */
export async function localTask(m: Mcp, h: Home, seed: number, video?: string): Promise<string> {
  const pair = mediaPair(h.media, seed);
  if (video) execFileSync('cp', [video, pair.video]);
  writeFileSync(pair.audio, wav(seed));
  const r = await call(m, 'create_lip_sync', {
    video: pair.video,
    audio: pair.audio,
    provider: 'local',
    align: 'off',
    wait_seconds: 30,
  });
  assert.equal(r.isError, false, `local create failed: ${r.text}`);
  const id = String(r.data.task_id);
  let s: ToolOut = r;
  for (let i = 0; i < 20 && !['success', 'failed'].includes(String(s.data.status)); i++)
    s = await call(m, 'get_task_status', { task_id: id, wait_seconds: 30 });
  assert.equal(s.data.status, 'success', `local task never succeeded: ${s.text}`);
  return id;
}

/** Parses a tool result's error object: { code, message, hint } (empty when the text is not that JSON). */
export function toolError(o: ToolOut): { code?: string; message?: string; hint?: string } {
  try {
    const j = JSON.parse(o.text) as { error?: { code?: string; message?: string; hint?: string } };
    return j.error ?? {};
  } catch {
    return {};
  }
}

/** `serve --http` on 127.0.0.1, port 0; resolves with its URL once listening. */
export function serveHttp(
  env: Record<string, string>,
): Promise<{ proc: ChildProcess; url: URL; stderr: () => string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [BIN, 'serve', '--http', '--port', '0'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let all = '';
    const guard = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`serve --http never said where it listens: ${all.slice(-500)}`));
    }, 30_000);
    const check = (d: Buffer) => {
      all += d.toString();
      const m = /"listening":"([^"]+)"/.exec(all);
      if (m) {
        clearTimeout(guard);
        resolve({ proc, url: new URL(m[1]!), stderr: () => all });
      }
    };
    proc.stderr.on('data', check);
    proc.stdout.on('data', check);
    proc.on('exit', (c) => {
      clearTimeout(guard);
      reject(new Error(`serve exited ${c}: ${all.slice(-500)}`));
    });
  });
}
