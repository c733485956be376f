// Black-box helpers for the shipped command (dist/bin/lipsync-mcp.js): a raw JSON-RPC stdio driver that
// keeps every stdout line (so a non-JSON-RPC line is caught), and an install of the packed tarball into a
// temp project whose path contains spaces, with node_modules/.bin/lipsync-mcp as npm makes it.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const BIN = resolve('dist/bin/lipsync-mcp.js');
export const REPO = resolve('.');

/** Runs a program to its end (stdin closed) and collects its output. */
export function runProgram(
  cmd: string,
  args: string[],
  env: Record<string, string>,
  cwd?: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((res) => {
    const p = spawn(cmd, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    p.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    p.on('close', (code) => res({ code, stdout, stderr }));
  });
}

export interface RpcMsg {
  jsonrpc?: string;
  id?: number | string;
  method?: string;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: { code: number; message: string; data?: unknown };
}

export class Raw {
  /** Every server started, so a failed test's server can be stopped in an after hook. */
  static readonly all = new Set<Raw>();
  static killAll(): void {
    for (const r of Raw.all)
      if (r.proc.exitCode === null && r.proc.signalCode === null) r.proc.kill('SIGKILL');
    Raw.all.clear();
  }
  readonly proc: ChildProcess;
  readonly lines: string[] = [];
  readonly badLines: string[] = [];
  readonly messages: RpcMsg[] = [];
  err = '';
  private buf = '';
  private waiters: Array<() => void> = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(bin: string, env: Record<string, string>, args: string[] = [], cwd?: string) {
    this.proc = spawn(process.execPath, [bin, ...args], { env, cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    Raw.all.add(this);
    this.proc.stdout?.on('data', (d: Buffer) => {
      this.buf += d.toString();
      let i = this.buf.indexOf('\n');
      while (i >= 0) {
        const line = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 1);
        this.lines.push(line);
        try {
          const m = JSON.parse(line) as RpcMsg;
          if (m.jsonrpc !== '2.0') this.badLines.push(line);
          this.messages.push(m);
        } catch {
          this.badLines.push(line);
        }
        i = this.buf.indexOf('\n');
      }
      this.wake();
    });
    this.proc.stderr?.on('data', (d: Buffer) => {
      this.err += d.toString();
      this.wake();
    });
    this.proc.stdin?.on('error', () => undefined);
    this.exited = new Promise((res) => this.proc.on('close', (code, signal) => res({ code, signal })));
    this.exited.then(() => this.wake());
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves when pred holds, checked on every output chunk; rejects after a generous hang guard. */
  until<T>(pred: () => T | undefined | false, what: string, guardMs = 60_000): Promise<T> {
    return new Promise((res, rej) => {
      const t = setTimeout(
        () => rej(new Error(`hang guard: no ${what} after ${guardMs} ms; stderr: ${this.err.slice(-800)}`)),
        guardMs,
      );
      const check = () => {
        const v = pred();
        if (v) {
          clearTimeout(t);
          res(v);
        } else if (this.proc.exitCode !== null || this.proc.signalCode !== null) {
          const again = pred();
          clearTimeout(t);
          if (again) res(again);
          else rej(new Error(`process exited before ${what}; stderr: ${this.err.slice(-800)}`));
        } else this.waiters.push(check);
      };
      check();
    });
  }

  send(m: RpcMsg | string): void {
    this.proc.stdin?.write(`${typeof m === 'string' ? m : JSON.stringify({ jsonrpc: '2.0', ...m })}\n`);
  }

  answer(id: number | string, guardMs?: number): Promise<RpcMsg> {
    return this.until(
      () => this.messages.find((m) => m.id === id && m.method === undefined),
      `answer to ${id}`,
      guardMs,
    );
  }

  request(
    id: number,
    method: string,
    params: Record<string, unknown> = {},
    guardMs?: number,
  ): Promise<RpcMsg> {
    this.send({ id, method, params });
    return this.answer(id, guardMs);
  }

  async init(initialized = true): Promise<RpcMsg> {
    const a = await this.request(900_001, 'initialize', {
      protocolVersion: '2025-06-18',
      capabilities: {},
      clientInfo: { name: 'bundle-tester', version: '1.0.0' },
    });
    if (initialized) this.send({ method: 'notifications/initialized' });
    return a;
  }

  call(id: number, name: string, args: unknown, guardMs?: number): Promise<RpcMsg> {
    return this.request(id, 'tools/call', { name, arguments: args }, guardMs);
  }

  async close(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    this.proc.stdin?.end();
    const guard = setTimeout(() => this.proc.kill('SIGKILL'), 20_000);
    const r = await this.exited;
    clearTimeout(guard);
    return r;
  }
}

/** Text of a tools/call result, and its parsed error object if any. */
export function resultText(m: RpcMsg): string {
  const content = (m.result?.content ?? []) as Array<{ text?: string }>;
  return content.map((c) => c.text ?? '').join('\n');
}

export function structured(m: RpcMsg): Record<string, unknown> {
  const s = m.result?.structuredContent as Record<string, unknown> | undefined;
  if (s) return s;
  try {
    return JSON.parse(resultText(m)) as Record<string, unknown>;
  } catch {
    return {};
  }
}

export interface Installed {
  project: string;
  /** node_modules/.bin/lipsync-mcp: a symlink, as npm installs it. */
  binLink: string;
}

/**
 * npm pack, then unpack into "<tmp>/dir with spaces/proj/node_modules/lipsync-mcp" with a .bin symlink;
 * dependencies come from the checkout's node_modules, linked one folder above the project (no network).
 */
export function installPacked(): Installed {
  const root = mkdtempSync(join(tmpdir(), 'lipsync bundle '));
  const outer = join(root, 'dir with spaces');
  const project = join(outer, 'proj');
  const pkgDir = join(project, 'node_modules', 'lipsync-mcp');
  mkdirSync(pkgDir, { recursive: true });
  mkdirSync(join(project, 'node_modules', '.bin'), { recursive: true });
  const packDir = join(root, 'pack');
  mkdirSync(packDir);
  execFileSync('npm', ['pack', '--silent', '--pack-destination', packDir], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const tgz = readdirSync(packDir).find((n) => n.endsWith('.tgz'));
  if (!tgz) throw new Error('npm pack made no tarball');
  execFileSync('tar', ['-xzf', join(packDir, tgz), '-C', pkgDir, '--strip-components=1']);
  symlinkSync(join(REPO, 'node_modules'), join(outer, 'node_modules'));
  const binLink = join(project, 'node_modules', '.bin', 'lipsync-mcp');
  symlinkSync('../lipsync-mcp/dist/bin/lipsync-mcp.js', binLink);
  chmodSync(join(pkgDir, 'dist', 'bin', 'lipsync-mcp.js'), 0o755); // what npm install does for a bin
  return { project, binLink };
}
