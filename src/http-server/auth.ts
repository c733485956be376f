/**
 * The HTTP face as an OAuth 2.1 resource server (MCP authorization spec, 2025-11-25 and 2026-07-28;
 * issue 29). Three parts, each from something we already depend on:
 * - the protected-resource metadata (RFC 9728) at /.well-known/oauth-protected-resource[/mcp], built
 *   by the SDK (`buildOAuthProtectedResourceMetadata`), naming the issuer: clients find the issuer
 *   there and register with it (client ID metadata documents, or dynamic registration where the
 *   issuer offers it) — this server never sees a client secret;
 * - every /mcp request's bearer token checked by the SDK (`verifyBearerToken`: the audience must be
 *   this resource, the read scope present, an expiry present) through a verifier that checks the
 *   signature against the issuer's keys with `jose` (JWKS fetched, cached, fetched again for an
 *   unknown key id: rotation), or asks the issuer (introspection, RFC 7662) for tokens that are not
 *   JWTs; a refusal is the SDK's 401/403 with `WWW-Authenticate: Bearer … resource_metadata=…`;
 * - a paid tool call needs the pay scope as well: 403 `insufficient_scope` naming it.
 * The principal of a request is `<issuer>#<sub>`; bearer-token and stdio mode have one fixed principal.
 */
import type { IncomingMessage } from 'node:http';
import {
  type AuthInfo,
  bearerAuthChallengeResponse,
  buildOAuthProtectedResourceMetadata,
  getOAuthProtectedResourceMetadataUrl,
  OAuthError,
  OAuthErrorCode,
  type OAuthTokenVerifier,
  verifyBearerToken,
} from '@modelcontextprotocol/server';
import {
  createLocalJWKSet,
  decodeJwt,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyOptions,
  errors as joseErrors,
  jwtVerify,
} from 'jose';
import { TOOL_LISTING } from '../../tools/index.js';
import type { App } from '../app.js';
import type { Clock } from '../clock.js';
import type { OAuthSettings } from '../config.js';
import { LOCAL_PRINCIPAL, scopedLedger, scopeOf } from '../jobs/principal.js';
import { MAX_URIS_PER_LISTEN } from '../mcp/listen.js';
import { taskIdOf } from '../mcp/resources.js';
import type { Refusal } from './chain.js';

/** What a request carries past the gate (read by the SDK's transports as `req.auth`). */
export type AuthedRequest = IncomingMessage & { auth?: AuthInfo };

/** The principal a request acts for: its token's issuer and subject, or the local one. */
export function principalOf(auth: AuthInfo | undefined): string {
  const p = auth?.extra?.principal;
  return typeof p === 'string' ? p : LOCAL_PRINCIPAL;
}

interface IssuerMetadata {
  issuer: string;
  jwks_uri?: string;
  introspection_endpoint?: string;
  [k: string]: unknown;
}

const ASYMMETRIC = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

/** RFC 8414 well-known URLs for an issuer (path-aware), then OpenID discovery. */
function discoveryUrls(issuer: string): string[] {
  const u = new URL(issuer);
  const path = u.pathname.replace(/\/+$/, '');
  return [
    `${u.origin}/.well-known/oauth-authorization-server${path}`,
    `${u.origin}/.well-known/openid-configuration${path}`,
    `${u.origin}${path}/.well-known/openid-configuration`,
  ];
}

const invalid = (message: string) => new OAuthError(OAuthErrorCode.InvalidToken, message);

export interface VerifierOptions {
  settings: OAuthSettings;
  resource: string;
  clock: Clock;
  /** For the issuer's metadata, keys and introspection (tests: the loopback issuer). */
  fetch?: typeof fetch;
}

/**
 * Checks access tokens issued by one issuer for one resource. The issuer's metadata is read on first
 * use (and again after a failure); the key set is jose's remote JWKS (cached `jwksCacheMs`, refetched
 * at once for a key id it does not know, at most once per cooldown).
 */
export class IssuerVerifier implements OAuthTokenVerifier {
  private meta?: Promise<IssuerMetadata>;
  private keys?: IssuerKeys;
  private readonly fetch: typeof fetch;

  constructor(private readonly o: VerifierOptions) {
    this.fetch = o.fetch ?? fetch;
  }

  async verifyAccessToken(token: string): Promise<AuthInfo> {
    const meta = await this.metadata();
    const looksJwt = token.split('.').length === 3;
    if (looksJwt && meta.jwks_uri) return this.verifyJwt(token, meta.jwks_uri);
    if (this.introspectionUrl(meta) && this.o.settings.client) return this.introspect(token, meta);
    throw invalid(
      looksJwt
        ? 'The issuer publishes no signing keys (jwks_uri) to check this token with.'
        : 'This token is not a JWT, and no introspection endpoint and client are configured (LIPSYNC_OAUTH_CLIENT_ID).',
    );
  }

