/**
 * Finding ffmpeg/ffprobe and running them. Lookup order: the explicit path from config
 * (FFMPEG_PATH / FFPROBE_PATH), then the PATH directories config collected, then — last resort, with a
 * warning — the npm-bundled optional dependencies. This module never reads `process.env` itself: only config.ts does.
 */
import { spawn } from 'node:child_process';
import { constants as fsConstants, mkdirSync, writeFileSync } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { abortError } from '../clock.js';
import type { Config } from '../config.js';
import { AppError } from '../errors.js';

export interface ToolLocation {
  path: string;
  /** Where it was found: 'FFMPEG_PATH', 'PATH', 'bundled (@ffmpeg-installer/ffmpeg)'. */
  source: string;
  /** Set for the npm-bundled build only: it is old and decodes untrusted media; says how to replace it. */
  warning?: string;
}

export interface FfmpegTools {
  ffmpeg?: ToolLocation;
  ffprobe?: ToolLocation;
}

/** What to tell a person when a binary is missing. */
export const FFMPEG_FIX =
  'Install ffmpeg (https://ffmpeg.org/download.html, `brew install ffmpeg`, `apt install ffmpeg`), or set ' +
  'FFMPEG_PATH / FFPROBE_PATH to the binaries, or reinstall lipsync-mcp with optional dependencies ' +
  '(they bundle ffmpeg and ffprobe).';

