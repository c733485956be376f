/**
 * list_tasks cursors: opaque to the agent, a keyset position (creation time + rowid) here. A version
 * letter lets the format change without misreading old cursors.
 */
import { AppError } from '../errors.js';
import type { PageKey } from './store.js';

export function encodeCursor(key: PageKey): string {
  return `c1.${Buffer.from(`${key.createdAt}.${key.rowid}`).toString('base64url')}`;
}

export function decodeCursor(cursor: string): PageKey {
  const m = /^c1\.([A-Za-z0-9_-]{1,64})$/.exec(cursor);
  const parts = m
    ? Buffer.from(m[1] as string, 'base64url')
        .toString('utf8')
        .split('.')
    : [];
  const [createdAt, rowid] = parts.map(Number);
  if (parts.length !== 2 || !Number.isSafeInteger(createdAt) || !Number.isSafeInteger(rowid)) {
    throw new AppError('invalid_input', 'This cursor is not one list_tasks gave out.', {
      hint: 'Pass the next_cursor value of the previous list_tasks answer unchanged, or omit cursor for the first page.',
    });
  }
  return { createdAt: createdAt as number, rowid: rowid as number };
}
