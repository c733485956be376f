// Black-box helpers for several instances on one PostgreSQL ledger: instances (HTTP, stdio, "another
// machine"), a TCP proxy in front of PostgreSQL that the test can cut or freeze, a fake PostgreSQL that
// asks for a password and refuses it, and timing helpers.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import pg from 'pg';
import { PG_ADMIN_URL, type PgTestDatabase, pgSkip, pgTestDatabase } from '../helpers/pg.js';
import { within } from '../helpers/wait.js';
import { CANARY, CLI, call, type Mcp, mediaPair, startMcp, type ToolOut } from './helpers.js';

export { PG_ADMIN_URL, type PgTestDatabase, pgSkip, pgTestDatabase };

/** The database password planted in every URL: it must never appear in any output. */
export const PG_PASSWORD = 'pgpw-CANARY-3e8d1c7b9a';

/** The URL with a password (the test cluster trusts loopback, so any password connects). */
export function withPassword(url: string, password = PG_PASSWORD): string {
  const u = new URL(url);
  u.password = encodeURIComponent(password);
  return u.href;
}

const written = new Map<string, { video: string; audio: string }>();
/**
 * mediaPair, written once per folder/seed/prefix: rewriting a file while an instance still reads it
 * (uploads go on in the background) would test the test, not the product.
 */
export function mediaOnce(dir: string, seed: number, prefix = `m${seed}`): { video: string; audio: string } {
  const k = `${dir}/${prefix}`;
  if (!written.has(k)) written.set(k, mediaPair(dir, seed, prefix));
  return written.get(k)!;
}

/** Runs one statement on a database (for checks on documented tables only). */
export async function pgQuery<T = Record<string, unknown>>(url: string, sql: string): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(sql)).rows as T[];
  } finally {
    await c.end();
  }
}

export interface Instance {
  name: string;
  mcp: Mcp;
  proc: ChildProcess;
  stderr: () => string;
  /** Resolves when the process has exited (code, signal). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill: (sig?: NodeJS.Signals) => Promise<void>;
  alive: () => boolean;
  /**
   * Resolves with the first log line (stderr/stdout) matching `re`, already written or still to come
   * (lines before `from`, a length of `stderr()`, are skipped); fails with `never happened: <what>` at
   * the hang guard, or when the instance exits first.
   */
  logLine: (re: RegExp, what: string, from?: number, guardMs?: number) => Promise<string>;
  /** SIGSTOP / SIGCONT the whole instance (a long GC pause, a frozen VM). */
  pause: () => void;
  resume: () => void;
}

function exitPromise(p: ChildProcess): Instance['exited'] {
  return new Promise((res) => {
    if (p.exitCode !== null || p.signalCode !== null) res({ code: p.exitCode, signal: p.signalCode });
    else p.once('exit', (code, signal) => res({ code, signal }));
  });
}

/** Whether instances can be run as "another machine" (own host name and pid space): needs root + unshare. */
export const otherHostSkip: string | false = (() => {
  try {
    execFileSync('unshare', ['--uts', '--pid', '--fork', 'true'], { stdio: 'ignore' });
    return false;
  } catch {
    return 'needs unshare --uts --pid (root) to run an instance as another machine';
  }
})();

/** A pid that no process on this machine has, so a naive local "is it alive?" says no. */
function freeLocalPid(from = 20): number {
  for (let p = from; p < 3000; p++) if (!existsSync(`/proc/${p}`)) return p;
  return 3000;
}

export interface HttpOpts {
  name?: string;
  /** Run as another machine: its own host name, and a pid that does not exist here. */
  otherHost?: string;
}

