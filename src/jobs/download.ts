/**
 * Saves a finished result inside the output directory: only URLs a provider returned for a task in
 * the ledger, http(s) only (redirects re-checked), streamed to a temp file, hashed, renamed into place,
 * never overwriting a different file.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, link, mkdir, rename, stat, unlink } from 'node:fs/promises';
import { basename, extname, join, relative, resolve, sep } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import type { Clock } from '../clock.js';
import { AppError } from '../errors.js';
import type { HttpClient } from '../http/client.js';
import { sha256File } from '../media/hash.js';
import { mimeFor } from '../media/mime.js';
import type { LedgerStore, TaskRow } from './store.js';

export interface DownloadDeps {
  ledger: LedgerStore;
  http: HttpClient;
  clock: Clock;
  outputDir: string;
  maxBytes?: number;
}

export interface Downloaded {
  task_id: string;
  path: string;
  /** Local engine: its Rhubarb-compatible mouth cues, saved beside the video. */
  mouth_cues_json?: string;
  mouth_cues_tsv?: string;
  size: number;
  sha256: string;
  mime_type: string;
  already_present: boolean;
}

const MAX_REDIRECTS = 5;
/** Longest name component: 255 bytes on ext4, tmpfs, APFS (NTFS counts 255 UTF-16 units, never more than the bytes). */
const MAX_NAME_BYTES = 255;
/** Room for the "-999" placeFile may add before the extension. */
const SUFFIX_BYTES = 4;

export async function downloadResult(
  deps: DownloadDeps,
  row: TaskRow,
  filename: string | undefined,
  signal?: AbortSignal,
): Promise<Downloaded> {
  const url = row.snapshot?.resultUrl;
  if (row.status !== 'success' || !url) {
    throw new AppError(
      'invalid_input',
      `Task ${row.id} has no result yet (status: ${row.status === 'submitting' ? 'pending' : row.status}).`,
      {
        hint: 'Wait with get_task_status until status is success, then call download_result.',
      },
    );
  }
  const out = resolve(deps.outputDir);
  await mkdir(out, { recursive: true, mode: 0o700 });
  const ext = safeExt(url);
  const name = safeName(filename, `${row.id}${ext}`);
  const target = join(out, name);
  if (relative(out, target).startsWith('..') || relative(out, target).includes(sep)) {
    throw new AppError('invalid_input', 'The file name must be a plain name inside the output folder.', {
      hint: 'Pass a name like "talk_es.mp4", or none.',
    });
  }
  const tmp = join(out, `.part-${randomUUID()}`);
  const hash = createHash('sha256');
  let size = 0;
  const max = deps.maxBytes ?? 8 * 1024 ** 3;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      size += chunk.length;
      if (size > max) {
        cb(
          new AppError('provider_failed', 'The result is larger than the download limit.', {
            hint: 'Download it from result_url directly.',
          }),
        );
        return;
      }
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  let linked = false;
  try {
    if (url.startsWith('file:')) {
      const src = localResult(out, url);
      // A local result is already on this disk: a hard link serves, no second copy of the video.
      linked = await link(src, tmp).then(
        () => true,
        () => false,
      );
      if (linked) size = (await stat(tmp)).size;
      else {
        await pipeline(createReadStream(src), counter, createWriteStream(tmp, { mode: 0o600 }), { signal });
      }
    } else {
      const body = await fetchFollowing(deps.http, url, signal);
      await pipeline(body, counter, createWriteStream(tmp, { mode: 0o600 }), { signal });
    }
    const sha256 = linked ? await sha256File(tmp) : hash.digest('hex');
    const final = await placeFile(tmp, target, sha256);
    await deps.ledger.recordDownload(row.id, final.path, sha256, size, deps.clock.now());
    return {
      task_id: row.id,
      path: final.path,
      ...(await cuesBeside(out, row, final.path)),
      size,
      sha256,
      mime_type: mimeFor(final.path),
      already_present: final.existed,
    };
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

async function fetchFollowing(
  http: HttpClient,
  first: string,
  signal?: AbortSignal,
): Promise<NodeJS.ReadableStream> {
  let url = first;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new AppError(
        'provider_failed',
        `The result URL uses ${parsed.protocol} which is not downloadable; only http(s) is accepted.`,
        {
          hint: 'Open result_url yourself if you trust it.',
        },
      );
    }
    const res = await http.request({
      method: 'GET',
      url,
      signal,
      service: 'the result host',
      timeoutMs: 120_000,
    });
    if (res.status >= 300 && res.status < 400 && res.headers.location) {
      await res.body.dump();
      url = new URL(String(res.headers.location), url).toString();
      continue;
    }
    if (res.status < 200 || res.status >= 300) {
      await res.body.dump();
      throw new AppError('provider_failed', `Downloading the result failed (HTTP ${res.status}).`, {
        hint: 'The link may have expired; call get_task_status for a fresh result_url, then try again.',
        retryable: res.status >= 500,
      });
    }
    return res.body;
  }
  throw new AppError('provider_failed', 'The result URL redirected too many times.', {
    hint: 'Open result_url yourself.',
  });
}

