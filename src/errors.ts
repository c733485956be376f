/**
 * The AppError family. Everything the server throws on purpose is an AppError with a stable `code`,
 * a message a person can act on, and a `hint` that says what to do next. Unknown errors are wrapped
 * once, at the boundary (tool result, CLI), by {@link toUserError} — never shown as a stack trace.
 */
/** Every error code, with what it means for the caller. Part of the public contract (README "Errors"). */
export const ERROR_CODES = {
  missing_credentials: 'A provider key is missing or is an unsubstituted template; `missing_key` names it.',
  auth: 'The provider refused the key. Check or replace it.',
  insufficient_credits: 'The provider account has too few credits for this job. Nothing was started.',
  plan_required: "The provider's plan does not include this feature.",
  rate_limited: 'Too many requests; retry after `retry_after_seconds` (the message gives the same wait).',
  daily_limit: "The provider's daily limit is reached; retry tomorrow or use another provider.",
  invalid_input:
    'An argument, file, URL or setting is not acceptable; the message says which (`flag`, `role`).',
  not_found: 'The task, session or endpoint does not exist.',
  provider_failed: 'The provider could not do the job; its message is included.',
  unavailable: 'The provider (or ffmpeg) cannot be reached or run right now; usually worth retrying later.',
  timeout: 'A request or operation took too long, or was cancelled.',
  conflict: 'The request clashes with the state of a task or session.',
  unsupported: 'The provider does not support this kind of job or input.',
  spend_cap: 'A daily spend cap (`setting` names it) would be passed; nothing was sent. Ask the user.',
  confirmation_required:
    'A paid job needs the user to confirm it: ask the user, then call again with `confirm: true` (CLI: `--confirm`).',
  declined: 'The user declined the paid job; nothing was created.',
  cancelled:
    'The client cancelled the task (MCP tasks/cancel): a local job was stopped. A paid job is never undone.',
  internal:
    'A bug in lipsync-mcp. Nothing was charged by the error itself; run `lipsync-mcp doctor` and report it.',
} as const;
export type ErrorCode = keyof typeof ERROR_CODES;

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
 * The public keys of `details`, in snake_case, with their meaning. They are part of the error contract
 * (the README's "Errors" section is generated from this); control flags such as "no task was created"
 * are typed fields of AppError instead. {@link toUserError} passes only these keys.
 */
export const DETAIL_KEY_DOCS = {
  api: "The Director's API (model route) the request went to.",
  charged: 'Whether this failed attempt cost credits (false: nothing was charged).',
  exit_code: 'The exit code of ffmpeg or ffprobe when it failed.',
  file: 'The input file concerned (its name, not its folder).',
  flag: 'The CLI flag that was not accepted (CLI usage errors, exit code 2).',
  http_status: "The provider's HTTP status.",
  limit: "Which of The Director's daily limits was hit: videos or images_audio.",
  missing_key: 'The environment variable to set.',
  models_tried: 'The Director models tried before giving up.',
  provider_code: "The provider's own error code.",
  retry_after_seconds:
    "Seconds to wait before trying again (rate_limited: the provider's Retry-After, or its rule).",
  role: 'Which input is concerned: video, audio or image.',
  session_id: 'The NemoVideo session concerned.',
  setting: 'The setting concerned (e.g. the spend cap that refused a job).',
  stream: 'How a streamed answer ended early (aborted, broken...).',
  task_id: "This server's task id.",
  transport: 'The network failure (timeout, reset, refused...).',
} as const;
export type DetailKey = keyof typeof DETAIL_KEY_DOCS;
export const DETAIL_KEYS = Object.keys(DETAIL_KEY_DOCS) as DetailKey[];

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
    const wait = err.retryAfterMs === undefined ? {} : { retry_after_seconds: waitSeconds(err.retryAfterMs) };
    const details = publicDetails({ ...err.details, ...wait });
    if (details) out.details = JSON.parse(redact(JSON.stringify(details))) as Record<string, unknown>;
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

/** A wait in whole seconds (at least 1), for `retry_after_seconds`. */
function waitSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

/** Only the documented keys leave the process; anything else in `details` stays internal. */
function publicDetails(d: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!d) return undefined;
  const out = Object.fromEntries(
    Object.entries(d).filter(([k, v]) => v !== undefined && (DETAIL_KEYS as string[]).includes(k)),
  );
  return Object.keys(out).length ? out : undefined;
}
