/**
 * Which bearer token NemoVideo calls use. A user's NEMO_TOKEN wins; otherwise a free anonymous token
 * is obtained once per client id and cached on disk (see token-file.ts) so that every process on the
 * machine shares one token — the service issues one per client per 7 days and limits them per IP.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../../clock.js';
import { type Config, isUsableSecret } from '../../config.js';
import type { Logger } from '../../logger.js';
import type { Redactor } from '../../redact.js';
import { templateTokenError } from './errors.js';
import { expiryMs, type LockTiming, type TokenCache, TokenFile } from './token-file.js';

export interface AnonymousToken {
  token: string;
  expires_at?: unknown;
  user_id?: string;
}

export type RequestAnonymousToken = (clientId: string, signal?: AbortSignal) => Promise<AnonymousToken>;

export interface AuthDeps {
  config: Config['nemo'];
  clock: Clock;
  log: Logger;
  redactor: Redactor;
  /** Overrides the token lock's timing (tests). */
  tokenLock?: LockTiming | undefined;
}

export class NemoAuth {
  private readonly file: TokenFile;
  private current: (TokenCache & { token: string }) | undefined;
  private inflight: Promise<string> | undefined;
  /** Set by the API layer once it exists (the token request itself goes through it). */
  requestAnonymous: RequestAnonymousToken | undefined;

  constructor(private readonly deps: AuthDeps) {
    this.file = new TokenFile(deps.config.tokenFile, deps.clock, deps.log, deps.tokenLock);
    const t = deps.config.token;
    if (isUsableSecret(t)) deps.redactor.add(t.value);
  }

  /** The token is the user's own NEMO_TOKEN: never replaced automatically. */
  isUser(): boolean {
    return this.deps.config.token !== undefined;
  }

  /** The anonymous user id, for the registration link (`?bind=`). */
  bindId(): string | undefined {
    return this.isUser() ? undefined : this.current?.user_id;
  }

  /** Remember the user id a session answer reports (when the token answer had none). */
  noteUserId(userId: unknown): void {
    if (this.current && typeof userId === 'string' && userId && !this.current.user_id)
      this.current.user_id = userId;
  }

  /** Where the credential comes from, for `credentials()` — never reveals the value. */
  source(): string {
    const t = this.deps.config.token;
    if (t) return t.source;
    const cached = this.file.readSync();
    if (cached?.token) this.deps.redactor.add(cached.token);
    return this.file.usable(cached, this.deps.clock.now())
      ? 'token cache'
      : 'anonymous (obtained on first use)';
  }

  /** A usable token, obtaining an anonymous one if needed. */
  async token(signal?: AbortSignal): Promise<string> {
    const t = this.deps.config.token;
    if (t) {
      if (!isUsableSecret(t)) throw templateTokenError(t.source);
      return t.value;
    }
    if (this.file.usable(this.current, this.deps.clock.now())) return this.current.token;
    return this.single(() => this.obtain(undefined, signal));
  }

  /**
   * The service rejected `rejected` (code 1001): get a new anonymous token for the same client id.
   * Only for anonymous tokens; concurrent callers share one renewal.
   */
  async renew(rejected: string, signal?: AbortSignal): Promise<string> {
    if (
      this.current &&
      this.current.token !== rejected &&
      this.file.usable(this.current, this.deps.clock.now())
    ) {
      return this.current.token;
    }
    this.current = undefined;
    return this.single(() => this.obtain(rejected, signal));
  }

  private single(fn: () => Promise<string>): Promise<string> {
    this.inflight ??= fn().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  /** Cache first; otherwise, under the cross-process lock, re-read and only then ask the service. */
  private async obtain(rejected: string | undefined, signal?: AbortSignal): Promise<string> {
    const fresh = (c: TokenCache | undefined): c is TokenCache & { token: string } =>
      this.file.usable(c, this.deps.clock.now()) && c.token !== rejected;
    const cached = await this.file.read();
    if (fresh(cached)) return this.adopt(cached);
    return this.file.withLock(async () => {
      // Another process may have obtained a token while we waited for the lock.
      const again = await this.file.read();
      if (fresh(again)) return this.adopt(again);
      const clientId = again?.client_id ?? randomUUID();
      // Persist the client id before asking, so it is reused even if this request fails.
      if (!again) await this.file.write({ client_id: clientId });
      if (!this.requestAnonymous) throw new Error('NemoAuth.requestAnonymous is not wired');
      const got = await this.requestAnonymous(clientId, signal);
      this.deps.redactor.add(got.token);
      const entry: TokenCache & { token: string } = {
        client_id: clientId,
        token: got.token,
        expires_at: expiryMs(got.expires_at, this.deps.clock.now()),
      };
      const userId = got.user_id ?? again?.user_id;
      if (userId) entry.user_id = userId;
      await this.file.write(entry);
      this.deps.log.info('obtained a NemoVideo anonymous token (100 free credits)');
      return this.adopt(entry);
    }, signal);
  }

  private adopt(c: TokenCache & { token: string }): string {
    this.deps.redactor.add(c.token);
    this.current = c;
    return c.token;
  }
}
