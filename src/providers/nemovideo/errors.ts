/**
 * NemoVideo's answers mapped to AppErrors with messages a person can act on. The codes and their
 * meaning come from the vendor's skill (providers.md §2); the wording says what to do next.
 */
import { AppError } from '../../errors.js';

export const SERVICE = 'NemoVideo';

/** Envelope codes with a documented meaning. */
export const NEMO_CODE = {
  tokenInvalid: 1001,
  sessionNotFound: 1002,
  noCredits: 2001,
  unsupportedFile: 4001,
  fileTooLarge: 4002,
} as const;

export const FORMATS = {
  video: ['mp4', 'mov', 'avi', 'webm', 'mkv'],
  audio: ['mp3', 'wav', 'm4a', 'aac'],
  image: ['jpg', 'png', 'gif', 'webp'],
};

/** Where an anonymous user registers; `?bind=<user id>` carries the free credits over [I: host]. */
export const REGISTER_URL = 'https://nemovideo.ai/';

export const RATE_LIMIT_WAIT_MS = 30_000;

export interface ErrorContext {
  /** The token is the user's own NEMO_TOKEN (not an anonymous one). */
  userToken: boolean;
  /** The anonymous user id, used as the registration bind id. */
  bindId?: string | undefined;
  /** The file being uploaded, for 4001/4002 messages. */
  filename?: string | undefined;
  /** What we were doing ("creating a session", "uploading clip.mp4"...). */
  action: string;
}

function providerText(msg: string | undefined): string {
  return msg ? ` (NemoVideo said: "${msg.slice(0, 300)}")` : '';
}

/** An error for a non-zero envelope code. `details.provider_code` lets callers recognise 1001/1002. */
export function envelopeError(code: number, msg: string | undefined, ctx: ErrorContext): AppError {
  const details = { provider_code: code };
  const noTaskCreated = true;
  switch (code) {
    case NEMO_CODE.tokenInvalid:
      return ctx.userToken
        ? new AppError(
            'auth',
            `NEMO_TOKEN was rejected by NemoVideo while ${ctx.action}${providerText(msg)}.`,
            {
              hint: 'The token is invalid or expired: copy a fresh token from your NemoVideo account into NEMO_TOKEN, or unset NEMO_TOKEN to use a free anonymous token.',
              details,
              noTaskCreated,
            },
          )
        : new AppError(
            'auth',
            `NemoVideo rejected its anonymous token again right after renewing it, while ${ctx.action}.`,
            {
              hint: 'Try again in a few minutes; if it persists, register at NemoVideo and set NEMO_TOKEN.',
              retryable: true,
              details,
              noTaskCreated,
            },
          );
    case NEMO_CODE.sessionNotFound:
      return new AppError('not_found', `The NemoVideo session no longer exists (while ${ctx.action}).`, {
        hint: 'Start again without a session_id (or with the original video) to open a new session.',
        details,
        noTaskCreated,
      });
    case NEMO_CODE.noCredits:
      return new AppError(
        'insufficient_credits',
        `NemoVideo has no credits left for this account${providerText(msg)}.`,
        {
          hint: ctx.userToken
            ? 'Top up credits in your NemoVideo account, then try again.'
            : `The free anonymous credits are used up. Register at ${REGISTER_URL}${ctx.bindId ? `?bind=${encodeURIComponent(ctx.bindId)}` : ''} to keep your work and get more credits, then set NEMO_TOKEN.`,
          details,
          noTaskCreated,
        },
      );
    case NEMO_CODE.unsupportedFile:
      return new AppError(
        'invalid_input',
        `NemoVideo does not accept ${ctx.filename ? `"${ctx.filename}"` : 'this file'}${providerText(msg)}.`,
        {
          hint: `Supported formats — video: ${FORMATS.video.join(', ')}; audio: ${FORMATS.audio.join(', ')}; image: ${FORMATS.image.join(', ')}. Convert the file to one of these and try again.`,
          details,
          noTaskCreated,
        },
      );
    case NEMO_CODE.fileTooLarge:
      return new AppError(
        'invalid_input',
        `${ctx.filename ? `"${ctx.filename}"` : 'The file'} is too large for NemoVideo${providerText(msg)}.`,
        {
          hint: 'Compress it (lower bitrate or resolution) or trim it to a shorter clip, then try again.',
          details,
          noTaskCreated,
        },
      );
    default:
      return new AppError(
        'provider_failed',
        `NemoVideo refused the request while ${ctx.action}: code ${code}${providerText(msg)}.`,
        {
          hint: 'Check the inputs and try again later; if it repeats, report the code.',
          details,
          noTaskCreated,
        },
      );
  }
}

