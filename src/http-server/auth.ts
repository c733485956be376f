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
 * The token checks themselves are in oauth-verifier.ts.
 */
import type { IncomingMessage } from 'node:http';
import {
  type AuthInfo,
  bearerAuthChallengeResponse,
  buildOAuthProtectedResourceMetadata,
  getOAuthProtectedResourceMetadataUrl,
  OAuthError,
  OAuthErrorCode,
  verifyBearerToken,
} from '@modelcontextprotocol/server';
import { TOOL_LISTING } from '../../tools/index.js';
import type { App } from '../app.js';
import type { Clock } from '../clock.js';
import type { OAuthSettings } from '../config.js';
import { LOCAL_PRINCIPAL, scopedLedger, scopeOf } from '../jobs/principal.js';
import { MAX_URIS_PER_LISTEN } from '../mcp/listen.js';
import { taskIdOf } from '../mcp/resources.js';
import type { Refusal } from './chain.js';
import { IssuerVerifier } from './oauth-verifier.js';

/** What a request carries past the gate (read by the SDK's transports as `req.auth`). */
export type AuthedRequest = IncomingMessage & { auth?: AuthInfo };

/** The principal a request acts for: its token's issuer and subject, or the local one. */
export function principalOf(auth: AuthInfo | undefined): string {
  const p = auth?.extra?.principal;
  return typeof p === 'string' ? p : LOCAL_PRINCIPAL;
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
  // A refused request's challenge names both scopes, the ones the connector's tools need: clients take
  // their scope from it (MCP scope selection), register with it, and the user consents once. Naming
  // the read scope alone, the first paid call would send the user back to the issuer mid-call, and an
  // issuer that binds a registered client to its registration scope refuses the pay scope then.
  const challenge = { ...options, requiredScopes: [o.settings.readScope, o.settings.payScope] };
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
        return refusalFrom(bearerAuthChallengeResponse(err, challenge));
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
        return refusalFrom(bearerAuthChallengeResponse(err, challenge));
      }
      return undefined;
    },
  };
}

/**
 * A 2026-07-28 `subscriptions/listen` request as its user may make it: the task URIs of tasks they
 * cannot see are dropped from its filter before the SDK reads it (it then honours only the rest), so
 * no stream hears when another user's task changes. For everyone, URIs that name no task in the ledger
 * are left out, and at most the subscription cap are kept (the spec's "subset the server accepted").
 */
export async function listenAsSeen(
  app: Pick<App, 'ledger' | 'config'>,
  auth: AuthInfo | undefined,
  body: unknown,
): Promise<unknown> {
  const scope = scopeOf(principalOf(auth), app.config.http.teamReuse);
  const m = body as { params?: { notifications?: { resourceSubscriptions?: unknown } } };
  const uris = m?.params?.notifications?.resourceSubscriptions;
  if (!Array.isArray(uris)) return body;
  // The subset accepted (what the acknowledgement lists): URIs of tasks in the ledger that this caller
  // sees, at most the subscription cap; anything else is left out (never an error, never a 500).
  const ledger = scopedLedger(app.ledger, scope);
  const kept: unknown[] = [];
  const max = Math.min(MAX_URIS_PER_LISTEN, app.config.maxSubscriptions);
  // At most MAX_URIS_PER_LISTEN looked up, whatever the list's length.
  for (const uri of [...new Set(uris.slice(0, MAX_URIS_PER_LISTEN))]) {
    if (kept.length >= max) break;
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
