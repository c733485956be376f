/**
 * Inputs are a security boundary (design.md section 8). A local path must resolve (realpath) to a
 * regular file under an allowed root, with no hidden segment, within the size cap; a URL must be
 * http(s) without credentials, on a host a cloud provider can reach (url-guard.ts). Files are hashed
 * (hash.ts) so the same content under another path has the same fingerprint.
 */
import type { Stats } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { basename, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { AppError } from '../errors.js';
import { type FileHasher, fileHasher, type HashCache } from './hash.js';
import { mimeFor } from './mime.js';
import type { InputRole, ResolvedInput } from './types.js';
import { type HostLookup, privateHost } from './url-guard.js';

export interface InputPolicy {
  allowedDirs: string[];
  maxBytes: number;
  homeDir: string;
  /** Base for relative paths. */
  cwd: string;
  /** Accept URLs on loopback, private, link-local or metadata hosts (LIPSYNC_ALLOW_PRIVATE_URLS). */
  allowPrivateUrls?: boolean;
  /** Host name resolver for the private-host check (tests inject one; default: the system's). */
  lookup?: HostLookup;
  /** Durable sha256 cache across processes (the ledger's, wired in app.ts). */
  hashCache?: HashCache;
  /** The in-process hasher (default: the process-wide one; tests inject their own). */
  hasher?: FileHasher;
}

const SCHEME_RE = /^([a-z][a-z0-9+.-]*):/i;

function bad(role: InputRole, message: string, hint: string): AppError {
  return new AppError('invalid_input', `${capitalize(role)} input: ${message}`, {
    hint,
    details: { role },
  });
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** Checks a URL input without fetching it. */
export function resolveUrl(raw: string, role: InputRole): ResolvedInput {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw bad(role, 'this is not a valid URL.', 'Pass an http(s) URL or a local file path.');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw bad(
      role,
      `${url.protocol.replace(':', '')}:// URLs are not accepted; only http and https.`,
      url.protocol === 'file:'
        ? 'Pass the local path itself (e.g. /home/me/talk.mp4) instead of a file:// URL.'
        : 'Use an http(s) URL, or download the file and pass its local path.',
    );
  }
  if (url.username || url.password) {
    throw bad(
      role,
      'the URL contains a user name or password.',
      'Remove the credentials from the URL; use a signed or public URL instead.',
    );
  }
  if (!url.hostname) throw bad(role, 'the URL has no host.', 'Pass a complete http(s) URL.');
  url.hash = '';
  const normalized = url.toString();
  const name = decodeURIComponent(basename(url.pathname)) || 'input';
  return { type: 'url', url: normalized, filename: name, mime: mimeFor(name) };
}

/** A provider fetches URL inputs from the internet: refuse hosts it cannot reach (url-guard.ts). */
async function refusePrivate(url: string, role: InputRole, lookup: HostLookup | undefined): Promise<void> {
  const verdict = await privateHost(new URL(url), lookup);
  if (!verdict) return;
  throw bad(
    role,
    `the URL is not reachable from the internet (${verdict.reason}); the provider must be able to fetch the URL itself, so it was not sent.`,
    'Pass the local file path instead (it is uploaded for you), or a public http(s) URL. If your provider runs inside your own network, set LIPSYNC_ALLOW_PRIVATE_URLS=true.',
  );
}

/** Resolves a user-given path or URL to a checked input. */
export async function resolveInput(
  raw: string,
  role: InputRole,
  policy: InputPolicy,
): Promise<ResolvedInput> {
  const given = raw.trim();
  if (!given) throw bad(role, 'empty value.', `Pass a local file path or an http(s) URL for the ${role}.`);
  if (given.includes('\0')) throw bad(role, 'the path contains a NUL byte.', 'Pass a plain file path.');
  if (/^(\\\\|\/\/)[^\\/]+[\\/]/.test(given)) {
    throw bad(role, 'network (UNC) paths are not accepted.', 'Copy the file to a local folder first.');
  }
  const scheme = SCHEME_RE.exec(given);
  if (scheme && !/^[a-z]:[\\/]/i.test(given)) {
    const resolved = resolveUrl(given, role);
    if (!policy.allowPrivateUrls && resolved.type === 'url')
      await refusePrivate(resolved.url, role, policy.lookup);
    return resolved;
  }
  if (/^[a-z]:[\\/]/i.test(given) && sep === '/') {
    throw bad(
      role,
      `"${given}" is a Windows drive path, and this server runs on a POSIX system.`,
      'Pass the path as this machine sees it.',
    );
  }
  return resolveLocal(given, role, policy);
}

async function resolveLocal(given: string, role: InputRole, policy: InputPolicy): Promise<ResolvedInput> {
  const expanded =
    given === '~' ? policy.homeDir : given.startsWith('~/') ? join(policy.homeDir, given.slice(2)) : given;
  const absolute = isAbsolute(expanded) ? expanded : resolve(policy.cwd, expanded);
  const refuse: Refuse = (message, hint) => bad(role, message, hint);
  const real = await confinedPath(absolute, given, policy.allowedDirs, refuse);
  checkRegular(await stat(real), given, policy.maxBytes, refuse);
  const { sha256, size } = await (policy.hasher ?? fileHasher).hash(real, policy.hashCache);
  const filename = basename(real);
  return { type: 'file', path: real, filename, mime: mimeFor(filename), size, sha256 };
}

/** Builds the error for a refused path: inputs say "Video input: …"; media resources say it plainly. */
export type Refuse = (message: string, hint: string) => Error;

/**
 * The confinement rules of local inputs: the real path (symlinks resolved) of `absolute` lies under one
 * of `dirs` (the deepest decides), with no hidden segment below it. `given` is how the caller named it.
 */
export async function confinedPath(
  absolute: string,
  given: string,
  dirs: string[],
  refuse: Refuse,
): Promise<string> {
  let real: string;
  try {
    real = await realpath(absolute);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw refuse(
        `file not found: ${given}`,
        'Check the path (absolute paths are safest) and that the file exists.',
      );
    }
    if (code === 'EACCES')
      throw refuse(`permission denied: ${given}`, 'Make the file readable by the user running the server.');
    throw refuse(`cannot open ${given} (${code ?? 'error'}).`, 'Check the path.');
  }
  const roots = await realRoots(dirs);
  // The deepest root decides, so an explicitly allowed folder such as ~/.openclaw/workspace works.
  const root = [...roots].sort((a, b) => b.length - a.length).find((r) => isInside(r, real));
  if (!root) {
    throw refuse(
      `${given} is outside the folders this server may read.`,
      `Move the file under ${roots.join(' or ') || '(no allowed folder)'}, or add its folder to LIPSYNC_ALLOWED_DIRS.`,
    );
  }
  const rel = relative(root, real);
  if (rel.split(sep).some((seg) => seg.startsWith('.'))) {
    throw refuse(
      `${given} is inside a hidden folder or is a hidden file; those are never read.`,
      'Copy the media to an ordinary folder.',
    );
  }
  return real;
}

/** What a local input must be: a non-empty regular file within `maxBytes` (from stat, or fstat of an open file). */
export function checkRegular(st: Stats, given: string, maxBytes: number, refuse: Refuse): void {
  if (st.isDirectory())
    throw refuse(`${given} is a directory, not a file.`, 'Pass the media file inside it.');
  if (!st.isFile()) throw refuse(`${given} is not a regular file.`, 'Pass an ordinary media file.');
  if (st.size === 0)
    throw refuse(`${given} is empty (0 bytes).`, 'Check that the file was written completely.');
  if (st.size > maxBytes) {
    throw refuse(
      `${given} is ${(st.size / 1048576).toFixed(0)} MiB, above the ${(maxBytes / 1048576).toFixed(0)} MiB limit.`,
      'Compress or trim the file, or raise LIPSYNC_MAX_INPUT_MB.',
    );
  }
}

function isInside(root: string, p: string): boolean {
  const rel = relative(root, p);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

async function realRoots(dirs: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const d of dirs) {
    try {
      out.push(await realpath(d));
    } catch {
      // A configured root that does not exist allows nothing.
    }
  }
  return out;
}
