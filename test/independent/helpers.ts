// Black-box helpers: temp homes, small real media, the built server over stdio, the CLI, canary scans.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

export const CLI = resolve('dist/src/cli.js');
/** Planted secrets: none of them may ever appear in any output or file. */
export const CANARY = {
  jogg: 'jogg-CANARY-7f3a9c1e5b',
  gateway: 'gw-CANARY-91d2e4f6a8',
  nemo: 'nemo-CANARY-0b8c6d4e2f',
  http: 'http-CANARY-5a7c9e1b3d',
};

export interface Home {
  root: string;
  home: string;
  media: string;
  outside: string;
  env: Record<string, string>;
}

export function makeHome(extra: Record<string, string> = {}): Home {
  const root = mkdtempSync(join(tmpdir(), 'lipsync-indep-'));
  const home = join(root, 'home');
  const media = join(root, 'media');
  const outside = join(root, 'outside');
  for (const d of [home, media, outside]) mkdirSync(d, { recursive: true });
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    LIPSYNC_HOME: join(home, '.lipsync-state'),
    LIPSYNC_ALLOWED_DIRS: media,
    LIPSYNC_LOG_LEVEL: 'debug',
    LIPSYNC_REQUEST_TIMEOUT_SECONDS: '3',
    ...extra,
  };
  return { root, home, media, outside, env };
}

function ffmpegPath(): string {
  try {
    const req = createRequire(import.meta.url);
    return (req('@ffmpeg-installer/ffmpeg') as { path: string }).path;
  } catch {
    return 'ffmpeg';
  }
}

const cacheDir = join(tmpdir(), 'lipsync-indep-media-cache');
/** A tiny real mp4 (1 s, 64x64, silent), made once. */
export function baseVideo(): Buffer {
  const p = join(cacheDir, 'v.mp4');
  if (!existsSync(p)) {
    mkdirSync(cacheDir, { recursive: true });
    const tmp = `${p}.${process.pid}.mp4`;
    execFileSync(
      ffmpegPath(),
      ['-y', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=size=64x64:rate=10:duration=1'].concat([
        '-pix_fmt',
        'yuv420p',
        '-c:v',
        'libx264',
        tmp,
      ]),
    );
    execFileSync('mv', [tmp, p]);
  }
  return readFileSync(p);
}

/** A real PCM WAV whose samples depend on seed, so each seed is a different job. */
export function wav(seed: number, seconds = 1): Buffer {
  const rate = 8000;
  const n = rate * seconds;
  const b = Buffer.alloc(44 + n * 2);
  b.write('RIFF', 0);
  b.writeUInt32LE(36 + n * 2, 4);
  b.write('WAVEfmt ', 8);
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20);
  b.writeUInt16LE(1, 22);
  b.writeUInt32LE(rate, 24);
  b.writeUInt32LE(rate * 2, 28);
  b.writeUInt16LE(2, 32);
  b.writeUInt16LE(16, 34);
  b.write('data', 36);
  b.writeUInt32LE(n * 2, 40);
  const f = 200 + seed * 37;
  for (let i = 0; i < n; i++)
    b.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * f * i) / rate)), 44 + i * 2);
  return b;
}

/** Writes video + audio (seeded) into dir and returns their paths. */
export function mediaPair(dir: string, seed: number, prefix = `m${seed}`): { video: string; audio: string } {
  const video = join(dir, `${prefix}.mp4`);
  const audio = join(dir, `${prefix}.wav`);
  writeFileSync(video, baseVideo());
  writeFileSync(audio, wav(seed));
  return { video, audio };
}

export interface Mcp {
  client: Client;
  proc: ChildProcess | undefined;
  stderr: () => string;
  close: () => Promise<void>;
}

export async function startMcp(env: Record<string, string>, args: string[] = []): Promise<Mcp> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI, ...args],
    env,
    stderr: 'pipe',
  });
  let err = '';
  transport.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const client = new Client({ name: 'indep-tester', version: '1.0.0' });
  await client.connect(transport);
  const proc = (transport as unknown as { _process?: ChildProcess })._process;
  return {
    client,
    proc,
    stderr: () => err,
    close: async () => {
      await client.close().catch(() => undefined);
    },
  };
}

export interface ToolOut {
  isError: boolean;
  text: string;
  data: Record<string, unknown>;
  raw: unknown;
}

export async function call(
  m: Mcp,
  name: string,
  args: Record<string, unknown>,
  timeout = 58_000,
): Promise<ToolOut> {
  const r = (await m.client.callTool({ name, arguments: args }, undefined, { timeout })) as {
    isError?: boolean;
    content?: Array<{ type: string; text?: string }>;
    structuredContent?: Record<string, unknown>;
  };
  const text = (r.content ?? []).map((c) => c.text ?? '').join('\n');
  let data = r.structuredContent ?? {};
  if (!r.structuredContent) {
    try {
      data = JSON.parse(text) as Record<string, unknown>;
    } catch {
      data = {};
    }
  }
  return { isError: r.isError === true, text, data, raw: r };
}

export function errCode(o: ToolOut): string | undefined {
  const e = o.data.error as { code?: string } | undefined;
  return e?.code;
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function runCli(
  env: Record<string, string>,
  args: string[],
  onSpawn?: (p: ChildProcess) => void,
): Promise<CliResult> {
  return new Promise((res) => {
    const p = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    p.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    p.on('close', (code, signal) => res({ code, signal, stdout, stderr }));
    onSpawn?.(p);
  });
}

export function lastJson(s: string): Record<string, unknown> {
  const lines = s.trim().split('\n').reverse();
  for (const l of lines) {
    try {
      return JSON.parse(l) as Record<string, unknown>;
    } catch {
      /* not JSON */
    }
  }
  return {};
}

/** Every secret value planted, found anywhere in text. */
export function leaks(text: string): string[] {
  return Object.values(CANARY).filter((c) => text.includes(c));
}

/** Reads every file under a folder (ledger, WAL, caches, outputs) and returns which canaries appear. */
export function leaksInTree(dir: string): string[] {
  const found = new Set<string>();
  const walk = (d: string) => {
    if (!existsSync(d)) return;
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      const s = statSync(p);
      if (s.isDirectory()) walk(p);
      else if (s.size < 50_000_000)
        for (const l of leaks(readFileSync(p).toString('latin1'))) found.add(`${l} in ${n}`);
    }
  };
  walk(dir);
  return [...found];
}

export const STACK = /\n\s+at .+[:(].*\d+:\d+\)?/;

export function joggEnv(h: Home, url: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...h.env,
    JOGG_API_KEY: CANARY.jogg,
    JOGG_BASE_URL: url,
    LIPSYNC_DEFAULT_PROVIDER: 'jogg',
    ...extra,
  };
}
