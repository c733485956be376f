/**
 * Black-box harness for the attack suite: starts the built CLI (`serve --http --port 0`) on loopback with
 * a temp LIPSYNC_HOME, waits for its `{"listening": url}` line on stderr (an event, with a hang guard),
 * and talks to it with plain fetch. Knows nothing of the product's modules.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI } from '../helpers/spawn.js';
import { Heard, within } from '../helpers/wait.js';

export interface Served {
  url: string;
  origin: string;
  root: string;
  work: string;
  /** Every stderr line so far (bounded by Heard). */
  lines: Heard<string>;
  stderr(): string;
  stop(): Promise<void>;
}

export async function serve(extra: Record<string, string> = {}, args: string[] = []): Promise<Served> {
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'lipsync-attack-')));
  const home = join(root, 'home');
  const work = join(home, 'work');
  mkdirSync(work, { recursive: true });
  const env: Record<string, string> = {
    HOME: home,
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    LIPSYNC_HOME: join(root, 'lipsync'),
    LIPSYNC_ALLOWED_DIRS: home,
    LIPSYNC_LOG_LEVEL: 'info',
    ...extra,
  };
  const child: ChildProcess = spawn(process.execPath, [CLI, 'serve', '--http', '--port', '0', ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines = new Heard<string>();
  let all = '';
  let partial = '';
  child.stderr?.on('data', (d: Buffer) => {
    all = (all + d.toString()).slice(-200_000);
    partial += d.toString();
    const parts = partial.split('\n');
    partial = parts.pop() ?? '';
    for (const p of parts) lines.push(p);
  });
  child.stdout?.resume();
  const exited = new Promise<string>((resolve) =>
    child.once('exit', (code) => resolve(`exited ${code}: ${all.slice(-2000)}`)),
  );
  const listening = lines.when((l) => l.includes('"listening"'), 'serve --http prints its URL', 120_000);
  const first = await Promise.race([listening, exited]);
  if (!first.includes('"listening"')) throw new Error(`serve --http did not start: ${first}`);
  const url = (JSON.parse(first) as { listening: string }).listening;
  return {
    url,
    origin: new URL(url).origin,
    root,
    work,
    lines,
    stderr: () => all,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await within(exited, 'serve --http exits on SIGTERM', 60_000).catch(() => child.kill('SIGKILL'));
      }
      rmSync(root, { recursive: true, force: true, maxRetries: 5 });
    },
  };
}

export const V26 = '2026-07-28';
export const V25 = '2025-11-25';
export const TASKS_EXT = 'io.modelcontextprotocol/tasks';

/** The 2026-07-28 per-request envelope. */
export function meta26(capabilities: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    'io.modelcontextprotocol/protocolVersion': V26,
    'io.modelcontextprotocol/clientInfo': { name: 'attack', version: '1.0.0' },
    'io.modelcontextprotocol/clientCapabilities': capabilities,
  };
}

/** A header value as the 2026 spec's Value Encoding asks: plain visible ASCII, else the base64 sentinel. */
export function headerValue(v: string): string {
  const plain =
    /^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/.test(v) && !(v.startsWith('=?base64?') && v.endsWith('?='));
  return plain ? v : `=?base64?${Buffer.from(v, 'utf8').toString('base64')}?=`;
}

export function headers26(method: string, name?: string): Record<string, string> {
  return {
    'mcp-protocol-version': V26,
    'mcp-method': method,
    ...(name !== undefined ? { 'mcp-name': headerValue(name) } : {}),
  };
}

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  /** The JSON-RPC messages of the answer (a JSON body, or the data lines of an SSE body). */
  messages: Array<Record<string, unknown>>;
}

export function parseMessages(contentType: string | null, text: string): Array<Record<string, unknown>> {
  if (!text) return [];
  if (contentType?.includes('text/event-stream')) {
    return text
      .split('\n')
      .filter((l) => l.startsWith('data:'))
      .map((l) => l.slice(5).trim())
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }
  try {
    const v = JSON.parse(text) as unknown;
    return Array.isArray(v) ? (v as Array<Record<string, unknown>>) : [v as Record<string, unknown>];
  } catch {
    return [];
  }
}

