/**
 * The AppError family. Everything the server throws on purpose is an AppError with a stable `code`,
 * a message a person can act on, and a `hint` that says what to do next. Unknown errors are wrapped
 * once, at the boundary (tool result, CLI), by {@link toUserError} — never shown as a stack trace.
 */
export type ErrorCode =
  | 'missing_credentials'
  | 'auth'
  | 'insufficient_credits'
  | 'plan_required'
  | 'rate_limited'
  | 'daily_limit'
  | 'invalid_input'
  | 'not_found'
  | 'provider_failed'
  | 'unavailable'
  | 'timeout'
  | 'conflict'
  | 'unsupported'
  | 'internal';

export interface AppErrorOptions {
  hint?: string;
  retryable?: boolean;
  /** Milliseconds the caller should wait before retrying (from Retry-After or the provider's rule). */
  retryAfterMs?: number;
  /** Extra machine-readable facts safe to show (never secrets). */
  details?: Record<string, unknown>;
  cause?: unknown;
  /** Proof that no paid task exists (the provider refused, or the request never left). */
  noTaskCreated?: boolean;
  /** For transport failures: whether the request may have reached the server. */
  requestSent?: boolean;
}

/**
 * The public keys of `details`, in snake_case. They are part of the error contract (documented in the
 * README); control flags such as "no task was created" are typed fields of AppError instead.
 */
export const DETAIL_KEYS = [
  'api',
  'charged',
  'flag',
  'http_status',
  'missing_key',
  'models_tried',
  'provider_code',
  'role',
  'session_id',
  'stream',
  'task_id',
  'transport',
] as const;
export type DetailKey = (typeof DETAIL_KEYS)[number];

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  readonly details: Record<string, unknown> | undefined;
  readonly noTaskCreated: boolean;
  readonly requestSent: boolean | undefined;

  constructor(code: ErrorCode, message: string, opts: AppErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'AppError';
    this.code = code;
    this.hint = opts.hint;
    this.retryable = opts.retryable ?? false;
    this.retryAfterMs = opts.retryAfterMs;
    this.details = opts.details;
    this.noTaskCreated = opts.noTaskCreated ?? false;
    this.requestSent = opts.requestSent;
  }

  /** The same error, marked as proof that no paid task exists. */
  withNoTaskCreated(extra: Partial<AppErrorOptions> = {}): AppError {
    return new AppError(this.code, this.message, {
      hint: this.hint,
      retryable: this.retryable,
      retryAfterMs: this.retryAfterMs,
      details: this.details,
      cause: this.cause,
      requestSent: this.requestSent,
      ...extra,
      noTaskCreated: true,
    });
  }
}

/** True when `err` proves no paid task was made: a refusal, or a request that never left. */
export function provesNoTask(err: unknown): boolean {
  return isAppError(err) && (err.noTaskCreated || err.requestSent === false);
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}

/** What a user (or agent) sees: `{ code, message, hint }`, with every known secret removed. */
export interface UserError {
  code: ErrorCode;
  message: string;
  hint?: string;
  details?: Record<string, unknown>;
}

export function toUserError(err: unknown, redact: (s: string) => string = (s) => s): UserError {
  if (isAppError(err)) {
    const out: UserError = { code: err.code, message: redact(err.message) };
    if (err.hint) out.hint = redact(err.hint);
    if (err.details) out.details = JSON.parse(redact(JSON.stringify(err.details))) as Record<string, unknown>;
    return out;
  }
  if (err instanceof Error && err.name === 'AbortError') {
    return { code: 'timeout', message: 'The operation was cancelled before it finished.' };
  }
  return {
    code: 'internal',
    message: 'Unexpected internal error. Nothing was charged by this error itself.',
    hint: 'Run `lipsync-mcp doctor`, and report the problem with the log (stderr) if it repeats.',
  };
}