export function planRequiredError(action: string): AppError {
  return new AppError(
    'plan_required',
    `NemoVideo refused while ${action}: export is blocked on the free plan — register or upgrade your plan (this is a plan tier issue, not credits).`,
    {
      hint: `Register at ${REGISTER_URL} or upgrade your NemoVideo plan to unlock export; buying credits alone does not help.`,
      details: { http_status: 402 },
      noTaskCreated: true,
    },
  );
}

export function rateLimitedError(action: string): AppError {
  return new AppError(
    'rate_limited',
    `NemoVideo is rate limiting requests (while ${action}), even after waiting 30 s.`,
    {
      hint: 'Wait a few minutes and try again. Anonymous tokens are limited per network; setting NEMO_TOKEN avoids that limit.',
      retryable: true,
      retryAfterMs: RATE_LIMIT_WAIT_MS,
      details: { http_status: 429 },
      noTaskCreated: true,
    },
  );
}

export function clientIdError(): AppError {
  return new AppError(
    'provider_failed',
    'NemoVideo refused to issue an anonymous token: the X-Client-Id header was missing or invalid.',
    {
      hint: 'Delete the NemoVideo token cache file (nemovideo-token.json in LIPSYNC_HOME) so a new client id is generated, or set NEMO_TOKEN.',
      details: { http_status: 400 },
    },
  );
}

export function httpError(status: number, action: string, msg: string | undefined): AppError {
  if (status === 401 || status === 403) {
    return new AppError(
      'auth',
      `NemoVideo refused the credentials (HTTP ${status}) while ${action}${providerText(msg)}.`,
      {
        hint: 'Set a valid NEMO_TOKEN, or unset it to use a free anonymous token.',
        details: { http_status: status },
        noTaskCreated: true,
      },
    );
  }
  if (status === 404) {
    return new AppError(
      'not_found',
      `NemoVideo could not find what was asked for (HTTP 404) while ${action}${providerText(msg)}.`,
      {
        hint: 'Check the session or render id; it may have expired.',
        details: { http_status: status },
      },
    );
  }
  if (status >= 500) {
    return new AppError(
      'unavailable',
      `NemoVideo had a server error (HTTP ${status}) while ${action}${providerText(msg)}.`,
      {
        hint: 'Try again in a few minutes.',
        retryable: true,
        details: { http_status: status },
      },
    );
  }
  return new AppError(
    'provider_failed',
    `NemoVideo answered HTTP ${status} while ${action}${providerText(msg)}.`,
    {
      hint: 'Check the inputs and the NEMO_BASE_URL setting, then try again.',
      details: { http_status: status },
    },
  );
}

export function templateTokenError(source: string): AppError {
  return new AppError(
    'missing_credentials',
    `NEMO_TOKEN (${source}) looks like an unsubstituted template such as \${NEMO_TOKEN}, not a real token.`,
    {
      hint: 'Put the actual token value in NEMO_TOKEN (check how your MCP client passes environment variables), or remove it to use a free anonymous token.',
      details: { missing_key: 'NEMO_TOKEN' },
    },
  );
}
