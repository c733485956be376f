/**
 * Jogg lip sync tasks (providers.md section 1): uploads, the latest-matching query, the create, status
 * and credits. Each operation takes the factory's {@link JoggContext}; results are nested under `data.data`.
 */
import { z } from 'zod';
import { AppError } from '../../errors.js';
import { fileBody } from '../../http/file-body.js';
import { checkTaskId } from '../ids.js';
import type {
  Credits,
  ExistingTask,
  JobRequest,
  JsonObject,
  PrepareContext,
  ResolvedInput,
  Snapshot,
  StartContext,
  StartResult,
  StatusContext,
  TaskKind,
  TaskStatus,
  UploadResult,
} from '../provider.js';
import { call, headers, type JoggContext } from './api.js';

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

export async function upload(
  jogg: JoggContext,
  input: ResolvedInput,
  signal: AbortSignal,
): Promise<UploadResult> {
  if (input.type === 'url') return { url: input.url };
  const data = (await call(jogg, {
    method: 'POST',
    url: `${jogg.config.baseUrl}/v2/upload/asset`,
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
  const put = await jogg.http.request({
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
}

export async function prepare(
  jogg: JoggContext,
  request: JobRequest,
  ctx: PrepareContext,
): Promise<JsonObject> {
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
  headers(jogg.config); // fail fast, before any upload, when the key is missing
  const playback = String(request.params.playback_type ?? jogg.config.defaultPlaybackType);
  const video_url = await ctx.asset(video, 'video');
  const audio_url = await ctx.asset(audio, 'audio');
  return { video_url, audio_url, playback_type: playback };
}

export async function findExisting(
  jogg: JoggContext,
  prepared: JsonObject,
  ctx: StatusContext,
): Promise<ExistingTask | null> {
  const q = new URLSearchParams({
    video_url: String(prepared.video_url),
    audio_url: String(prepared.audio_url),
    playback_type: String(prepared.playback_type),
  });
  const data = await call(
    jogg,
    { method: 'GET', url: `${jogg.config.baseUrl}/v2/lip_sync_video?${q}`, signal: ctx.signal },
    { notFoundOk: true },
  );
  if (!data || (typeof data === 'object' && !('task_id' in data))) return null;
  const { id, snapshot } = toSnapshot(data);
  return { operation: { task_id: id }, providerTaskId: id, snapshot };
}

export async function start(
  jogg: JoggContext,
  prepared: JsonObject,
  ctx: StartContext,
): Promise<StartResult> {
  const data = await call(
    jogg,
    {
      method: 'POST',
      url: `${jogg.config.baseUrl}/v2/create_lip_sync_video`,
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
}

export async function status(
  jogg: JoggContext,
  operation: JsonObject,
  ctx: StatusContext,
): Promise<Snapshot> {
  const id = encodeURIComponent(checkTaskId(String(operation.task_id), 'Jogg task id'));
  const data = await call(jogg, {
    method: 'GET',
    url: `${jogg.config.baseUrl}/v2/lip_sync_video/${id}`,
    signal: ctx.signal,
  });
  return toSnapshot(data).snapshot;
}

export async function lookupById(
  jogg: JoggContext,
  providerTaskId: string,
  ctx: StatusContext,
): Promise<(ExistingTask & { kind: TaskKind }) | null> {
  const id = encodeURIComponent(checkTaskId(providerTaskId, 'Jogg task id'));
  const data = await call(
    jogg,
    { method: 'GET', url: `${jogg.config.baseUrl}/v2/lip_sync_video/${id}`, signal: ctx.signal },
    { notFoundOk: true },
  );
  if (!data || typeof data !== 'object') return null;
  const { snapshot } = toSnapshot(data);
  return { kind: 'lip_sync', operation: { task_id: providerTaskId }, providerTaskId, snapshot };
}

export async function credits(jogg: JoggContext, signal: AbortSignal): Promise<Credits> {
  const data = (await call(jogg, {
    method: 'GET',
    url: `${jogg.config.baseUrl}/v2/user/remaining_quota`,
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
