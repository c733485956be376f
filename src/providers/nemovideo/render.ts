/**
 * Export (render) of a session draft to mp4: `POST /api/render/proxy/lambda`, then one status read per
 * `status()` call. Free (no credits), but a reused render id fails, so every start mints a new one.
 * Sources disagree on where the URL is (`output.url` vs `data.outputUrl`), so both are read, at the top
 * level or under `data`.
 */
import { randomBytes } from 'node:crypto';
import type { z } from 'zod';
import type { Clock } from '../../clock.js';
import { AppError, provesNoTask } from '../../errors.js';
import { checkTaskId } from '../ids.js';
import type {
  JobRequest,
  JsonObject,
  PrepareContext,
  Snapshot,
  StartContext,
  StartResult,
} from '../provider.js';
import { isObj, type NemoApi } from './api.js';
import { failureSchema, renderLayerSchema } from './schemas.js';
import type { NemoSessions } from './session.js';
import { describeSummary, isExportable, summarize, summaryJson } from './state.js';

export interface RenderDeps {
  api: NemoApi;
  sessions: NemoSessions;
  clock: Clock;
}

export async function prepareRender(
  request: JobRequest,
  ctx: PrepareContext,
  deps: RenderDeps,
): Promise<JsonObject> {
  const sessionId = typeof request.params.session_id === 'string' ? request.params.session_id.trim() : '';
  if (!sessionId) {
    throw new AppError('invalid_input', 'Export needs the session_id of a NemoVideo session.', {
      hint: 'Use the session_id reported by an earlier NemoVideo lip-sync or edit task.',
    });
  }
  const state = await deps.sessions.state(sessionId, ctx.signal);
  if (!isExportable(state) || !state.draft) {
    throw new AppError(
      'invalid_input',
      `NemoVideo session ${sessionId} has nothing to export yet: ${describeSummary(summarize(state))}.`,
      {
        hint: 'Add content first (create_lip_sync or edit_video on this session), then export again.',
      },
    );
  }
  return {
    kind: 'render',
    session_id: sessionId,
    draft: state.draft as JsonObject,
    summary: summaryJson(summarize(state)),
  };
}

/** A fresh render id every time: the service refuses a reused one. */
export function renderId(taskId: string): string {
  const safe = taskId.replace(/[^A-Za-z0-9_-]/g, '').slice(0, 48) || 'task';
  return `render_${safe}_${randomBytes(6).toString('hex')}`;
}

export async function startRender(
  prepared: JsonObject,
  ctx: StartContext,
  deps: RenderDeps,
): Promise<StartResult> {
  const id = renderId(ctx.taskId);
  const sessionId = String(prepared.session_id);
  let data: unknown;
  let body: unknown;
  try {
    ({ data, body } = await deps.api.call({
      method: 'POST',
      path: '/api/render/proxy/lambda',
      json: { id, sessionId, draft: prepared.draft, output: { format: 'mp4', quality: 'high' } },
      action: 'starting the export',
      signal: ctx.signal,
    }));
  } catch (err) {
    if (err instanceof AppError && provesNoTask(err)) throw err.withNoTaskCreated({ cause: err });
    throw err;
  }
  ctx.progress('NemoVideo is rendering the draft...');
  const snap = readRender(data, body);
  return {
    operation: { kind: 'render', render_id: id, session_id: sessionId, started_at: deps.clock.now() },
    providerTaskId: id,
    // An answer that already says "completed" is taken as is; otherwise the render is queued.
    snapshot:
      snap.status === 'success' || snap.status === 'failed'
        ? snap
        : { ...snap, status: snap.status === 'processing' ? 'processing' : 'pending' },
  };
}

export async function renderStatus(
  operation: JsonObject,
  signal: AbortSignal,
  deps: RenderDeps,
): Promise<Snapshot> {
  const id = checkTaskId(String(operation.render_id), 'NemoVideo render id');
  const { data, body } = await deps.api.call({
    method: 'GET',
    path: `/api/render/proxy/lambda/${encodeURIComponent(id)}`,
    action: 'checking the export',
    signal,
  });
  return readRender(data, body);
}

const PENDING = new Set(['pending', 'queued', 'waiting', 'created', 'submitted']);
const DONE = new Set(['completed', 'complete', 'done', 'success', 'succeeded', 'finished']);
const FAILED = new Set(['failed', 'failure', 'error', 'cancelled', 'canceled', 'timeout', 'timed_out']);

type RenderLayer = z.infer<typeof renderLayerSchema>;

/** Normalises a render answer in any of the known shapes. */
export function readRender(data: unknown, body: unknown): Snapshot {
  const top = renderLayerSchema.safeParse(data);
  const raws = [data, top.success ? top.data.data : undefined, body];
  const layers: { layer: RenderLayer; raw: unknown }[] = [];
  for (const raw of raws) {
    const parsed = renderLayerSchema.safeParse(raw);
    if (parsed.success) layers.push({ layer: parsed.data, raw });
  }
  const pick = <T>(f: (o: RenderLayer) => T | null | undefined): T | undefined => {
    for (const { layer } of layers) {
      const v = f(layer);
      if (v !== undefined && v !== null) return v;
    }
    return undefined;
  };
  const raw = pick((o) => o.status) ?? 'unknown';
  const word = raw.toLowerCase();
  const url = pick(
    (o) => (typeof o.output === 'string' ? o.output : o.output?.url) ?? o.outputUrl ?? o.output_url,
  );
  const progress = pick((o) => o.progress);
  const snap: Snapshot = { status: 'processing', providerStatus: raw };
  if (progress !== undefined)
    snap.progress = Math.min(1, Math.max(0, progress > 1 ? progress / 100 : progress));
  if (FAILED.has(word)) {
    // The envelope's own `msg` ("ok") is not the render's failure reason.
    const own = layers.filter(({ raw: r }) => r !== body || !isObj(r) || !('code' in r));
    const reason = own.map(({ raw: r }) => failureReason(r)).find(Boolean) ?? 'no reason given';
    return {
      status: 'failed',
      providerStatus: raw,
      error: { message: `NemoVideo export failed: ${reason}`, code: 'provider_failed' },
    };
  }
  if (DONE.has(word) || (url && !PENDING.has(word) && word === 'unknown')) {
    if (!url) {
      return {
        status: 'failed',
        providerStatus: raw,
        error: {
          message: 'NemoVideo reported the export as completed but gave no download URL; export again.',
          code: 'provider_failed',
        },
      };
    }
    return { status: 'success', providerStatus: raw, progress: 1, resultUrl: url };
  }
  if (PENDING.has(word)) snap.status = 'pending';
  return snap;
}

function failureReason(raw: unknown): string | undefined {
  const f = failureSchema.safeParse(raw);
  if (!f.success) return undefined;
  const o = f.data;
  return (o.error ?? o.reason ?? o.errorMessage ?? o.error_message ?? o.message ?? o.msg) || undefined;
}
