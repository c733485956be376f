/**
 * Listing cursors (list_tasks and resources/list): opaque to the agent, a keyset position (creation
 * time + row sequence) here. A version letter lets the format change without misreading old cursors.
 * Only the exact text `encodeCursor` makes is accepted: no other spelling of the same numbers
 * (`1e3`, `0x10`, leading zeros, signs), nothing beyond a safe integer.
 */
import { AppError } from '../errors.js';
import type { PageKey } from './store.js';

const INNER = /^(0|[1-9][0-9]{0,15})\.(0|[1-9][0-9]{0,15})$/;

export function encodeCursor(key: PageKey): string {
  return `c1.${Buffer.from(`${key.createdAt}.${key.rowid}`).toString('base64url')}`;
}

/** The position a cursor names, or undefined when it is not one `encodeCursor` made. */
export function parseCursor(cursor: string): PageKey | undefined {
  const m = /^c1\.([A-Za-z0-9_-]{1,64})$/.exec(cursor);
  if (!m) return undefined;
  const n = INNER.exec(Buffer.from(m[1] as string, 'base64url').toString('utf8'));
  if (!n) return undefined;
  const key = { createdAt: Number(n[1]), rowid: Number(n[2]) };
  if (!Number.isSafeInteger(key.createdAt) || !Number.isSafeInteger(key.rowid)) return undefined;
  // base64url has more than one spelling of some byte strings: only ours is a cursor.
  return encodeCursor(key) === cursor ? key : undefined;
}

export function decodeCursor(cursor: string): PageKey {
  const key = parseCursor(cursor);
  if (!key)
    throw new AppError('invalid_input', 'This cursor is not one list_tasks gave out.', {
      hint: 'Pass the next_cursor value of the previous list_tasks answer unchanged, or omit cursor for the first page.',
    });
  return key;
}
