/**
 * `serve --http`'s own route for the public folder (LIPSYNC_PUBLIC_BASE_URL ending in /files): GET or
 * HEAD `/files/<name>?exp=…&sig=…`. Only a name the publisher made, with a valid signature, before its
 * expiry, is served; everything else — a tampered or expired link, another path, the folder itself —
 * answers the same 404, without saying why. It sits before the MCP guards: the fetching service has no
 * bearer token and names this host by its public name; the signature is the check.
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { mimeFor } from '../media/mime.js';
import type { Publisher } from '../media/publish.js';

export const FILES_PREFIX = '/files/';

function notFound(res: ServerResponse): void {
  if (res.headersSent) return void res.destroy();
  res.writeHead(404, { 'content-type': 'text/plain', 'cache-control': 'no-store' }).end('Not found.\n');
}

/** Handles `req` if it is for /files/ (then returns true); otherwise leaves it alone. */
export function servePublic(
  publisher: Pick<Publisher, 'resolve'>,
  req: IncomingMessage,
  res: ServerResponse,
): boolean {
  const url = new URL(req.url ?? '/', 'http://files');
  if (url.pathname !== '/files' && !url.pathname.startsWith(FILES_PREFIX)) return false;
  const name = url.pathname.slice(FILES_PREFIX.length);
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    notFound(res);
    return true;
  }
  send(publisher, name, url, req, res).catch(() => notFound(res));
  return true;
}

async function send(
  publisher: Pick<Publisher, 'resolve'>,
  name: string,
  url: URL,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const path = await publisher.resolve(name, url.searchParams.get('exp'), url.searchParams.get('sig'));
  if (!path) return notFound(res);
  const fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  // The size of the file actually opened (a removal in between leaves this one readable to the end).
  const st = await fh.stat().catch(() => undefined);
  if (!st?.isFile()) {
    await fh.close();
    return notFound(res);
  }
  res.writeHead(200, {
    'content-type': mimeFor(name),
    'content-length': st.size,
    'cache-control': 'private, no-store',
    'x-content-type-options': 'nosniff',
  });
  if (req.method === 'HEAD') {
    await fh.close();
    res.end();
    return;
  }
  const stream = fh.createReadStream();
  stream.once('error', () => res.destroy());
  res.once('close', () => stream.destroy());
  stream.pipe(res);
}
