/**
 * Jogg's API: the envelope `{code, msg, data}` with `code === 0` as success on any HTTP status, the key
 * header, the 20-POSTs-per-minute throttle, and the mapping of envelope codes to AppErrors.
 */
import { z } from 'zod';
import { type Config, isUsableSecret } from '../../config.js';
import { AppError } from '../../errors.js';
import type { HttpClient, HttpRequest } from '../../http/client.js';
import type { CredentialState } from '../provider.js';
import type { SlidingWindow } from './throttle.js';

export const JOGG_PRICING_URL = 'https://www.jogg.ai/api-pricing/';

/** What every Jogg operation works with: built once by the factory. */
export interface JoggContext {
  config: Config['jogg'];
  http: HttpClient;
  /** POSTs per minute per key, on the injected clock. */
  throttle: SlidingWindow;
}

const envelope = z.object({
  code: z.coerce.number(),
  msg: z.string().nullish(),
  message: z.string().nullish(),
  data: z.unknown().nullish(),
});

const NOT_FOUND_CODES = new Set([10104, 17003]);

export function credentials(config: Config['jogg']): CredentialState {
  const key = config.apiKey;
  if (isUsableSecret(key)) return { configured: true, source: key.source };
  if (key) {
    return {
      configured: false,
      source: key.source,
      missingKey: 'JOGG_API_KEY',
      fix: `JOGG_API_KEY (${key.source}) looks like an unsubstituted template such as \${JOGG_API_KEY}; set it to your real Jogg API key. No key yet? Buy an API plan at ${JOGG_PRICING_URL}.`,
    };
  }
  return {
    configured: false,
    source: 'none',
    missingKey: 'JOGG_API_KEY',
    fix: `Set JOGG_API_KEY to your Jogg API key. No key yet? Purchase an API plan at ${JOGG_PRICING_URL} and copy the key from your Jogg dashboard.`,
  };
}

export function headers(config: Config['jogg']): Record<string, string> {
  const key = config.apiKey;
  if (!isUsableSecret(key)) {
    const c = credentials(config);
    throw new AppError('missing_credentials', 'Jogg is not configured (JOGG_API_KEY is missing).', {
      hint: c.fix,
      details: { missing_key: 'JOGG_API_KEY' },
    });
  }
  const h: Record<string, string> = { 'x-api-key': key.value, accept: 'application/json' };
  if (config.platform) h['x-api-platform'] = config.platform;
  return h;
}

/** One API call; returns `data` on code 0, throws a mapped AppError otherwise. */
export async function call(
  jogg: JoggContext,
  req: Omit<HttpRequest, 'service' | 'headers'>,
  opts: { notFoundOk?: boolean; isCreate?: boolean } = {},
): Promise<unknown> {
  const h = headers(jogg.config);
  if (req.method === 'POST') await jogg.throttle.take(req.signal);
  const res = await jogg.http.request({ ...req, headers: h, service: 'Jogg' });
  let body: unknown;
  try {
    body = await res.json();
  } catch (err) {
    if (res.status === 401 || res.status === 403) throw authError(res.status);
    throw err;
  }
  const env = envelope.safeParse(body);
  if (!env.success) {
    if (res.status === 401 || res.status === 403) throw authError(res.status);
    throw new AppError('provider_failed', `Jogg answered HTTP ${res.status} with an unexpected body.`, {
      hint: 'Check JOGG_BASE_URL; if it is right, Jogg may be having problems — try again later.',
      retryable: res.status >= 500,
      details: { http_status: res.status },
    });
  }
  const { code } = env.data;
  if (code === 0) return env.data.data;
  if (opts.notFoundOk && NOT_FOUND_CODES.has(code)) return null;
  throw mapCode(code, env.data.msg ?? env.data.message ?? '', res.status, !!opts.isCreate);
}

function authError(status: number): AppError {
  return new AppError('auth', `Jogg rejected the API key (HTTP ${status}).`, {
    hint: `Check JOGG_API_KEY; get or renew a key at ${JOGG_PRICING_URL}.`,
    noTaskCreated: true,
  });
}

/** Maps a Jogg envelope code. An explicit error answer to a create means no task was made. */
export function mapCode(code: number, msg: string, httpStatus: number, isCreate: boolean): AppError {
  const said = msg ? ` Jogg said: "${msg}".` : '';
  const details = { provider_code: code, http_status: httpStatus };
  const noTaskCreated = isCreate;
  switch (code) {
    case 10104:
    case 17003:
      return new AppError('not_found', `Jogg has no such task (code ${code}).${said}`, {
        hint: 'Check the task id; list_tasks shows known tasks.',
        details,
        noTaskCreated,
      });
    case 10105:
      return new AppError('auth', `Jogg rejected the API key (code 10105).${said}`, {
        hint: `Check JOGG_API_KEY, or get a key at ${JOGG_PRICING_URL}.`,
        details,
        noTaskCreated,
      });
    case 18020:
      return new AppError(
        'insufficient_credits',
        `Not enough Jogg credits for this job (code 18020).${said}`,
        {
          hint: `Top up or upgrade your plan at ${JOGG_PRICING_URL}, then run the same request again (nothing was charged).`,
          details,
          noTaskCreated,
        },
      );
    case 18025:
      return new AppError('auth', `This Jogg key has no API permission (code 18025).${said}`, {
        hint: `API access needs an API plan: ${JOGG_PRICING_URL}.`,
        details,
        noTaskCreated,
      });
    case 40000:
      return new AppError('invalid_input', `Jogg refused the parameters (code 40000).${said}`, {
        hint: 'Check the video/audio files and playback_type.',
        details,
        noTaskCreated,
      });
    case 429:
      return new AppError('rate_limited', `Jogg rate limit reached (20 requests per minute).${said}`, {
        hint: 'Wait a minute and try again.',
        retryable: true,
        retryAfterMs: 60_000,
        details,
        noTaskCreated,
      });
    case 50000:
      return new AppError('provider_failed', `Jogg had an internal error (code 50000).${said}`, {
        hint: 'Try again in a few minutes.',
        retryable: true,
        details,
        noTaskCreated,
      });
    default:
      return new AppError('provider_failed', `Jogg returned error code ${code}.${said}`, {
        hint: 'Try again later; if it repeats, contact Jogg support with the code.',
        details,
        noTaskCreated,
      });
  }
}
