/**
 * A real OAuth 2.1 authorization server for the tests: `oidc-provider` on loopback, with resource
 * indicators (RFC 8707: the token's audience is the resource it was asked for), client credentials,
 * introspection, revocation and dynamic registration. Tokens come from its token endpoint; the tests
 * never mint one. Its signing keys are generated per start; `rotate()` replaces them (a new `kid`).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';
import MemoryAdapter from 'oidc-provider/lib/adapters/memory_adapter.js';

export const READ_SCOPE = 'tasks:read';
export const PAY_SCOPE = 'tasks:pay';
export const BOTH_SCOPES = `${READ_SCOPE} ${PAY_SCOPE}`;

export interface TestClient {
  client_id: string;
  client_secret: string;
  /** Scopes this client may ask for. */
  scope: string;
}

/** A user of the tests: a confidential client that gets its tokens by client credentials. */
export const userClient = (id: string): TestClient => ({
  client_id: id,
  client_secret: `${id}-secret-0123456789abcdef0123456789`,
  scope: BOTH_SCOPES,
});

export interface IssuerOptions {
  /** Resource servers this issuer knows (default: any loopback URL); a token for another is refused. */
  resources?: (resource: string) => boolean;
  clients: TestClient[];
  /** `jwt` (default) or `opaque` (only introspection can tell what it means). */
  format?: 'jwt' | 'opaque';
  /** Access token lifetime, seconds (default 300). */
  ttlSeconds?: number;
  /** Listen on this port (a restart with new keys keeps the issuer URL). */
  port?: number;
  /**
   * Users sign in: the authorization-code flow (PKCE) with oidc-provider's own login and consent pages
   * (devInteractions: any login name is an account), for clients that register themselves.
   */
  interactive?: boolean;
  /**
   * Client ID metadata documents: a client_id that is an HTTPS URL is the client's document, read with
   * `fetch` (it must name itself as client_id). The metadata says `client_id_metadata_document_supported`.
   */
  metadataDocuments?: { fetch(url: string): Promise<unknown> };
}

/** oidc-provider's in-memory storage, where a Client whose id is an HTTPS URL is read from that URL. */
function documentAdapter(read: (url: string) => Promise<unknown>) {
  return class extends MemoryAdapter {
    override async find(id: string) {
      if (this.model !== 'Client' || !id.startsWith('https://')) return super.find(id);
      const doc = (await read(id).catch(() => undefined)) as Record<string, unknown> | undefined;
      // A document that does not name itself is not this client's (draft-ietf-oauth-client-id-metadata-document).
      return doc && doc.client_id === id ? doc : undefined;
    }
  };
}

export interface TestIssuer {
  issuer: string;
  port: number;
  /** A token from the token endpoint (client credentials, with a resource indicator). */
  token(client: TestClient, opts: { resource: string; scope?: string }): Promise<string>;
  /** Revokes a token at the issuer (RFC 7009). */
  revoke(client: TestClient, token: string): Promise<void>;
  /** Registers a client dynamically (RFC 7591); returns it with its management URL and token. */
  register(scope: string): Promise<TestClient & { manage: { uri: string; token: string } }>;
  /** Deletes a dynamically registered client (RFC 7592): the client is revoked. */
  unregister(client: { manage: { uri: string; token: string } }): Promise<void>;
  close(): Promise<void>;
}

export async function startIssuer(o: IssuerOptions): Promise<TestIssuer> {
  const http: Server = createServer();
  await new Promise<void>((r) => http.listen(o.port ?? 0, '127.0.0.1', r));
  const port = (http.address() as AddressInfo).port;
  const issuer = `http://127.0.0.1:${port}`;
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = {
    ...(await exportJWK(privateKey)),
    kid: randomBytes(8).toString('hex'),
    alg: 'ES256',
    use: 'sig',
  };
  const provider = new Provider(issuer, {
    clients: o.clients.map((c) => ({
      ...c,
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
      id_token_signed_response_alg: 'ES256',
    })),
    jwks: { keys: [jwk] },
    // Its only key is an EC one: clients that register themselves get ES256 ID tokens.
    clientDefaults: {
      grant_types: ['authorization_code'],
      id_token_signed_response_alg: 'ES256',
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
    cookies: { keys: [randomBytes(16).toString('hex')] },
    ttl: { ClientCredentials: o.ttlSeconds ?? 300 },
    scopes: [READ_SCOPE, PAY_SCOPE],
    features: {
      devInteractions: { enabled: !!o.interactive },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      registration: { enabled: true },
      registrationManagement: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: (_ctx: unknown, _client: unknown, oneOf?: string | string[]) => oneOf,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx: unknown, resource: string) => {
          const known = o.resources ?? ((r: string) => r.startsWith('http://127.0.0.1:'));
          if (!known(resource)) throw new Error(`unknown resource ${resource}`);
          return {
            scope: `${READ_SCOPE} ${PAY_SCOPE}`,
            audience: resource,
            accessTokenTTL: o.ttlSeconds ?? 300,
            accessTokenFormat: o.format ?? 'jwt',
            jwt: { sign: { alg: 'ES256' } },
          };
        },
      },
    },
    ...(o.metadataDocuments
      ? {
          adapter: documentAdapter((url) => o.metadataDocuments!.fetch(url)),
          discovery: { client_id_metadata_document_supported: true },
        }
      : {}),
  } as never);
  // oidc-provider refuses plain http unless told the proxy terminates TLS; loopback tests only.
  http.on('request', provider.callback());

  const form = async (path: string, body: Record<string, string>, client?: TestClient) => {
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    if (client)
      headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(client.client_id)}:${encodeURIComponent(client.client_secret)}`).toString('base64')}`;
    return fetch(`${issuer}${path}`, { method: 'POST', headers, body: new URLSearchParams(body) });
  };

  return {
    issuer,
    port,
    async token(client, { resource, scope }) {
      const res = await form(
        '/token',
        { grant_type: 'client_credentials', resource, ...(scope ? { scope } : {}) },
        client,
      );
      const json = (await res.json()) as {
        access_token?: string;
        error?: string;
        error_description?: string;
      };
      if (!json.access_token)
        throw new Error(`issuer refused a token: ${json.error} ${json.error_description}`);
      return json.access_token;
    },
    async revoke(client, token) {
      const res = await form('/token/revocation', { token }, client);
      if (!res.ok) throw new Error(`revocation failed: ${res.status}`);
    },
    async register(scope) {
      const res = await fetch(`${issuer}/reg`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          grant_types: ['client_credentials'],
          redirect_uris: [],
          response_types: [],
          scope,
          id_token_signed_response_alg: 'ES256',
          token_endpoint_auth_method: 'client_secret_basic',
        }),
      });
      const j = (await res.json()) as Record<string, string>;
      if (!j.client_id) throw new Error(`registration failed: ${JSON.stringify(j)}`);
      return {
        client_id: j.client_id,
        client_secret: j.client_secret as string,
        scope,
        manage: { uri: j.registration_client_uri as string, token: j.registration_access_token as string },
      };
    },
    async unregister(client) {
      const res = await fetch(client.manage.uri, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${client.manage.token}` },
      });
      if (res.status !== 204) throw new Error(`client deletion failed: ${res.status}`);
    },
    close: () =>
      new Promise<void>((r) => {
        http.closeAllConnections();
        http.close(() => r());
      }),
  };
}
