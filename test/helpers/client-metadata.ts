/**
 * Where a host publishes its client ID metadata document (the 2026-07-28 revision's preferred way for a
 * client to register: its client_id is the document's HTTPS URL, and the issuer fetches it). An HTTPS
 * server on loopback with a certificate made for the test by openssl; `fetch` is how an issuer that
 * trusts that certificate reads a document (and each read is recorded).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, fetch as undiciFetch } from 'undici';
import { onPath } from './system-tools.js';

export const OPENSSL = onPath(['openssl']);
export const opensslSkip: string | false = OPENSSL
  ? false
  : 'needs openssl to make the HTTPS certificate of a client ID metadata document (apt-get install openssl)';

export interface MetadataHost {
  /** The HTTPS URL of `path` on this host. */
  url(path: string): string;
  publish(path: string, doc: object): void;
  /** Reads a document as an issuer does (this host's certificate trusted). */
  fetch(url: string): Promise<unknown>;
  /** The paths read so far. */
  fetched: string[];
  close(): Promise<void>;
}

export async function startMetadataHost(): Promise<MetadataHost> {
  if (!OPENSSL) throw new Error('openssl is not installed');
  const dir = mkdtempSync(join(tmpdir(), 'lipsync-cimd-'));
  const [key, cert] = [join(dir, 'key.pem'), join(dir, 'cert.pem')];
  execFileSync(
    OPENSSL,
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  const ca = readFileSync(cert, 'utf8');
  const docs = new Map<string, string>();
  const fetched: string[] = [];
  const server = createServer({ key: readFileSync(key), cert: ca }, (req, res) => {
    const doc = docs.get(req.url ?? '');
    fetched.push(req.url ?? '');
    if (!doc) res.writeHead(404).end();
    else res.writeHead(200, { 'content-type': 'application/json' }).end(doc);
  });
  rmSync(dir, { recursive: true, force: true });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const agent = new Agent({ connect: { ca } });
  return {
    url: (path) => `${origin}${path}`,
    publish: (path, doc) => docs.set(path, JSON.stringify(doc)),
    async fetch(url) {
      const res = await undiciFetch(url, { dispatcher: agent });
      return res.ok ? res.json() : undefined;
    },
    fetched,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await agent.close();
    },
  };
}
