/**
 * Request guards for the HTTP transport: bearer token (constant time), Origin allow-list, Host
 * allow-list against DNS rebinding, and a capped body reader. Pure functions over node:http types so
 * each is testable and the request handler reads as a list of checks.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';

/** Loopback names and addresses: the only binds allowed without a token. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}

export function isWildcard(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  return h === '0.0.0.0' || h === '::';
}

/** `host:port` as a client writes it in a Host header (IPv6 in brackets). */
function hostPort(host: string, port: number): string {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return isIP(h) === 6 ? `[${h}]:${port}` : `${h}:${port}`;
}

/**
 * Host headers accepted: the loopback names, the bind host, and for a wildcard bind every local
 * interface address and the machine name (clients reach it by those). Anything else is a rebinding
 * attempt or a misdirected request. A public name given (`--allowed-host`) also passes without a
 * port, as clients name a server on the default port (https://lipsync.example.com/mcp) and a proxy in
 * front passes that Host on; given with :443 or :80, it passes with that port or none.
 */
export function allowedHostHeaders(bindHost: string, port: number, extra: string[] = []): Set<string> {
  // A name given with its port (`mcp.example.com:443`, a load balancer's) is taken as is.
  const withPort = extra.filter((n) => /^(\[[^\]]+\]|[^:]+):\d+$/.test(n)).map((n) => n.toLowerCase());
  const bare = [
    ...extra.filter((n) => !withPort.includes(n.toLowerCase())),
    ...withPort.filter((n) => /:(443|80)$/.test(n)).map((n) => n.replace(/:\d+$/, '')),
  ].map((n) => n.toLowerCase());
  const names = [
    'localhost',
    '127.0.0.1',
    '::1',
    bindHost,
    ...extra.filter((n) => !withPort.includes(n.toLowerCase())),
  ];
  if (isWildcard(bindHost)) {
    names.push(hostname());
    for (const list of Object.values(networkInterfaces()))
      for (const a of list ?? []) names.push(a.address.split('%')[0] as string);
  }
  return new Set([...names.map((n) => hostPort(n, port)), ...withPort, ...bare]);
}

/** Digests have equal length, so timingSafeEqual never throws and the length of the token never leaks. */
export function tokenMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer[ ]+(\S+)\s*$/i.exec(header ?? '');
  const given = createHash('sha256')
    .update(m?.[1] ?? '')
    .digest();
  const want = createHash('sha256').update(token).digest();
  return timingSafeEqual(given, want) && m !== null;
}

/**
 * No Origin: a non-browser client, allowed. A browser's Origin must be listed exactly, or, when the
 * server is bound to loopback, be a loopback origin itself (a local page or tool on any port): a
 * rebinding page cannot forge that, and its Host is checked separately.
 */
export function originAllowed(
  origin: string | undefined,
  allowed: string[],
  acceptLoopback = false,
): boolean {
  if (origin === undefined) return true;
  const o = origin.replace(/\/+$/, '').toLowerCase();
  if (allowed.some((a) => a.replace(/\/+$/, '').toLowerCase() === o)) return true;
  return acceptLoopback && isLoopbackOrigin(o);
}

/** `http(s)://localhost|127.x.x.x|[::1]` with any port, and nothing else (no path, no look-alikes). */
export function isLoopbackOrigin(origin: string): boolean {
  let u: URL;
  try {
    u = new URL(origin);
  } catch {
    return false;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return false;
  if (u.username || u.password || (u.pathname !== '/' && u.pathname !== '')) return false;
  return isLoopback(u.hostname);
}

export class BodyTooLarge extends Error {}

/** Reads the body, refusing as soon as it passes `max` bytes (declared or actual). */
export async function readCappedBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > max) throw new BodyTooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > max) throw new BodyTooLarge();
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}