  private metadata(): Promise<IssuerMetadata> {
    if (!this.meta) {
      this.meta = this.discover();
      this.meta.catch(() => {
        this.meta = undefined;
      });
    }
    return this.meta;
  }

  private async discover(): Promise<IssuerMetadata> {
    for (const url of discoveryUrls(this.o.settings.issuer)) {
      const res = await this.fetch(url, { signal: AbortSignal.timeout(10_000) }).catch(() => undefined);
      if (!res?.ok) continue;
      const meta = (await res.json().catch(() => undefined)) as IssuerMetadata | undefined;
      if (meta?.issuer !== this.o.settings.issuer) continue;
      return meta;
    }
    throw new OAuthError(
      OAuthErrorCode.ServerError,
      `The issuer ${this.o.settings.issuer} publishes no metadata naming itself; check LIPSYNC_OAUTH_ISSUER.`,
    );
  }

  private async verifyJwt(token: string, jwksUri: string): Promise<AuthInfo> {
    this.keys ??= new IssuerKeys(jwksUri, this.o.settings.jwksCacheMs, this.o.clock, this.fetch);
    let payload: JWTPayload;
    try {
      ({ payload } = await this.keys.verify(token, {
        issuer: this.o.settings.issuer,
        audience: this.o.resource,
        algorithms: ASYMMETRIC,
        clockTolerance: this.o.settings.clockSkewSeconds,
        currentDate: new Date(this.o.clock.now()),
        requiredClaims: ['exp', 'sub'],
      }));
    } catch (err) {
      throw invalid(jwtRefusal(err, token, this.o));
    }
    return this.authInfo(token, payload);
  }

  private introspectionUrl(meta: IssuerMetadata): string | undefined {
    return this.o.settings.introspectionUrl ?? meta.introspection_endpoint;
  }

  private async introspect(token: string, meta: IssuerMetadata): Promise<AuthInfo> {
    const client = this.o.settings.client as NonNullable<OAuthSettings['client']>;
    const secret = client.secret && 'value' in client.secret ? client.secret.value : '';
    const basic = Buffer.from(`${encodeURIComponent(client.id)}:${encodeURIComponent(secret)}`).toString(
      'base64',
    );
    const res = await this.fetch(this.introspectionUrl(meta) as string, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${basic}` },
      body: new URLSearchParams({ token, token_type_hint: 'access_token' }),
      signal: AbortSignal.timeout(10_000),
    }).catch(() => undefined);
    if (!res?.ok)
      throw new OAuthError(
        OAuthErrorCode.ServerError,
        `The issuer's introspection endpoint did not answer (HTTP ${res?.status ?? 'none'}); check LIPSYNC_OAUTH_CLIENT_ID and its secret.`,
      );
    const p = (await res.json()) as JWTPayload & { active?: boolean };
    if (p.active !== true)
      throw invalid('The issuer says this token is not active (revoked, expired or unknown).');
    if (p.iss !== undefined && p.iss !== this.o.settings.issuer)
      throw invalid('The token was issued by another issuer.');
    const aud = Array.isArray(p.aud) ? p.aud : p.aud === undefined ? [] : [p.aud];
    if (!aud.includes(this.o.resource))
      throw invalid(`The token was issued for another resource, not ${this.o.resource}.`);
    const now = this.o.clock.now() / 1000;
    if (typeof p.exp !== 'number' || p.exp + this.o.settings.clockSkewSeconds < now)
      throw invalid('The token has expired; get a new one from the issuer.');
    if (typeof p.sub !== 'string' && typeof p.client_id !== 'string')
      throw invalid('The token names no subject.');
    return this.authInfo(token, { ...p, sub: p.sub ?? String(p.client_id), iss: this.o.settings.issuer });
  }

  private authInfo(token: string, p: JWTPayload): AuthInfo {
    const scopes = typeof p.scope === 'string' ? p.scope.split(' ').filter(Boolean) : [];
    const clientId = typeof p.client_id === 'string' ? p.client_id : typeof p.azp === 'string' ? p.azp : '';
    return {
      token,
      clientId,
      scopes,
      // The SDK compares this with its own clock; the skew allowance is ours to give.
      expiresAt: (p.exp as number) + this.o.settings.clockSkewSeconds,
      resource: new URL(this.o.resource),
      extra: { principal: `${this.o.settings.issuer}#${p.sub}`, subject: p.sub },
    };
  }
}

