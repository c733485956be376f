/**
 * A signing key kept in a file: the setting's value when one is given, else 32 random bytes generated
 * once (base64url, mode 0600). Written whole under a temp name, then linked into place (never over an
 * existing key): processes starting at the same moment all read the one key that won.
 */
import { randomBytes } from 'node:crypto';
import { chmod, link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { tempNameFor } from './atomic-write.js';

/** `tooShort` builds the error for a key file shorter than 32 characters (someone edited it). */
export async function loadOrCreateKey(
  file: string,
  fromSetting: string | undefined,
  tooShort: (file: string) => Error,
): Promise<Buffer> {
  if (fromSetting) return Buffer.from(fromSetting, 'utf8');
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = tempNameFor(file);
  try {
    await writeFile(tmp, randomBytes(32).toString('base64url'), { flag: 'wx', mode: 0o600 });
    await chmod(tmp, 0o600);
    await link(tmp, file).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
  const text = (await readFile(file, 'utf8')).trim();
  if (text.length < 32) throw tooShort(file);
  return Buffer.from(text, 'utf8');
}
