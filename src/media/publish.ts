/**
 * Local inputs for a provider that fetches every input itself (The Director): the file is copied, at
 * submit time, into a folder the user exposes (LIPSYNC_PUBLIC_DIR, published by their web server or by
 * `serve --http` on /files/), under an unguessable name (content hash + 128 random bits), and sent as a
 * URL signed with HMAC-SHA256 over the name and its expiry.
 *
 * - A copy, never a symlink: the exposed bytes are the bytes that were fingerprinted. The copy is hashed
 *   while it is written and refused when it differs from the input's sha256 (a swap after resolution).
 * - The same confinement and regular-file rules as every input (inputs.ts): the file resolved then (in
 *   the allowed folders) must be the one opened now, without following links, checked on its descriptor.
 * - Which task a copy belongs to is recorded outside the exposed folder; `release(task)` removes a final
 *   task's copies, `sweep()` removes any older than the link lifetime (at start and periodically, bounded).
 * - A web server of the user's cannot check the signature: then the name is the protection and expiry is
 *   enforced by removal. `resolve()` (our own /files/ route) checks signature and expiry.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { constants } from 'node:fs';
import {
  appendFile,
  chmod,
  mkdir,
  open,
  opendir,
  readFile,
  stat,
  unlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { dirname, extname, join } from 'node:path';
import { AppError } from '../errors.js';
import { loadOrCreateKey as loadKeyFile } from '../util/key-file.js';
import { checkRegular, confinedPath } from './inputs.js';
import type { InputRole, ResolvedInput } from './types.js';

export interface PublisherOptions {
  /** The exposed folder (created mode 0755 if missing). */
  dir: string;
  /** Its public URL, without a trailing slash. */
  baseUrl: string;
  /** Where task -> copies is recorded (never exposed). */
  ownersDir: string;
  key: Buffer;
  /** Link lifetime, and the most a copy lives anyway. */
  ttlMs: number;
  maxBytes: number;
  now: () => number;
  /** Most entries one sweep looks at (default 1000). */
  maxSweep?: number;
}

/** What a provider is given to expose one local input (injected from the app). */
export interface Publish {
  publish(
    input: Extract<ResolvedInput, { type: 'file' }>,
    role: InputRole,
    owner: string,
    signal?: AbortSignal,
  ): Promise<{ url: string; expiresAt: number }>;
}

/** `<16 hex of sha256>-<22 base64url random>.<ext>`: nothing else is ever served. */
const NAME_RE = /^[0-9a-f]{16}-[A-Za-z0-9_-]{22}\.[a-z0-9]{1,5}$/;
const OWNER_RE = /^[A-Za-z0-9_-]{1,100}$/;

export class Publisher implements Publish {
  constructor(private readonly o: PublisherOptions) {}

  get dir(): string {
    return this.o.dir;
  }

  sign(name: string, exp: number): string {
    return createHmac('sha256', this.o.key).update(`${name}\n${exp}`).digest('base64url');
  }

  urlFor(name: string, exp: number): string {
    return `${this.o.baseUrl}/${name}?exp=${exp}&sig=${this.sign(name, exp)}`;
  }

  async publish(
    input: Extract<ResolvedInput, { type: 'file' }>,
    role: InputRole,
    owner: string,
    signal?: AbortSignal,
  ): Promise<{ url: string; expiresAt: number }> {
    if (!OWNER_RE.test(owner)) throw new AppError('internal', 'A published file needs a task id.');
    const ext = extname(input.filename).slice(1).toLowerCase();
    const name = `${input.sha256.slice(0, 16)}-${randomBytes(16).toString('base64url')}.${/^[a-z0-9]{1,5}$/.test(ext) ? ext : 'bin'}`;
    await mkdir(this.o.dir, { recursive: true, mode: 0o755 });
    await mkdir(this.o.ownersDir, { recursive: true, mode: 0o700 });
    // Recorded before the copy exists, so a crash never leaves a copy nobody owns (the sweep would still).
    const list = join(this.o.ownersDir, `${owner}.list`);
    await appendFile(list, `${name}\n`, { mode: 0o600 });
    const now = this.o.now();
    // Ages are measured on the injected clock (the sweep compares against it).
    await utimes(list, new Date(now), new Date(now));
    const dest = join(this.o.dir, name);
    try {
      await this.copyChecked(input, role, dest, signal);
    } catch (err) {
      await unlink(dest).catch(() => undefined);
      throw err;
    }
    await utimes(dest, new Date(now), new Date(now));
    const exp = Math.floor((now + this.o.ttlMs) / 1000);
    return { url: this.urlFor(name, exp), expiresAt: exp * 1000 };
  }

