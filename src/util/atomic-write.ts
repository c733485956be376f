/**
 * Writes a file under a unique temporary name beside it, then renames it into place: readers see
 * the old file or the new one, never half of one, and two writers never share a temp file.
 */
import { randomBytes } from 'node:crypto';
import { chmod, open, rename, unlink } from 'node:fs/promises';

export interface AtomicWriteOptions {
  /** File mode, applied explicitly (open()'s mode is filtered by the umask). */
  mode?: number;
  /** fsync before the rename, for files that must survive a crash (token caches). */
  fsync?: boolean;
}

/** A unique temp name in the target's folder (same file system, so the rename is atomic). */
export function tempNameFor(file: string): string {
  return `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
}

export async function writeFileAtomic(
  file: string,
  data: string | Uint8Array,
  opts: AtomicWriteOptions = {},
): Promise<void> {
  const tmp = tempNameFor(file);
  try {
    const fh = await open(tmp, 'wx', opts.mode ?? 0o666);
    try {
      await fh.writeFile(data);
      if (opts.fsync) await fh.sync();
    } finally {
      await fh.close();
    }
    if (opts.mode !== undefined) await chmod(tmp, opts.mode);
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}