/** Starts `serve --http --port 0` and connects an SDK client with the bearer token in env. */
export async function startHttp(env: Record<string, string>, opts: HttpOpts = {}): Promise<Instance> {
  const node = process.execPath;
  let proc: ChildProcess;
  if (opts.otherHost) {
    // In a new pid namespace: sh is 1, hostname 2, then N x true, then node: make node's pid one
    // that does not exist on this machine.
    const target = freeLocalPid();
    const burn = Math.max(0, target - 3);
    const script = `hostname ${opts.otherHost}; i=0; while [ $i -lt ${burn} ]; do /bin/true; i=$((i+1)); done; "${node}" "${CLI}" serve --http --port 0; exit $?`;
    // Its own process group, so pause()/resume() reach the server inside the namespace.
    proc = spawn('unshare', ['--uts', '--pid', '--fork', '--kill-child', 'sh', '-c', script], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
  } else {
    proc = spawn(node, [CLI, 'serve', '--http', '--port', '0'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  }
  let err = '';
  const exited = exitPromise(proc);
  const url = await new Promise<URL>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`serve did not listen in 60 s: ${err.slice(-800)}`)), 60_000);
    const check = () => {
      const m = /"listening":"([^"]+)"/.exec(err);
      if (m) {
        clearTimeout(t);
        resolve(new URL(m[1]!));
      }
    };
    proc.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
      check();
    });
    proc.stdout?.on('data', (d: Buffer) => {
      err += d.toString();
      check();
    });
    void exited.then((e) => {
      clearTimeout(t);
      reject(new Error(`serve exited (${e.code ?? e.signal}): ${err.slice(-800)}`));
    });
  });
  const token = env.LIPSYNC_HTTP_TOKEN;
  const client = new Client({ name: `pg-tester-${opts.name ?? 'http'}`, version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(url, {
      requestInit: token ? { headers: { authorization: `Bearer ${token}` } } : {},
    }),
  );
  const mcp: Mcp = {
    client,
    proc,
    stderr: () => err,
    close: async () => {
      await client.close().catch(() => undefined);
    },
  };
  return instance(opts.name ?? 'http', mcp, proc, () => err, exited);
}

export async function startStdio(env: Record<string, string>, name = 'stdio'): Promise<Instance> {
  const m = await startMcp(env);
  const proc = m.proc!;
  return instance(name, m, proc, m.stderr, exitPromise(proc));
}

function instance(
  name: string,
  mcp: Mcp,
  proc: ChildProcess,
  stderr: () => string,
  exited: Instance['exited'],
): Instance {
  let dead = false;
  void exited.then(() => {
    dead = true;
  });
  const logLine: Instance['logLine'] = (re, what, from = 0, guardMs) => {
    const find = () =>
      stderr()
        .slice(from)
        .split('\n')
        .find((l) => re.test(l));
    let stop = () => {};
    const seen = new Promise<string>((resolve, reject) => {
      // A turn later: a stdio instance's text reaches stderr() through a pipe after this chunk's event.
      const look = () =>
        setImmediate(() => {
          const l = find();
          if (l !== undefined) resolve(l);
        });
      const gone = () => reject(new Error(`never happened: ${what} (${name} exited)`));
      // After the instance's own listeners (registered when it started): stderr() already holds the chunk.
      proc.stderr?.on('data', look);
      proc.stdout?.on('data', look);
      void exited.then(() => {
        const l = find();
        if (l !== undefined) resolve(l);
        else gone();
      });
      stop = () => {
        proc.stderr?.off('data', look);
        proc.stdout?.off('data', look);
      };
      look();
    });
    return within(seen, what, guardMs).finally(stop);
  };
  return {
    name,
    mcp,
    proc,
    stderr,
    exited,
    logLine,
    alive: () => !dead,
    pause: () => {
      process.kill(-proc.pid!, 'SIGSTOP');
    },
    resume: () => {
      process.kill(-proc.pid!, 'SIGCONT');
    },
    kill: async (sig: NodeJS.Signals = 'SIGTERM') => {
      if (dead) return;
      try {
        process.kill(-proc.pid!, 'SIGCONT');
      } catch {
        /* not a group leader: a plain child */
      }
      proc.kill(sig);
      // A graceful stop that never ends is ended the way an orchestrator would (after 20 s).
      const t = sig === 'SIGKILL' ? undefined : setTimeout(() => proc.kill('SIGKILL'), 20_000);
      await exited;
      if (t) clearTimeout(t);
      await mcp.close();
    },
  };
}

export async function stopAll(xs: Array<Instance | undefined>): Promise<void> {
  await Promise.all(xs.map((x) => x?.kill('SIGKILL')));
}