  /** Copies the input's bytes (opened without following links, checked like any input) and verifies them. */
  private async copyChecked(
    input: Extract<ResolvedInput, { type: 'file' }>,
    role: InputRole,
    dest: string,
    signal?: AbortSignal,
  ): Promise<void> {
    const refuse = (message: string, hint: string) =>
      new AppError('invalid_input', `${role[0]?.toUpperCase()}${role.slice(1)} input: ${message}`, {
        hint,
        details: { role },
      });
    // The input was confined when it was resolved (allowed folders and, on stdio, the client's roots);
    // here its real path must still be exactly that file: nothing swapped in since.
    const real = await confinedPath(input.path, input.filename, [dirname(input.path)], refuse);
    if (real !== input.path) {
      throw refuse(
        `${input.filename} changed after it was checked; nothing was sent.`,
        'Leave the file alone until the job has started, then try again.',
      );
    }
    const src = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW).catch(() => {
      throw refuse(
        `cannot open ${input.filename} any more.`,
        'Check that the file is still there, then try again.',
      );
    });
    try {
      checkRegular(await src.stat(), input.filename, this.o.maxBytes, refuse);
      const out = await open(dest, 'wx', 0o644);
      const hash = createHash('sha256');
      let size = 0;
      try {
        const buf = Buffer.allocUnsafe(1 << 20);
        for (;;) {
          signal?.throwIfAborted();
          const { bytesRead } = await src.read(buf, 0, buf.length, null);
          if (bytesRead === 0) break;
          size += bytesRead;
          if (size > input.size) break;
          hash.update(buf.subarray(0, bytesRead));
          await out.write(buf, 0, bytesRead);
        }
      } finally {
        await out.close();
      }
      // Readable by the user's web server whatever the umask.
      await chmod(dest, 0o644);
      if (size !== input.size || hash.digest('hex') !== input.sha256) {
        throw refuse(
          `${input.filename} changed after it was checked; nothing was sent.`,
          'Leave the file alone until the job has started, then try again.',
        );
      }
    } finally {
      await src.close();
    }
  }

  /**
   * A small probe file under a publisher name (doctor fetches it through the base URL to see whether it
   * answers from this machine). Its link lives a minute; `remove()` deletes it (the sweep would anyway).
   */
  async writeProbe(): Promise<{ name: string; bytes: Buffer; exp: number; remove(): Promise<void> }> {
    await mkdir(this.o.dir, { recursive: true, mode: 0o755 });
    const bytes = Buffer.from(`lipsync-mcp probe ${randomBytes(12).toString('hex')}\n`);
    const hash = createHash('sha256').update(bytes).digest('hex');
    const name = `${hash.slice(0, 16)}-${randomBytes(16).toString('base64url')}.txt`;
    const path = join(this.o.dir, name);
    await writeFile(path, bytes, { flag: 'wx', mode: 0o644 });
    await chmod(path, 0o644);
    const now = this.o.now();
    await utimes(path, new Date(now), new Date(now));
    return {
      name,
      bytes,
      exp: Math.floor(now / 1000) + 60,
      remove: () => unlink(path).catch(() => undefined),
    };
  }

  /** The file a signed request names, or undefined (bad name, bad signature, expired, gone). */
  async resolve(name: string, exp: string | null, sig: string | null): Promise<string | undefined> {
    if (!NAME_RE.test(name) || !exp || !/^\d{1,12}$/.test(exp) || !sig) return undefined;
    const want = Buffer.from(this.sign(name, Number(exp)));
    const got = Buffer.from(sig);
    if (got.length !== want.length || !timingSafeEqual(got, want)) return undefined;
    if (Number(exp) * 1000 <= this.o.now()) return undefined;
    const path = join(this.o.dir, name);
    const st = await stat(path).catch(() => undefined);
    return st?.isFile() ? path : undefined;
  }

  /** Removes a final task's copies (and its record). Returns how many were removed. */
  async release(owner: string): Promise<number> {
    if (!OWNER_RE.test(owner)) return 0;
    const list = join(this.o.ownersDir, `${owner}.list`);
    const text = await readFile(list, 'utf8').catch(() => '');
    let removed = 0;
    for (const name of text.split('\n').slice(0, 100)) {
      if (!NAME_RE.test(name)) continue;
      if (
        await unlink(join(this.o.dir, name)).then(
          () => true,
          () => false,
        )
      )
        removed++;
    }
    await unlink(list).catch(() => undefined);
    return removed;
  }

  /** Removes copies and records older than the link lifetime; looks at most `maxSweep` entries per folder. */
  async sweep(): Promise<number> {
    const cutoff = this.o.now() - this.o.ttlMs;
    let removed = 0;
    for (const [dir, re] of [
      [this.o.dir, NAME_RE],
      [this.o.ownersDir, /^[A-Za-z0-9_-]{1,100}\.list$/],
    ] as const) {
      const handle = await opendir(dir).catch(() => undefined);
      if (!handle) continue;
      let seen = 0;
      for await (const entry of handle) {
        if (++seen > (this.o.maxSweep ?? 1000)) break;
        if (!entry.isFile() || !re.test(entry.name)) continue;
        const path = join(dir, entry.name);
        const st = await stat(path).catch(() => undefined);
        if (
          st &&
          st.mtimeMs < cutoff &&
          (await unlink(path).then(
            () => true,
            () => false,
          ))
        )
          removed++;
      }
    }
    return removed;
  }
}

/** The signing key: the setting's, else one generated once and kept mode 0600 in LIPSYNC_HOME. */
export function loadOrCreateKey(file: string, fromSetting: string | undefined): Promise<Buffer> {
  return loadKeyFile(
    file,
    fromSetting,
    (f) =>
      new AppError('internal', `The URL signing key in ${f} is too short.`, {
        hint: `Delete ${f}; a new one is generated at the next start.`,
      }),
  );
}