/** Renames into place; an existing file with the same bytes is kept, a different one is never overwritten. */
/** The path of a local engine result, which must lie inside the output folder. */
function localResult(out: string, url: string): string {
  const src = fileURLToPath(url);
  if (relative(out, src).startsWith('..')) {
    throw new AppError(
      'invalid_input',
      'The local result is outside the output folder; refusing to copy it.',
    );
  }
  return src;
}

/** Links a local task's mouth cues (JSON, TSV) beside the saved video: `<video>.cues.json`, `.cues.tsv`. */
async function cuesBeside(
  out: string,
  row: TaskRow,
  video: string,
): Promise<{ mouth_cues_json?: string; mouth_cues_tsv?: string }> {
  const extra = row.snapshot?.extra ?? {};
  const result: { mouth_cues_json?: string; mouth_cues_tsv?: string } = {};
  const stem = video.slice(0, video.length - extname(video).length);
  for (const [key, ext] of [
    ['mouth_cues_json', '.cues.json'],
    ['mouth_cues_tsv', '.cues.tsv'],
  ] as const) {
    const src = extra[key];
    if (typeof src !== 'string' || relative(out, src).startsWith('..')) continue;
    const dest = `${stem}${ext}`;
    await unlink(dest).catch(() => undefined);
    const ok = await link(src, dest).then(
      () => true,
      () =>
        copyFile(src, dest).then(
          () => true,
          () => false,
        ),
    );
    if (ok) result[key] = dest;
  }
  return result;
}

async function placeFile(
  tmp: string,
  target: string,
  sha256: string,
): Promise<{ path: string; existed: boolean }> {
  const ext = extname(target);
  const stem = target.slice(0, target.length - ext.length);
  for (let i = 0; i < 1000; i++) {
    const candidate = i === 0 ? target : `${stem}-${i}${ext}`;
    const existing = await stat(candidate).catch(() => undefined);
    if (!existing) {
      await rename(tmp, candidate);
      return { path: candidate, existed: false };
    }
    if (existing.isFile() && (await sha256File(candidate)) === sha256) {
      await unlink(tmp);
      return { path: candidate, existed: true };
    }
  }
  throw new AppError('conflict', 'Too many files with this name in the output folder.', {
    hint: 'Pass another filename.',
  });
}

function safeExt(url: string): string {
  try {
    const ext = extname(new URL(url).pathname).toLowerCase();
    return /^\.[a-z0-9]{1,5}$/.test(ext) ? ext : '.mp4';
  } catch {
    return '.mp4';
  }
}

/** A plain, visible file name: no directories, no leading dot, no control characters. */
export function safeName(given: string | undefined, fallback: string): string {
  if (!given) return fallback;
  const base = basename(given.replace(/\\/g, '/'));
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what must go
  const cleaned = base.replace(/[\x00-\x1f<>:"|?*]/g, '_').replace(/^\.+/, '');
  if (!cleaned || cleaned !== base || given.includes('/') || given.includes('\\')) {
    throw new AppError('invalid_input', `"${given.slice(0, 80)}" is not a plain file name.`, {
      hint: 'Pass a name like "talk_es.mp4" (no folders, not hidden), or none.',
    });
  }
  const name = extname(cleaned) ? cleaned : `${cleaned}${extname(fallback)}`;
  const size = Buffer.byteLength(name, 'utf8');
  if (size > MAX_NAME_BYTES - SUFFIX_BYTES) {
    throw new AppError(
      'invalid_input',
      `The file name is ${size} bytes long (UTF-8); file systems allow 255 bytes per name, and ${SUFFIX_BYTES} are kept for a "-1" suffix that avoids overwriting, so at most ${MAX_NAME_BYTES - SUFFIX_BYTES}.`,
      {
        hint: 'Pass a shorter name (accented letters take 2 bytes each, many other scripts 3 or 4), or none.',
      },
    );
  }
  return name;
}