/** A tool call and how long it took. */
export async function timedCall(
  i: Instance,
  name: string,
  args: Record<string, unknown>,
  timeout = 62_000,
): Promise<ToolOut & { ms: number; threw?: string }> {
  const t0 = Date.now();
  try {
    const r = await call(i.mcp, name, args, timeout);
    return { ...r, ms: Date.now() - t0 };
  } catch (e) {
    return {
      isError: true,
      text: String((e as Error).message),
      data: {},
      raw: undefined,
      ms: Date.now() - t0,
      threw: String((e as Error).message),
    };
  }
}

/**
 * Repeats a step until it returns a value. Each step is a tool call that itself waits on the product
 * (a status or create call with `wait_seconds`: it answers when the task changes, or at the end of its
 * wait), so the loop is paced by the instance, not by a timer, and bounded by a number of steps (a
 * hang guard: a slow machine makes each step slower, never fewer). Fails with `never happened: <what>`.
 */
export async function until<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  { steps = 30, note = () => '' }: { steps?: number; note?: () => string } = {},
): Promise<T> {
  let last: unknown;
  for (let i = 0; i < steps; i++) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      if ((e as { code?: string }).code === 'ERR_ASSERTION') throw e;
      last = e;
    }
  }
  throw new Error(
    `never happened: ${what} (${steps} steps)${last ? `: ${String(last)}` : ''} ${note()}`.trim(),
  );
}

/** Every planted secret (provider keys, HTTP token, database password, encoded too) found in text. */
export function pgLeaks(text: string): string[] {
  const secrets = [...Object.values(CANARY), PG_PASSWORD, encodeURIComponent(PG_PASSWORD)];
  return [...new Set(secrets.filter((c) => text.includes(c)))];
}

/** Every planted secret found in any file under dir (ledger files, caches, outputs). */
export function pgLeaksInTree(dir: string): string[] {
  const found = new Set<string>();
  const walk = (d: string) => {
    if (!existsSync(d)) return;
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (st.size < 50_000_000)
        for (const l of pgLeaks(readFileSync(p).toString('latin1'))) found.add(`${l} in ${p}`);
    }
  };
  walk(dir);
  return [...found];
}

type Mode = 'pass' | 'down' | 'frozen';

/**
 * A TCP proxy in front of PostgreSQL. `down()` drops every connection and refuses new ones (the
 * server is gone); `freeze()` keeps connections open but lets no byte through (a network partition);
 * `heal()` brings it back (frozen bytes are delivered).
 */
export class PgProxy {
  private server: Server;
  private pairs = new Set<{ a: Socket; b: Socket; qa: Buffer[]; qb: Buffer[] }>();
  private mode: Mode = 'pass';
  port = 0;
  accepted = 0;

  constructor(
    private host: string,
    private targetPort: number,
  ) {
    this.server = this.make();
  }

  static forUrl(url: string): PgProxy {
    const u = new URL(url);
    return new PgProxy(u.hostname, Number(u.port || 5432));
  }

