/** What `startHttpServer` is given (the CLI builds it from the config; tests pass their own). */
import type { Clock } from '../clock.js';
import type { OAuthSettings } from '../config.js';
import type { HttpLimits } from './limits.js';

export interface HttpServerOptions {
  host: string;
  port: number;
  /** Required by the CLI off loopback; when set, every /mcp request needs `Authorization: Bearer`. */
  token?: string;
  allowedOrigins: string[];
  maxBodyBytes: number;
  /** Extra Host header names to accept (e.g. a DNS name in front of a wildcard bind). */
  allowedHosts?: string[];
  /** A session with no request for this long ends (default 5 minutes). */
  sessionIdleMs?: number;
  /** At most this many sessions at once; more initializations get 503 + Retry-After (default 200). */
  maxSessions?: number;
  /**
   * How 2025-era clients are served (default `memory`): `stateless`, every POST on its own (any instance
   * answers any request), or `memory`, sessions held by this process (see the file's comment).
   */
  legacySessions?: 'stateless' | 'memory';
  /** Honour the client's MCP roots, only inside the allowed folders (default: ignore them). */
  trustRoots?: boolean;
  /** Connection cap and timeouts (default DEFAULT_LIMITS; the CLI passes LIPSYNC_HTTP_*). */
  limits?: HttpLimits;
  /** Drives session expiry (tests inject one). */
  clock?: Clock;
  /** OAuth 2.1 resource-server mode (auth.ts): per-user tokens from this issuer instead of `token`. */
  oauth?: OAuthSettings;
}
