/**
 * Checks an issuer's access tokens (issue 29): JWTs against its published keys with `jose` (fetched,
 * cached, fetched again for an unknown key id: rotation), opaque tokens by introspection (RFC 7662).
 * The SDK's `verifyBearerToken` calls it (auth.ts) and then checks the audience, scopes and expiry.
 */
import {
  type AuthInfo,
  OAuthError,
  OAuthErrorCode,
  type OAuthTokenVerifier,
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
import type { Clock } from '../clock.js';
import type { OAuthSettings } from '../config.js';

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