  private make(): Server {
    return createServer((a) => {
      this.accepted++;
      if (this.mode === 'down') {
        a.destroy();
        return;
      }
      const b = tcpConnect(this.targetPort, this.host);
      const pair = { a, b, qa: [] as Buffer[], qb: [] as Buffer[] };
      this.pairs.add(pair);
      a.on('data', (d: Buffer) => {
        if (this.mode === 'frozen') pair.qa.push(d);
        else b.write(d);
      });
      b.on('data', (d: Buffer) => {
        if (this.mode === 'frozen') pair.qb.push(d);
        else a.write(d);
      });
      const end = () => {
        a.destroy();
        b.destroy();
        this.pairs.delete(pair);
      };
      a.on('close', end);
      b.on('close', end);
      a.on('error', end);
      b.on('error', end);
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(this.port, '127.0.0.1', () => r()));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  /** The database URL with host:port pointing at the proxy. */
  url(dbUrl: string): string {
    const u = new URL(dbUrl);
    u.hostname = '127.0.0.1';
    u.port = String(this.port);
    return u.href;
  }

  /** PostgreSQL is gone: connections reset, new ones refused (the port is closed). */
  async down(): Promise<void> {
    this.mode = 'down';
    for (const p of this.pairs) {
      p.a.destroy();
      p.b.destroy();
    }
    this.pairs.clear();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  /** A partition: nothing passes, nothing is closed. */
  freeze(): void {
    this.mode = 'frozen';
  }

  async heal(): Promise<void> {
    const wasDown = this.mode === 'down';
    this.mode = 'pass';
    for (const p of this.pairs) {
      for (const d of p.qa.splice(0)) p.b.write(d);
      for (const d of p.qb.splice(0)) p.a.write(d);
    }
    if (wasDown) {
      this.server = this.make();
      await this.start();
    }
  }

  get open(): number {
    return this.pairs.size;
  }

  async close(): Promise<void> {
    this.mode = 'down';
    for (const p of this.pairs) {
      p.a.destroy();
      p.b.destroy();
    }
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

/**
 * A fake PostgreSQL server that asks for a cleartext password, records it, and refuses it the way a
 * real server does (SQLSTATE 28P01). Tells whether the client sent the password to it.
 */
export class FakePgAuth {
  private server: Server;
  readonly passwords: string[] = [];
  readonly users: string[] = [];
  port = 0;

  /** 'password': asks for a password and refuses it; 'tooMany': refuses the connection at once (53300). */
  constructor(private mode: 'password' | 'tooMany' = 'password') {
    this.server = createServer((s) => this.handle(s));
  }

  private static error(code: string, message: string): Buffer {
    const fields = ['SFATAL', 'VFATAL', `C${code}`, `M${message}`, 'Fpostmaster.c', 'L1', 'Rx'];
    const payload = Buffer.from(`${fields.join('\0')}\0\0`, 'utf8');
    const e = Buffer.alloc(5);
    e.write('E', 0);
    e.writeInt32BE(4 + payload.length, 1);
    return Buffer.concat([e, payload]);
  }

  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  private handle(s: Socket): void {
    let buf = Buffer.alloc(0);
    let started = false;
    s.on('error', () => undefined);
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        if (!started) {
          if (buf.length < 8) return;
          const len = buf.readInt32BE(0);
          if (buf.length < len) return;
          const code = buf.readInt32BE(4);
          const body = buf.subarray(8, len);
          buf = buf.subarray(len);
          if (code === 80877103 || code === 80877104) {
            s.write('N'); // no SSL / GSS
            continue;
          }
          const parts = body.toString('utf8').split('\0');
          const ui = parts.indexOf('user');
          if (ui >= 0) this.users.push(parts[ui + 1] ?? '');
          started = true;
          if (this.mode === 'tooMany') {
            s.end(FakePgAuth.error('53300', 'sorry, too many clients already'));
            return;
          }
          const r = Buffer.alloc(9);
          r.write('R', 0);
          r.writeInt32BE(8, 1);
          r.writeInt32BE(3, 5); // AuthenticationCleartextPassword
          s.write(r);
          continue;
        }
        if (buf.length < 5) return;
        const type = String.fromCharCode(buf[0]!);
        const len = buf.readInt32BE(1);
        if (buf.length < 1 + len) return;
        const body = buf.subarray(5, 1 + len);
        buf = buf.subarray(1 + len);
        if (type === 'p') {
          this.passwords.push(body.toString('utf8').replace(/\0$/, ''));
          const user = this.users.at(-1) ?? '';
          s.end(FakePgAuth.error('28P01', `password authentication failed for user "${user}"`));
          return;
        }
      }
    });
  }

  async close(): Promise<void> {
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

/** Env for an instance on the shared database (own home = own machine's disk). */
export function instanceEnv(base: Record<string, string>, dbUrl: string): Record<string, string> {
  return {
    ...base,
    LIPSYNC_DATABASE_URL: dbUrl,
    LIPSYNC_HTTP_TOKEN: CANARY.http,
    JOGG_LIP_SYNC_DEFAULT_POLL_INTERVAL_SECONDS: '1',
  };
}
