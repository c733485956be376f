/**
 * From a request to a created task: the free plan (`prepare`: uploads, model choice, one create spec per
 * model of the fallback chain) and the paid create (`start`). A create is resent only when the answer
 * proves no task exists (see api.ts), at most twice, 30 s apart on the injected clock; a timeout or reset
 * after sending is thrown for the JobService to mark `unknown` — never a blind resubmit.
 */

import { AppError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { JobRequest, JsonObject, PrepareContext, StartContext, StartResult } from '../provider.js';
import { mustAuth } from './auth.js';
import {
  buildGenerateSpec,
  buildImageLipSyncSpec,
  buildVideoLipSyncSpec,
  type CreateSpec,
  resolveModelChoice,
} from './choice.js';
import type { DirectorContext } from './context.js';
import { resolveMedia } from './media.js';
import { limitError } from './rules.js';
import { type PreparedPlan, readPlan } from './stored.js';
import { SERVICE } from './text.js';
import { bucketOf, buildTier3Spec, isTier3, MEDIA_OF } from './tier3.js';
import type { CreateOutcome, DirectorAuth, Via } from './types.js';

/** Seed rule: a create is retried at most twice, 30 s apart, and only when no task could exist. */
export const CREATE_RETRIES = 2;
export const CREATE_RETRY_DELAY_MS = 30_000;

export async function prepare(
  director: DirectorContext,
  request: JobRequest,
  ctx: PrepareContext,
): Promise<JsonObject> {
  mustAuth(director.config);
  const { params } = request;
  const { urls, notes: uploadNotes } = await resolveMedia(request.inputs, director, ctx);
  let plan: PreparedPlan;
  if (request.kind === 'generate_video') {
    const prompt = typeof params.prompt === 'string' ? params.prompt.trim() : '';
    if (!prompt) {
      throw new AppError('invalid_input', 'The Director needs a prompt describing the video.', {
        hint: 'Pass prompt: a sentence or two about the scene, camera and mood.',
      });
    }
    const media = urls;
    const choice = resolveModelChoice(params, {
      hasImage: !!media.image,
      hasOtherMedia: !!(media.video || media.audio),
    });
    plan = {
      kind: 'generate_video',
      specs: choice.chain.map((m) => buildGenerateSpec(m, choice, prompt, media)),
      notes: choice.notes,
    };
  } else if (request.kind === 'lip_sync') {
    const { audio, video, image } = urls;
    if (!audio || (!video && !image)) {
      throw new AppError(
        'invalid_input',
        'Lip sync on The Director needs an audio track plus a video or a still image of a face.',
        {
          hint: 'Pass audio and either video or image (as http(s) URLs).',
        },
      );
    }
    if (video && image) {
      throw new AppError('invalid_input', 'Pass either a video or an image with the audio, not both.', {
        hint: 'A still image becomes a talking video; a video gets its lips re-synced.',
      });
    }
    const quality = params.quality === 'cheap' ? 'cheap' : 'quality';
    const extra = typeof params.instruction === 'string' ? params.instruction.trim() || undefined : undefined;
    const spec = image
      ? buildImageLipSyncSpec(image, audio)
      : buildVideoLipSyncSpec(video as string, audio, quality, extra);
    plan = { kind: 'lip_sync', specs: [spec], notes: [] };
  } else if (isTier3(request.kind)) {
    plan = { kind: request.kind, specs: [buildTier3Spec(request.kind, params, urls)], notes: [] };
  } else {
    throw new AppError('unsupported', `The Director does not do "${request.kind}" jobs.`, {
      hint: 'The Director makes videos, lip syncs, images, audio, transcripts and post-production edits.',
    });
  }
  plan.notes.push(...uploadNotes);
  return plan as unknown as JsonObject;
}

/** One model: the create plus at most two resends, only while the answers prove no task exists. */
async function createWithRetries(
  director: DirectorContext,
  auth: DirectorAuth,
  spec: CreateSpec,
  ctx: StartContext,
): Promise<CreateOutcome> {
  for (let attempt = 0; ; attempt++) {
    const outcome = await director.api.create(auth, spec, ctx.signal);
    if (outcome.kind !== 'retry' || attempt >= CREATE_RETRIES) return outcome;
    ctx.progress(
      `${SERVICE}: ${outcome.reason} (no video was started); trying again in 30 s (attempt ${attempt + 2} of ${CREATE_RETRIES + 1}).`,
    );
    try {
      await director.clock.sleep(CREATE_RETRY_DELAY_MS, ctx.signal);
    } catch (err) {
      throw new AppError('timeout', `Stopped while waiting to retry; ${SERVICE} did not start a video.`, {
        noTaskCreated: true,
        cause: err,
      });
    }
  }
}

export async function start(
  director: DirectorContext,
  prepared: JsonObject,
  ctx: StartContext,
): Promise<StartResult> {
  const plan = readPlan(prepared);
  const auth = mustAuth(director.config);
  const failures: { spec: CreateSpec; reason: string; error: AppError }[] = [];
  for (const [i, spec] of plan.specs.entries()) {
    // Unknown outcomes (sent, answer lost) throw out of here: never fall back after those.
    const outcome = await createWithRetries(director, auth, spec, ctx);
    if (outcome.kind === 'created') {
      return created(
        director,
        spec,
        outcome,
        auth.via,
        plan,
        failures.map((f) => ({ label: f.spec.label, model: f.spec.model, reason: f.reason })),
        ctx.log,
      );
    }
    if (outcome.error.code === 'daily_limit') {
      const bucket = bucketOf(plan.kind);
      director.limits[bucket].record();
      throw limitError(outcome.error, bucket);
    }
    if (outcome.kind === 'fatal') throw outcome.error;
    failures.push({ spec, reason: outcome.reason, error: outcome.error });
    const next = plan.specs[i + 1];
    if (next)
      ctx.progress(
        `${SERVICE}: ${failName(spec, false)} failed to start (${outcome.reason}); trying ${next.label} instead.`,
      );
  }
  const last = failures[failures.length - 1];
  if (!last) throw new AppError('internal', 'The Director had nothing to start.');
  if (failures.length === 1) throw last.error;
  const summary = failures.map((f) => `${f.spec.label}: ${f.reason}`).join('; ');
  throw new AppError(last.error.code, `${SERVICE} could not start the video with any model (${summary}).`, {
    hint: last.error.hint ?? 'Nothing was charged; try again later.',
    retryable: last.error.retryable,
    noTaskCreated: true,
    details: {
      ...last.error.details,
      models_tried: failures.map((f) => f.spec.label),
    },
  });
}

function created(
  director: DirectorContext,
  spec: CreateSpec,
  outcome: Extract<CreateOutcome, { kind: 'created' }>,
  via: Via,
  plan: PreparedPlan,
  failures: { label: string; model: string; reason: string }[],
  taskLog: Logger,
): StartResult {
  const operation: JsonObject = {
    api: outcome.api,
    id: outcome.id,
    model: spec.model,
    model_label: spec.label,
    media: isTier3(plan.kind) ? MEDIA_OF[plan.kind] : 'video',
    created_at: new Date(director.clock.now()).toISOString(),
    via,
  };
  if (spec.api === 'tool') operation.tool_type = spec.tool_type;
  if (outcome.corrected) operation.requested_api = spec.api;
  if (failures.length > 0) {
    const parts = failures.map((f, i) => `${failName(f, i === 0)} failed to start (${f.reason})`);
    operation.fallback_note = `${parts.join('; ')}; used ${spec.label} instead.`;
  }
  if (plan.notes.length > 0) operation.notes = plan.notes;
  // The JobService's task logger already carries `provider` and `task`.
  taskLog.info({ api: outcome.api, model: spec.model, corrected: outcome.corrected }, 'task created');
  return {
    operation,
    providerTaskId: outcome.id,
    snapshot: { status: 'pending', providerStatus: 'created', extra: extraOf(operation) },
  };
}

function failName(f: { model: string; label: string }, first: boolean): string {
  if (f.model === 'auto') return first ? 'The auto model' : 'the auto model';
  return f.label;
}

/** What a snapshot shows of a stored operation (model, api, fallback note, notes). */
export function extraOf(operation: JsonObject): JsonObject {
  const extra: JsonObject = {};
  for (const key of ['model_label', 'api', 'fallback_note', 'notes', 'tool_type'] as const) {
    const v = operation[key];
    if (v !== undefined) extra[key === 'model_label' ? 'model' : key] = v;
  }
  return extra;
}
