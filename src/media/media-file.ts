/**
 * Opening a local video to serve it (the media resources): the input rules of inputs.ts (confinement,
 * no hidden segment, a non-empty regular file), checked on the opened file itself. The open never
 * blocks (O_NONBLOCK: a FIFO answers at once instead of holding a file-system thread until a writer
 * comes) and does not follow a symlink swapped in after realpath (O_NOFOLLOW); fstat then decides, and
 * reads never go past the size fstat reported (a device that reports 0 bytes yields nothing).
 */
import { constants } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { checkRegular, confinedPath, type Refuse } from './inputs.js';

export interface MediaFile {
  /** Real path (symlinks resolved). */
  path: string;
  /** Size as fstat reported it after opening. */
  size: number;
  /** Reads up to `length` bytes at `offset`, never past `size`. */
  read(offset: number, length: number): Promise<Buffer>;
  close(): Promise<void>;
}

/** Opens `path` if it passes the input rules under `dirs`; throws `refuse(...)` otherwise. */
export async function openMediaFile(
  path: string,
  dirs: string[],
  maxBytes: number,
  refuse: Refuse,
): Promise<MediaFile> {
  const real = await confinedPath(path, path, dirs, refuse);
  let handle: FileHandle;
  try {
    handle = await open(real, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw refuse(
      `cannot open ${path} (${code ?? 'error'}).`,
      'Check that the file is still there and readable.',
    );
  }
  try {
    const st = await handle.stat();
    checkRegular(st, path, maxBytes, refuse);
    const size = st.size;
    return {
      path: real,
      size,
      async read(offset, length) {
        const n = Math.max(0, Math.min(length, size - offset));
        const buf = Buffer.allocUnsafe(n);
        let got = 0;
        while (got < n) {
          const { bytesRead } = await handle.read(buf, got, n - got, offset + got);
          if (bytesRead === 0) break;
          got += bytesRead;
        }
        return got === n ? buf : buf.subarray(0, got);
      },
      close: () => handle.close(),
    };
  } catch (err) {
    await handle.close().catch(() => undefined);
    throw err;
  }
}
