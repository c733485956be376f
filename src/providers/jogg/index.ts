/**
 * Jogg lip sync (providers.md section 1). Envelope `{code, msg, data}` with `code === 0` as success on
 * any HTTP status; result nested under `data.data`; 20 POSTs per minute per key.
 */
import { z } from 'zod';
import type { Clock } from '../../clock.js';
import { type Config, isUsableSecret, PLAYBACK_TYPES } from '../../config.js';
import { AppError } from '../../errors.js';
import type { HttpClient, HttpRequest } from '../../http/client.js';
import { fileBody } from '../../http/file-body.js';
import type { Logger } from '../../logger.js';
import type {
  CredentialState,
  ExistingTask,
  JsonObject,
  Provider,
  Snapshot,
  TaskStatus,
} from '../provider.js';
import { SlidingWindow } from './throttle.js';

export const JOGG_PRICING_URL = 'https://www.jogg.ai/api-pricing/';

export interface JoggDeps {
  config: Config['jogg'];
  http: HttpClient;
  clock: Clock;
  log: Logger;
}

const envelope = z.object({
  code: z.coerce.number(),
  msg: z.string().nullish(),
  message: z.string().nullish(),
  data: z.unknown().nullish(),
});

const taskData = z
  .object({
    task_id: z.union([z.string(), z.number()]).transform(String),
    status: z.string().nullish(),
    created_at: z.number().nullish(),
    completed_at: z.number().nullish(),
    data: z
      .object({
        result_url: z.string().nullish(),
        cover_url: z.string().nullish(),
        duration_seconds: z.coerce.number().nullish(),
      })
      .loose()
      .nullish(),
    result_url: z.string().nullish(),
    cover_url: z.string().nullish(),
    duration_seconds: z.coerce.number().nullish(),
    error: z.union([z.object({ message: z.string().nullish() }).loose(), z.string()]).nullish(),
  })
  .loose();

const NOT_FOUND_CODES = new Set([10104, 17003]);