/** An unknown key id fetches the key set again at most this often (a flood of made-up ids cannot). */
const KEYS_COOLDOWN_MS = 30_000;
const MAX_JWKS_BYTES = 256 * 1024;

/**
 * The issuer's signing keys (its JWKS), checked by jose's local key set: kept `cacheMs`, fetched again
 * at once when a token names a key id the set lacks (rotation), at most once per cooldown. Time is
 * this server's clock, so tests drive it.
 */
class IssuerKeys {
  private current?: { set: ReturnType<typeof createLocalJWKSet>; at: number };
  private loading?: Promise<void>;

  constructor(
    private readonly uri: string,
    private readonly cacheMs: number,
    private readonly clock: Clock,
    private readonly fetch: typeof globalThis.fetch,
  ) {}

  async verify(token: string, options: JWTVerifyOptions) {
    if (!this.current || this.clock.now() - this.current.at > this.cacheMs) await this.reload();
    try {
      return await jwtVerify(token, (this.current as NonNullable<IssuerKeys['current']>).set, options);
    } catch (err) {
      const cooled = this.clock.now() - (this.current?.at ?? 0) >= KEYS_COOLDOWN_MS;
      if (!(err instanceof joseErrors.JWKSNoMatchingKey) || !cooled) throw err;
      await this.reload();
      return jwtVerify(token, (this.current as NonNullable<IssuerKeys['current']>).set, options);
    }
  }

  private reload(): Promise<void> {
    this.loading ??= this.load().finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  private async load(): Promise<void> {
    const res = await this.fetch(this.uri, { signal: AbortSignal.timeout(10_000) }).catch(() => undefined);
    const text = res?.ok ? await res.text() : '';
    let jwks: JSONWebKeySet | undefined;
    try {
      jwks = text.length <= MAX_JWKS_BYTES ? (JSON.parse(text) as JSONWebKeySet) : undefined;
    } catch {
      jwks = undefined;
    }
    if (!Array.isArray(jwks?.keys))
      throw new OAuthError(
        OAuthErrorCode.ServerError,
        `The issuer's signing keys could not be read from ${this.uri} (HTTP ${res?.status ?? 'none'}).`,
      );
    this.current = { set: createLocalJWKSet(jwks), at: this.clock.now() };
  }
}

/** Why jose refused a token, in words a person can act on (never the token). */
function jwtRefusal(err: unknown, token: string, o: VerifierOptions): string {
  if (err instanceof joseErrors.JWTExpired) return 'The token has expired; get a new one from the issuer.';
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    if (err.claim === 'aud') return `The token was issued for another resource, not ${o.resource}.`;
    if (err.claim === 'iss') return `The token was issued by another issuer, not ${o.settings.issuer}.`;
    if (err.claim === 'nbf') return 'The token is not valid yet (check both clocks).';
    return `The token's ${err.claim} claim is not acceptable.`;
  }
  if (err instanceof joseErrors.JWKSNoMatchingKey)
    return 'The token is signed with a key the issuer does not publish (or by another issuer).';
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return 'The token signature is not valid.';
  try {
    decodeJwt(token);
  } catch {
    return 'The token is not a valid JWT.';
  }
  return 'The token could not be verified.';
}

export interface OAuthGate {
  /** Serves the protected-resource metadata when `req` asks for it (then returns true). */
  serveMetadata(req: IncomingMessage, res: import('node:http').ServerResponse): boolean;
  /** Checks the request's token; its AuthInfo is set as `req.auth`, or the refusal is returned. */
  authenticate(req: AuthedRequest): Promise<Refusal | undefined>;
  /** A POST body that calls a paid tool needs the pay scope too. */
  payRefusal(req: AuthedRequest, body: unknown): Refusal | Promise<Refusal> | undefined;
}

export interface GateOptions {
  settings: OAuthSettings;
  /** This server's /mcp URL (the default resource). */
  serverUrl: string;
  clock: Clock;
  fetch?: typeof fetch;
}

/** The paid tools (their listing takes `confirm`): a call to one needs the pay scope. */
export function isPaidTool(name: unknown): boolean {
  if (typeof name !== 'string') return false;
  const props = (TOOL_LISTING.get(name as never)?.inputSchema as { properties?: object } | undefined)
    ?.properties;
  return !!props && 'confirm' in props;
}