async function isExecutableFile(p: string): Promise<boolean> {
  try {
    const s = await stat(p);
    if (!s.isFile()) return false;
    await access(p, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function executableNames(base: string): string[] {
  return process.platform === 'win32' ? [`${base}.exe`, base] : [base];
}

/** The bundled binary, or undefined when the optional dependency is not installed. */
function bundled(pkg: string): { path: string; version: string } | undefined {
  try {
    const req = createRequire(import.meta.url);
    const mod = req(pkg) as { path?: unknown; version?: unknown };
    if (typeof mod.path !== 'string') return undefined;
    return { path: mod.path, version: typeof mod.version === 'string' ? mod.version : 'unknown' };
  } catch {
    // Optional dependency absent (or its platform package is): fall through to "not found".
    return undefined;
  }
}

async function locateOne(
  name: 'ffmpeg' | 'ffprobe',
  explicit: string | undefined,
  envName: string,
  pathDirs: string[],
  pkg: string,
): Promise<ToolLocation | undefined> {
  if (explicit) {
    // An explicit path that does not work is a configuration mistake worth surfacing, not skipping
    // silently to another binary the user did not choose.
    if (await isExecutableFile(explicit)) return { path: explicit, source: envName };
    throw new AppError(
      'invalid_input',
      `${envName} points to ${explicit}, which is not an executable file.`,
      {
        hint: `Fix or unset ${envName}. ${FFMPEG_FIX}`,
      },
    );
  }
  for (const dir of pathDirs) {
    for (const exe of executableNames(name)) {
      const candidate = join(dir, exe);
      if (await isExecutableFile(candidate)) return { path: candidate, source: 'PATH' };
    }
  }
  const b = bundled(pkg);
  if (b && (await isExecutableFile(b.path)))
    return { path: b.path, source: `bundled (${pkg})`, warning: bundledWarning(name, b.version) };
  return undefined;
}

/**
 * The bundled builds are static snapshots (ffmpeg's is from 2018) that never get security fixes, yet
 * they decode files a user (or an agent) hands in. They are a last resort, and say so.
 */
function bundledWarning(name: 'ffmpeg' | 'ffprobe', version: string): string {
  const m = /^(\d{4})(\d\d)(\d\d)/.exec(version);
  const built = m ? ` (built ${m[1]}-${m[2]}-${m[3]})` : '';
  return (
    `Using the bundled ${name} ${version}${built}: an old build without current security fixes, and it ` +
    'decodes your media files. Install a current ffmpeg (`apt-get install ffmpeg`, `brew install ffmpeg`, ' +
    'or https://ffmpeg.org/download.html) so it is found on PATH, or point FFMPEG_PATH / FFPROBE_PATH at ' +
    'a newer build. (Said once for this LIPSYNC_HOME; `lipsync-mcp doctor` shows it any time.)'
  );
}

/**
 * The bundled-build warning, said once for a LIPSYNC_HOME (every client starts its own server there; a
 * warning on every start is noise). Returns it on the first call of the first process whose `marker`
 * file is new, then undefined; `lipsync-mcp doctor` shows it always. Nothing for current system builds.
 */
export function bundledNotice(tools: FfmpegTools, marker?: string): () => string | undefined {
  const warnings = [tools.ffmpeg?.warning, tools.ffprobe?.warning].filter((w): w is string => !!w);
  let said = false;
  return () => {
    if (said || !warnings.length) return undefined;
    said = true;
    // One warning is enough when both are bundled: the fix is the same.
    return marker && !firstTime(marker, warnings[0] ?? '') ? undefined : warnings[0];
  };
}

/** True for the one caller that creates `file` (atomically, across processes); false once it exists. */
export function firstTime(file: string, content: string): boolean {
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${content}\n`, { flag: 'wx', mode: 0o600 });
    return true;
  } catch (err) {
    // Any other failure (a read-only home): better to say it again than never.
    return (err as NodeJS.ErrnoException).code !== 'EEXIST';
  }
}

/** Where "the bundled-build warning was said" is kept for a LIPSYNC_HOME (per build: a new one is news). */
export function bundledMarker(home: string, tools: FfmpegTools): string {
  const w = tools.ffmpeg?.warning ?? tools.ffprobe?.warning ?? '';
  const version = /bundled \w+ (\S+)/.exec(w)?.[1]?.replace(/[^\w.-]/g, '') ?? 'unknown';
  return join(home, 'notices', `bundled-ffmpeg-${version}`);
}

/** Finds ffmpeg and ffprobe. Missing ones are simply absent from the result. */
export async function locateFfmpeg(cfg: Config['ffmpeg']): Promise<FfmpegTools> {
  const [ffmpeg, ffprobe] = await Promise.all([
    locateOne('ffmpeg', cfg.ffmpegPath, 'FFMPEG_PATH', cfg.pathDirs, '@ffmpeg-installer/ffmpeg'),
    locateOne('ffprobe', cfg.ffprobePath, 'FFPROBE_PATH', cfg.pathDirs, '@ffprobe-installer/ffprobe'),
  ]);
  const out: FfmpegTools = {};
  if (ffmpeg) out.ffmpeg = ffmpeg;
  if (ffprobe) out.ffprobe = ffprobe;
  return out;
}

export interface RunOptions {
  signal?: AbortSignal;
  /** Kill the process after this long (AppError 'timeout'). */
  timeoutMs?: number;
  /** Receives stdout chunks as they arrive; stdout is then not collected (streams stay bounded). */
  onStdout?: (chunk: Buffer) => void;
  /** Receives complete stderr lines (e.g. silencedetect output). */
  onStderrLine?: (line: string) => void;
  /** Largest collected stdout (default 16 MiB); more is an error rather than unbounded memory. */
  maxStdoutBytes?: number;
  /** How much of stderr's end to keep for error messages (default 4000 chars). */
  stderrTailChars?: number;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  /** The last few KB of stderr: where ffmpeg says what went wrong. */
  stderrTail: string;
}

/**
 * Runs a program without a shell. Resolves with the exit code (non-zero is the caller's call);
 * rejects with an AbortError when `signal` aborts, AppError('timeout') on timeout, and
 * AppError('unavailable') when the program cannot be started.
 */
export function runProcess(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const maxStdout = opts.maxStdoutBytes ?? 16 * 1024 * 1024;
  const tailChars = opts.stderrTailChars ?? 4000;
  return new Promise<RunResult>((resolve, reject) => {
    if (opts.signal?.aborted) {
      reject(opts.signal.reason ?? abortError());
      return;
    }
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
    const chunks: Buffer[] = [];
    let stdoutBytes = 0;
    let stderrTail = '';
    let partialLine = '';
    let failure: unknown;
    let settled = false;

    const kill = (why: unknown) => {
      if (failure === undefined) failure = why;
      child.kill('SIGKILL');
    };
    const onAbort = () => kill(opts.signal?.reason ?? abortError());
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const timer =
      opts.timeoutMs === undefined
        ? undefined
        : setTimeout(
            () =>
              kill(
                new AppError(
                  'timeout',
                  `${baseName(cmd)} did not finish within ${Math.round(opts.timeoutMs! / 1000)} s.`,
                  {
                    hint: 'The file may be very long or the machine busy; try a shorter input.',
                  },
                ),
              ),
            opts.timeoutMs,
          );

    child.stdout.on('data', (chunk: Buffer) => {
      if (opts.onStdout) {
        try {
          opts.onStdout(chunk);
        } catch (err) {
          kill(err);
        }
        return;
      }
      stdoutBytes += chunk.length;
      if (stdoutBytes > maxStdout) {
        kill(new AppError('internal', `${baseName(cmd)} wrote more output than expected.`));
        return;
      }
      chunks.push(chunk);
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text: string) => {
      stderrTail = (stderrTail + text).slice(-tailChars);
      if (opts.onStderrLine) {
        const lines = (partialLine + text).split(/\r?\n|\r/);
        partialLine = lines.pop() ?? '';
        for (const line of lines) opts.onStderrLine(line);
      }
    });

    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      fn();
    };
    child.on('error', (err) =>
      finish(() =>
        reject(
          new AppError('unavailable', `Could not start ${baseName(cmd)}: ${err.message}.`, {
            hint: FFMPEG_FIX,
            cause: err,
          }),
        ),
      ),
    );
    // After a kill, do not wait for the pipes to close: a grandchild may hold them open.
    child.on('exit', () => {
      if (failure === undefined) return;
      child.stdout.destroy();
      child.stderr.destroy();
      finish(() => reject(failure));
    });
    child.on('close', (code, signal) =>
      finish(() => {
        if (opts.onStderrLine && partialLine) opts.onStderrLine(partialLine);
        if (failure !== undefined) reject(failure);
        else resolve({ code, signal, stdout: Buffer.concat(chunks), stderrTail });
      }),
    );
  });
}

/**
 * Runs ffmpeg (quiet, no stdin prompts) and throws a readable AppError on a non-zero exit, quoting
 * the last meaningful stderr line — that is where ffmpeg names the actual problem.
 */
export async function runFfmpeg(
  ffmpegPath: string,
  args: string[],
  opts: RunOptions & { what: string },
): Promise<RunResult> {
  const full = ['-hide_banner', '-nostdin', '-y', ...args];
  const res = await runProcess(ffmpegPath, full, opts);
  if (res.code !== 0) {
    throw new AppError(
      'provider_failed',
      `ffmpeg failed while ${opts.what}: ${lastErrorLine(res.stderrTail)}`,
      {
        hint: 'Check that the input files play in a media player; re-encode them to mp4 (H.264) and wav if they do not.',
        details: { exit_code: res.code },
      },
    );
  }
  return res;
}

/** The most informative line of an ffmpeg stderr tail (the last non-empty, non-progress line). */
export function lastErrorLine(stderrTail: string): string {
  const lines = stderrTail
    .split(/\r?\n|\r/)
    .map((l) => l.trim())
    .filter((l) => l && !/^(frame|size)=/.test(l) && !/^Press \[q\]/.test(l));
  const line = lines.at(-1) ?? 'no error message';
  return line.length > 300 ? `${line.slice(0, 300)}...` : line;
}

function baseName(p: string): string {
  return p.split(/[\\/]/).pop() ?? p;
}