export function createJoggProvider(deps: JoggDeps): Provider {
  const { config, http, clock } = deps;
  const throttle = new SlidingWindow(config.postsPerMinute, 60_000, clock);

  function credentials(): CredentialState {
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

  function headers(): Record<string, string> {
    const key = config.apiKey;
    if (!isUsableSecret(key)) {
      const c = credentials();
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
  async function call(
    req: Omit<HttpRequest, 'service' | 'headers'>,
    opts: { notFoundOk?: boolean; isCreate?: boolean } = {},
  ): Promise<unknown> {
    const h = headers();
    if (req.method === 'POST') await throttle.take(req.signal);
    const res = await http.request({ ...req, headers: h, service: 'Jogg' });
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

  function toSnapshot(raw: unknown): { id: string; snapshot: Snapshot } {
    const parsed = taskData.safeParse(raw);
    if (!parsed.success) {
      throw new AppError(
        'provider_failed',
        'Jogg returned a task without a task_id or with unexpected fields.',
        {
          hint: 'Try again; if it repeats, Jogg may have changed its API.',
        },
      );
    }
    const t = parsed.data;
    const status = mapStatus(t.status);
    const inner = t.data ?? {};
    const snapshot: Snapshot = { status, providerStatus: t.status ?? 'unknown' };
    const resultUrl = inner.result_url ?? t.result_url;
    const coverUrl = inner.cover_url ?? t.cover_url;
    const duration = inner.duration_seconds ?? t.duration_seconds;
    if (resultUrl) snapshot.resultUrl = resultUrl;
    if (coverUrl) snapshot.coverUrl = coverUrl;
    if (duration !== null && duration !== undefined && Number.isFinite(duration))
      snapshot.durationSeconds = duration;
    if (status === 'failed') {
      const msg = typeof t.error === 'string' ? t.error : t.error?.message;
      snapshot.error = { message: msg || 'Jogg reported the task as failed without a reason.' };
    }
    if (status === 'success' && !resultUrl) {
      // Never claim a video exists without a URL.
      snapshot.status = 'processing';
      snapshot.providerStatus = 'success-without-url';
    }
    const extra: JsonObject = {};
    if (t.created_at) extra.provider_created_at = t.created_at;
    if (t.completed_at) extra.provider_completed_at = t.completed_at;
    if (Object.keys(extra).length) snapshot.extra = extra;
    return { id: t.task_id, snapshot };
  }

  return {
    name: 'jogg',
    displayName: 'Jogg',
    capabilities: {
      kinds: ['lip_sync'],
      formats: { video: ['mp4', 'mov', 'm4v', 'webm'], audio: ['mp3', 'wav', 'm4a', 'aac', 'ogg'] },
      playbackTypes: [...PLAYBACK_TYPES],
      paid: true,
    },
    credentials,
    timing: () => ({ pollIntervalMs: config.pollIntervalSeconds * 1000 }),

    async upload(input, _role, _scope, signal) {
      if (input.type === 'url') return { url: input.url };
      const data = (await call({
        method: 'POST',
        url: `${config.baseUrl}/v2/upload/asset`,
        json: { filename: input.filename, content_type: input.mime, file_size: input.size },
        signal,
      })) as { sign_url?: string; asset_url?: string } | null;
      if (!data?.sign_url || !data.asset_url) {
        throw new AppError('provider_failed', 'Jogg did not return an upload URL.', {
          hint: 'Try again later.',
        });
      }
      // The signed URL carries its own authorization: never send the API key there. Streamed from disk
      // through a few reused buffers (flat memory, file-body.ts).
      const put = await http.request({
        method: 'PUT',
        url: data.sign_url,
        headers: { 'content-type': input.mime, 'content-length': String(input.size) },
        bodyFactory: () => fileBody(input.path, input.size),
        retry: true,
        timeoutMs: Math.max(120_000, Math.ceil(input.size / 100_000)),
        signal,
        service: 'Jogg storage',
      });
      await put.body.dump();
      if (put.status < 200 || put.status >= 300) {
        throw new AppError(
          'provider_failed',
          `Uploading ${input.filename} to Jogg storage failed (HTTP ${put.status}).`,
          {
            hint: 'Nothing was charged. Try again; if it repeats, check the file and your network.',
          },
        );
      }
      return { url: data.asset_url };
    },

    async prepare(request, ctx) {
      const { video, audio } = request.inputs;
      if (!video || !audio) {
        throw new AppError('invalid_input', 'Jogg lip sync needs a video and an audio input.', {
          hint: 'Pass both `video` and `audio` (file paths or URLs).',
        });
      }
      if (request.inputs.image)
        throw new AppError('unsupported', 'Jogg lip sync takes a video, not an image.', {
          hint: 'Use provider "director" for image + audio.',
        });
      headers(); // fail fast, before any upload, when the key is missing
      const playback = String(request.params.playback_type ?? config.defaultPlaybackType);
      const video_url = await ctx.asset(video, 'video');
      const audio_url = await ctx.asset(audio, 'audio');
      return { video_url, audio_url, playback_type: playback };
    },

    async findExisting(prepared, ctx): Promise<ExistingTask | null> {
      const q = new URLSearchParams({
        video_url: String(prepared.video_url),
        audio_url: String(prepared.audio_url),
        playback_type: String(prepared.playback_type),
      });
      const data = await call(
        { method: 'GET', url: `${config.baseUrl}/v2/lip_sync_video?${q}`, signal: ctx.signal },
        { notFoundOk: true },
      );
      if (!data || (typeof data === 'object' && !('task_id' in data))) return null;
      const { id, snapshot } = toSnapshot(data);
      return { operation: { task_id: id }, providerTaskId: id, snapshot };
    },

    async start(prepared, ctx) {
      const data = await call(
        {
          method: 'POST',
          url: `${config.baseUrl}/v2/create_lip_sync_video`,
          json: {
            video_url: prepared.video_url,
            audio_url: prepared.audio_url,
            playback_type: prepared.playback_type,
          },
          signal: ctx.signal,
        },
        { isCreate: true },
      );
      const parsed = z
        .object({
          task_id: z.union([z.string(), z.number()]).transform(String),
          status: z.string().nullish(),
        })
        .loose()
        .safeParse(data);
      if (!parsed.success) {
        // Accepted (code 0) but no id: a task may exist; the JobService reconciles via findExisting.
        throw new AppError('provider_failed', 'Jogg accepted the request but returned no task_id.', {
          requestSent: true,
        });
      }
      const id = parsed.data.task_id;
      return {
        operation: { task_id: id },
        providerTaskId: id,
        snapshot: {
          status: mapStatus(parsed.data.status ?? 'pending'),
          providerStatus: parsed.data.status ?? 'pending',
        },
      };
    },

    async status(operation, ctx) {
      const id = encodeURIComponent(String(operation.task_id));
      const data = await call({
        method: 'GET',
        url: `${config.baseUrl}/v2/lip_sync_video/${id}`,
        signal: ctx.signal,
      });
      return toSnapshot(data).snapshot;
    },

    async lookupById(providerTaskId, ctx) {
      const id = encodeURIComponent(providerTaskId);
      const data = await call(
        { method: 'GET', url: `${config.baseUrl}/v2/lip_sync_video/${id}`, signal: ctx.signal },
        { notFoundOk: true },
      );
      if (!data || typeof data !== 'object') return null;
      const { snapshot } = toSnapshot(data);
      return { kind: 'lip_sync', operation: { task_id: providerTaskId }, providerTaskId, snapshot };
    },

    async credits(signal) {
      const data = (await call({
        method: 'GET',
        url: `${config.baseUrl}/v2/user/remaining_quota`,
        signal,
      })) as { remaining_quota?: unknown } | null;
      const remaining = Number(data?.remaining_quota);
      return {
        provider: 'jogg',
        configured: true,
        summary: Number.isFinite(remaining)
          ? `${remaining} credits remaining (1 credit per 125 s of output)`
          : 'remaining quota not reported',
        balance: { remaining_quota: Number.isFinite(remaining) ? remaining : null },
      };
    },
  };
}

function mapStatus(s: string | null | undefined): TaskStatus {
  switch ((s ?? '').toLowerCase()) {
    case 'success':
    case 'succeeded':
    case 'completed':
      return 'success';
    case 'failed':
    case 'failure':
    case 'error':
      return 'failed';
    case 'processing':
    case 'running':
      return 'processing';
    default:
      return 'pending';
  }
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