export async function post(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
  method = 'POST',
): Promise<Answer> {
  const res = await within(
    fetch(url, {
      method,
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        ...headers,
      },
      body:
        method === 'GET' || method === 'DELETE'
          ? undefined
          : typeof body === 'string'
            ? body
            : JSON.stringify(body),
    }),
    `an HTTP answer to ${method} ${typeof body === 'string' ? body.slice(0, 60) : String(JSON.stringify(body)).slice(0, 60)}`,
  );
  const text = await within(res.text(), 'the answer body ends');
  return {
    status: res.status,
    headers: res.headers,
    text,
    messages: parseMessages(res.headers.get('content-type'), text),
  };
}

/** A 2026-07-28 request with its headers and envelope. */
export function call26(
  url: string,
  id: number | string,
  method: string,
  params: Record<string, unknown> = {},
  opts: { capabilities?: Record<string, unknown>; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const raw = params.name ?? params.uri ?? params.taskId;
  const name = raw === undefined ? undefined : typeof raw === 'string' ? raw : JSON.stringify(raw);
  return post(
    url,
    { jsonrpc: '2.0', id, method, params: { ...params, _meta: meta26(opts.capabilities) } },
    { ...headers26(method, name), ...opts.headers },
  );
}

/** The error of the only JSON-RPC message in an answer (or a failure naming what came instead). */
export function rpcError(a: Answer): { code: number; message: string; data?: unknown } {
  const m = a.messages.find((x) => x.error !== undefined);
  if (!m) throw new Error(`no JSON-RPC error in HTTP ${a.status}: ${a.text.slice(0, 500)}`);
  return m.error as { code: number; message: string; data?: unknown };
}

export function rpcResult<T = Record<string, unknown>>(a: Answer): T {
  const m = a.messages.find((x) => x.result !== undefined);
  if (!m) throw new Error(`no JSON-RPC result in HTTP ${a.status}: ${a.text.slice(0, 500)}`);
  return m.result as T;
}

/** No stack frames, no file paths of the product, no secrets given in `secrets`. */
export function assertClean(text: string, secrets: string[] = []): void {
  const problems: string[] = [];
  if (/\n\s+at .+\(.+:\d+:\d+\)/.test(text) || /\bat [\w.<>]+ \(file:\/\//.test(text))
    problems.push('a stack trace');
  if (/\/dist\/src\/|node_modules\//.test(text)) problems.push('a source path');
  for (const s of secrets) if (s && text.includes(s)) problems.push(`the secret ${s.slice(0, 4)}…`);
  if (problems.length) throw new Error(`answer shows ${problems.join(', ')}: ${text.slice(0, 800)}`);
}

/** Opens a listen stream, reads it until `enough` holds for the messages so far (or it ends), then closes it. */
export async function listen(
  url: string,
  id: number,
  notifications: Record<string, unknown>,
  caps: Record<string, unknown> = {},
  enough: (m: Array<Record<string, unknown>>) => boolean = (m) => m.length > 0,
): Promise<{ status: number; messages: Array<Record<string, unknown>>; text: string }> {
  const ac = new AbortController();
  const res = await within(
    fetch(url, {
      method: 'POST',
      signal: ac.signal,
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        ...headers26('subscriptions/listen'),
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id,
        method: 'subscriptions/listen',
        params: { _meta: meta26(caps), notifications },
      }),
    }),
    'subscriptions/listen answers',
  );
  const ct = res.headers.get('content-type');
  let text = '';
  const reader = res.body?.getReader();
  const dec = new TextDecoder();
  try {
    while (reader) {
      const complete = text.slice(0, text.lastIndexOf('\n\n') + 1);
      if (enough(parseMessages(ct, complete))) break;
      const chunk = await within(reader.read(), 'the listen stream sends its acknowledgement');
      if (chunk.done) break;
      text += dec.decode(chunk.value, { stream: true });
      if (text.length > 5_000_000) break;
    }
  } finally {
    ac.abort();
  }
  return {
    status: res.status,
    text,
    messages: parseMessages(
      ct,
      ct?.includes('event-stream') ? text.slice(0, text.lastIndexOf('\n\n') + 1) : text,
    ),
  };
}

export const ackOf = (messages: Array<Record<string, unknown>>) =>
  (
    messages.find((m) => m.method === 'notifications/subscriptions/acknowledged')?.params as
      | { notifications: { resourceSubscriptions?: string[]; taskIds?: string[] } }
      | undefined
  )?.notifications;