function paidCalls(body: unknown): string[] {
  const msgs = Array.isArray(body) ? body : [body];
  return msgs
    .filter((m) => m && typeof m === 'object' && (m as { method?: unknown }).method === 'tools/call')
    .map((m) => (m as { params?: { name?: unknown } }).params?.name)
    .filter(isPaidTool) as string[];
}

async function refusalFrom(response: Response): Promise<Refusal> {
  const body = (await response.json().catch(() => ({}))) as { error_description?: string };
  const headers: Record<string, string> = {};
  const challenge = response.headers.get('www-authenticate');
  if (challenge) headers['www-authenticate'] = challenge;
  return {
    status: response.status,
    message: body.error_description ?? 'Unauthorized.',
    headers,
    log: { msg: 'http request refused: access token', fields: { why: body.error_description } },
  };
}

export function createOAuthGate(o: GateOptions): OAuthGate {
  const resource = o.settings.resource ?? o.serverUrl;
  const resourceMetadataUrl = getOAuthProtectedResourceMetadataUrl(new URL(resource));
  const metadataPath = new URL(resourceMetadataUrl).pathname;
  const insecure = new URL(o.settings.issuer).protocol === 'http:';
  const document = JSON.stringify(
    buildOAuthProtectedResourceMetadata({
      oauthMetadata: { issuer: o.settings.issuer } as never,
      resourceServerUrl: new URL(resource),
      scopesSupported: [o.settings.readScope, o.settings.payScope],
      resourceName: 'lipsync-mcp',
      dangerouslyAllowInsecureIssuerUrl: insecure,
    }),
  );
  const verifier = new IssuerVerifier({ settings: o.settings, resource, clock: o.clock, fetch: o.fetch });
  const options = {
    verifier,
    requiredScopes: [o.settings.readScope],
    resourceMetadataUrl,
    expectedResource: new URL(resource),
  };
  return {
    serveMetadata(req, res) {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      if (path !== metadataPath && path !== '/.well-known/oauth-protected-resource') return false;
      if (req.method !== 'GET') {
        res.writeHead(405, { allow: 'GET' }).end();
        return true;
      }
      res
        .writeHead(200, {
          'content-type': 'application/json',
          'cache-control': 'public, max-age=300',
          'access-control-allow-origin': '*',
        })
        .end(document);
      return true;
    },
    async authenticate(req) {
      try {
        req.auth = await verifyBearerToken(req.headers.authorization, options);
      } catch (err) {
        return refusalFrom(bearerAuthChallengeResponse(err, options));
      }
      return undefined;
    },
    payRefusal(req, body) {
      const auth = req.auth;
      if (!auth) return undefined;
      const paid = paidCalls(body);
      if (paid.length && !auth.scopes.includes(o.settings.payScope)) {
        const err = new OAuthError(
          OAuthErrorCode.InsufficientScope,
          `${paid[0]} can pay for a job, which needs the ${o.settings.payScope} scope; this token has only ${auth.scopes.join(' ') || 'no scope'}. Sign in again granting ${o.settings.payScope}.`,
        );
        return refusalFrom(
          bearerAuthChallengeResponse(err, {
            requiredScopes: [o.settings.readScope, o.settings.payScope],
            resourceMetadataUrl,
          }),
        );
      }
      return undefined;
    },
  };
}

/**
 * A 2026-07-28 `subscriptions/listen` request as its user may make it: the task URIs of tasks they
 * cannot see are dropped from its filter before the SDK reads it (it then honours only the rest), so
 * no stream hears when another user's task changes. The body is returned unchanged for the local one.
 */
export async function listenAsSeen(
  app: Pick<App, 'ledger' | 'config'>,
  auth: AuthInfo | undefined,
  body: unknown,
): Promise<unknown> {
  const scope = scopeOf(principalOf(auth), app.config.http.teamReuse);
  const m = body as { params?: { notifications?: { resourceSubscriptions?: unknown } } };
  const uris = m?.params?.notifications?.resourceSubscriptions;
  if (scope.owner === undefined || !Array.isArray(uris)) return body;
  const ledger = scopedLedger(app.ledger, scope);
  const kept: unknown[] = [];
  for (const uri of uris.slice(0, MAX_URIS_PER_LISTEN)) {
    let id: string | undefined;
    try {
      id = typeof uri === 'string' ? taskIdOf(uri) : undefined;
    } catch {
      id = undefined;
    }
    if (id !== undefined && (await ledger.get(id))) kept.push(uri);
  }
  const params = m.params as { notifications: Record<string, unknown> };
  return {
    ...m,
    params: { ...params, notifications: { ...params.notifications, resourceSubscriptions: kept } },
  };
}
