/**
 * Input URLs go to a cloud provider, which fetches them from the internet. A loopback, private,
 * link-local or metadata address cannot be fetched from there: each one would be a paid job that
 * can only fail, and it tells a third party about the user's network. Such URLs are refused before
 * any request, after resolving the host name (a public name can point at a private address), unless
 * a setting allows them (a provider running inside the user's own network).
 *
 * The WHATWG URL parser already turns the decimal, hex and octal forms of an IPv4 address
 * (`http://2130706433/`, `http://0x7f000001/`) into dotted form, and IPv4-mapped IPv6 into
 * `::ffff:7f00:1`, which BlockList matches against the IPv4 ranges.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

export interface LookupAddress {
  address: string;
  family: number;
}
/** Resolves a host name to all its addresses (dns.promises.lookup with `all: true`). */
export type HostLookup = (host: string) => Promise<LookupAddress[]>;

export const systemLookup: HostLookup = (host) => dnsLookup(host, { all: true, verbatim: true });

/** Longest a name lookup may take; a slower resolver is not waited for (the provider decides). */
const LOOKUP_TIMEOUT_MS = 3000;

const IPV4_BLOCKED: [string, number][] = [
  ['0.0.0.0', 8], // "this network", including 0.0.0.0
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata (169.254.169.254)
  ['172.16.0.0', 12],
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.168.0.0', 16],
  ['198.18.0.0', 15], // benchmarking
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, and the broadcast address
];
const IPV6_BLOCKED: [string, number][] = [
  ['::', 96], // unspecified, and the deprecated IPv4-compatible form (::127.0.0.1)
  ['::1', 128], // loopback
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // old site-local
  ['ff00::', 8], // multicast
];

const blocked = new BlockList();
for (const [net, prefix] of IPV4_BLOCKED) blocked.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of IPV6_BLOCKED) blocked.addSubnet(net, prefix, 'ipv6');

/** Names that always mean "this machine" or a cloud metadata service, whatever DNS says. */
const BLOCKED_NAMES = ['localhost', 'metadata.google.internal', 'metadata', 'instance-data'];
const BLOCKED_SUFFIXES = ['.localhost', '.internal', '.local', '.home.arpa'];

/** True for loopback, private, link-local, CGNAT, unique-local, multicast and reserved addresses. */
export function isPrivateAddress(ip: string): boolean {
  const family = isIP(ip);
  if (family === 4) return blocked.check(ip, 'ipv4');
  if (family === 6) return blocked.check(ip, 'ipv6');
  return false;
}

/** True for names that stand for this machine or a metadata service (no lookup needed). */
export function isPrivateName(host: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  return BLOCKED_NAMES.includes(h) || BLOCKED_SUFFIXES.some((s) => h.endsWith(s));
}

export interface PrivateVerdict {
  /** What made it private: the host itself, or the address its name resolved to. */
  reason: string;
}

/**
 * Says why `url`'s host is not reachable from the internet, or undefined when it is (or when the
 * name cannot be resolved here: then the provider decides, as before).
 */
export async function privateHost(
  url: URL,
  lookup: HostLookup = systemLookup,
  timeoutMs = LOOKUP_TIMEOUT_MS,
): Promise<PrivateVerdict | undefined> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host)) return isPrivateAddress(host) ? { reason: `${host} is a ${kindOf(host)}` } : undefined;
  if (isPrivateName(host)) return { reason: `${host} names this machine or a cloud metadata service` };
  const embedded = embeddedAddress(host);
  if (embedded && isPrivateAddress(embedded))
    return {
      reason: `${host} spells out ${embedded}, a ${kindOf(embedded)} (wildcard DNS names resolve to it)`,
    };
  const answers = await lookupBounded(lookup, host, timeoutMs);
  const bad = answers.find((a) => isPrivateAddress(a.address));
  return bad ? { reason: `${host} resolves to ${bad.address}, a ${kindOf(bad.address)}` } : undefined;
}

/**
 * An IPv4 address spelled out inside a name, as wildcard-DNS services (nip.io, sslip.io and the like)
 * resolve it: `169.254.169.254.nip.io`, `10-0-0-1.sslip.io`. Checked without a lookup, so a name like
 * that is refused even where DNS does not answer here (a lookup that fails lets other names through).
 */
export function embeddedAddress(host: string): string | undefined {
  const m = /(?:^|[.-])((?:\d{1,3}[.-]){3}\d{1,3})(?=[.-]|$)/.exec(host);
  if (!m?.[1]) return undefined;
  const ip = m[1].replace(/-/g, '.');
  return isIP(ip) === 4 ? ip : undefined;
}

async function lookupBounded(lookup: HostLookup, host: string, ms: number): Promise<LookupAddress[]> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<LookupAddress[]>((done) => {
    timer = setTimeout(() => done([]), ms);
    timer.unref();
  });
  try {
    return await Promise.race([lookup(host).catch(() => []), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function kindOf(ip: string): string {
  const v4 = ip.toLowerCase().replace(/^::ffff:/, '');
  if (/^127\.|^::1$/.test(v4)) return 'loopback address';
  if (/^169\.254\.|^fe[89ab]/i.test(v4)) return 'link-local address (where cloud metadata lives)';
  if (/^0\.|^::$/.test(v4)) return 'placeholder address for this machine';
  return 'private or reserved address';
}
