/**
 * The Director: text/image-to-video and lip sync through the agent gateway (GATEWAY_TOKEN) or, without
 * a gateway token, the direct API (SJINN_API_KEY). The gateway token wins when both are set: it is the
 * platform-level, billed path the seed prescribes, and the direct key is an opt-in for users without it.
 *
 * Paying twice is the failure that matters, so `start` resends a create only when the answer proves no
 * task exists (see api.ts), at most twice, 30 s apart on the injected clock. A timeout or reset after
 * sending is thrown for the JobService to mark `unknown` — never a blind resubmit. When the user named
 * no model and a create fails outright, the next model of the chain is tried (agent -> Veo3 -> Sora2)
 * and every snapshot says so.
 */

import type { Clock } from '../../clock.js';
import type { Config } from '../../config.js';
import { AppError } from '../../errors.js';
import type { HttpClient } from '../../http/client.js';
import type { Logger } from '../../logger.js';
import type {
  Credits,
  JobRequest,
  Json,
  JsonObject,
  PrepareContext,
  Provider,
  Snapshot,
  StartContext,
  StartResult,
  StatusContext,
  TaskKind,
  Timing,
} from '../provider.js';
import { type CreateOutcome, DirectorApi, type DirectorAuth, type Via } from './api.js';
import { credentialState, mustAuth, resolveAuth } from './auth.js';
import {
  buildGenerateSpec,
  buildImageLipSyncSpec,
  buildVideoLipSyncSpec,
  type CreateSpec,
  MODEL_LABELS,
  resolveModelChoice,
  TEMPLATE_LABELS,
} from './choice.js';
import { DailyLimitMemory } from './limit.js';
import { resolveMedia } from './media.js';
import { PLATFORMS } from './platform.js';
import { limitError, mediaOf, normalizeParams } from './rules.js';
import { toSnapshot } from './snapshot.js';
import { type PreparedPlan, readOperation, readPlan } from './stored.js';
import { MISSING_FIX, SERVICE, scrubJson } from './text.js';
import { bucketOf, buildTier3Spec, isTier3, type LimitBucket, MEDIA_OF, TIER3_KINDS } from './tier3.js';
import { correctedApi, creditAmount } from './wire.js';

export {
  aspectFromPlatform,
  type ModelChoice,
  resolveModelChoice,
  TEMPLATE_IDS,
  TOOL_TYPES,
} from './choice.js';
export { namesVendor } from './text.js';

export interface DirectorProviderDeps {
  config: Config['director'];
  http: HttpClient;
  clock: Clock;
  log: Logger;
  /** Optional JSON file remembering the last daily-limit refusal (for `credits()` across runs). */
  stateFile?: string;
  /**
   * Opt-in (DIRECTOR_UPLOAD_VIA): a provider whose upload returns a public URL (Jogg's asset upload).
   * The Director has no upload endpoint, so local files go there first; without it they are refused.
   */
  uploadVia?: Pick<Provider, 'name' | 'displayName' | 'credentials' | 'upload'>;
}

/** Seed rule: a create is retried at most twice, 30 s apart, and only when no task could exist. */
export const CREATE_RETRIES = 2;
export const CREATE_RETRY_DELAY_MS = 30_000;

const VIDEO_TIMING: Timing = { pollIntervalMs: 15_000, stallPolls: 20, giveUpAfterMs: 10 * 60_000 };
const IMAGE_AUDIO_TIMING: Timing = { pollIntervalMs: 10_000, stallPolls: 20, giveUpAfterMs: 5 * 60_000 };

export function createDirectorProvider(deps: DirectorProviderDeps): Provider {
  const { config, clock, log } = deps;
  const api = new DirectorApi({
    http: deps.http,
    gatewayUrl: config.gatewayUrl,
    directUrl: config.sjinnBaseUrl,
  });
  const limits: Record<LimitBucket, DailyLimitMemory> = {
    video: new DailyLimitMemory(clock, log, deps.stateFile),
    image_audio: new DailyLimitMemory(
      clock,
      log,
      deps.stateFile ? deps.stateFile.replace(/(\.json)?$/, '-image-audio.json') : undefined,
    ),
  };

  const authFor = (preferred?: Via) => resolveAuth(config, preferred);
  const credentials = () => credentialState(config);
  const requireAuth = (preferred?: Via) => mustAuth(config, preferred);

  async function prepare(request: JobRequest, ctx: PrepareContext): Promise<JsonObject> {
    requireAuth();
    const { params } = request;
    const { urls, notes: uploadNotes } = await resolveMedia(request.inputs, deps.uploadVia, ctx);
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
      const extra =
        typeof params.instruction === 'string' ? params.instruction.trim() || undefined : undefined;
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
    auth: DirectorAuth,
    spec: CreateSpec,
    ctx: StartContext,
  ): Promise<CreateOutcome> {
    for (let attempt = 0; ; attempt++) {
      const outcome = await api.create(auth, spec, ctx.signal);
      if (outcome.kind !== 'retry' || attempt >= CREATE_RETRIES) return outcome;
      ctx.progress(
        `${SERVICE}: ${outcome.reason} (no video was started); trying again in 30 s (attempt ${attempt + 2} of ${CREATE_RETRIES + 1}).`,
      );
      try {
        await clock.sleep(CREATE_RETRY_DELAY_MS, ctx.signal);
      } catch (err) {
        throw new AppError('timeout', `Stopped while waiting to retry; ${SERVICE} did not start a video.`, {
          noTaskCreated: true,
          cause: err,
        });
      }
    }
  }

  async function start(prepared: JsonObject, ctx: StartContext): Promise<StartResult> {
    const plan = readPlan(prepared);
    const auth = requireAuth();
    const failures: { spec: CreateSpec; reason: string; error: AppError }[] = [];
    for (const [i, spec] of plan.specs.entries()) {
      // Unknown outcomes (sent, answer lost) throw out of here: never fall back after those.
      const outcome = await createWithRetries(auth, spec, ctx);
      if (outcome.kind === 'created') {
        return created(
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
        limits[bucket].record();
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
      created_at: new Date(clock.now()).toISOString(),
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

  async function status(operation: JsonObject, ctx: StatusContext): Promise<Snapshot> {
    const op = readOperation(operation);
    const auth = requireAuth(op.via);
    const body = await api.query(auth, op.api, op.id, ctx.signal);
    const snap = toSnapshot(body, extraOf(operation), mediaOf(operation));
    // The gateway may say late that the task is of the other type; store the corrected handle.
    const corrected = correctedApi(body);
    if (corrected && corrected !== op.api) {
      snap.operation = { ...operation, api: corrected, requested_api: op.api };
    }
    return snap;
  }

  /** A task created elsewhere: its api type is not known, so it is asked as an agent chat, then as a tool task. */
  async function lookupById(id: string, ctx: StatusContext) {
    const auth = requireAuth();
    for (const api of ['agent', 'tool'] as const) {
      const operation: JsonObject = { api, id, via: auth.via };
      try {
        const snapshot = await status(operation, ctx);
        const kind = 'generate_video' as const;
        return { kind, operation: snapshot.operation ?? operation, providerTaskId: id, snapshot };
      } catch (err) {
        if (err instanceof AppError && err.code === 'not_found') continue;
        throw err;
      }
    }
    return null;
  }

  async function credits(signal: AbortSignal): Promise<Credits> {
    const state = credentials();
    const auth = authFor();
    if (!state.configured || !auth)
      return { provider: 'director', configured: false, summary: state.fix ?? MISSING_FIX };
    const video = limits.video.current();
    const media = limits.image_audio.current();
    const balance: JsonObject = {
      path: auth.via,
      daily_limit_reached: !!video,
      image_audio_limit_reached: !!media,
      daily_limits_by_plan: { starter: 5, pro: 10, power: 30, byok: 5 },
      image_audio_limits_by_plan: { starter: 10, pro: 30, power: 100, byok: 15 },
    };
    const parts = [
      auth.via === 'gateway'
        ? `Configured through the agent gateway (token from ${auth.source}).`
        : 'Configured with a direct API key.',
    ];
    for (const [what, hit, key] of [
      ['video', video, 'daily_limit'],
      ['image and audio', media, 'image_audio_limit'],
    ] as const) {
      if (!hit) continue;
      balance[`${key}_seen_at`] = new Date(hit.seenAt).toISOString();
      balance[`${key}_resets_at`] = new Date(hit.resetsAt).toISOString();
      parts.push(
        `Daily ${what} limit reached at ${clockTime(hit.seenAt)}; it resets at midnight (about ${new Date(hit.resetsAt).toLocaleString()}).`,
      );
    }
    if (video) balance.resets_at = balance.daily_limit_resets_at as string;
    if (!video || !media)
      parts.push(
        'Daily limits by plan: videos Starter 5, Pro 10, Power 30, BYOK 5; images and audio Starter 10, Pro 30, Power 100, BYOK 15.',
      );
    if (auth.via === 'direct') {
      try {
        const account = scrubJson(await api.account(auth, signal)) as Json;
        balance.account = account;
        const amount = creditAmount(account);
        if (amount !== undefined) parts.push(`${amount} credits remaining.`);
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        balance.account_error = err.message;
        parts.push(`The account status could not be read: ${err.message}`);
      }
    }
    return { provider: 'director', configured: true, summary: parts.join(' '), balance };
  }

  return {
    name: 'director',
    displayName: SERVICE,
    capabilities: {
      kinds: ['generate_video', 'lip_sync', ...TIER3_KINDS],
      formats: {
        image: ['jpg', 'jpeg', 'png', 'webp'],
        audio: ['mp3', 'wav', 'm4a', 'aac'],
        video: ['mp4', 'mov', 'webm'],
      },
      paid: true,
    },
    choices: {
      model: Object.keys(MODEL_LABELS),
      template: Object.keys(TEMPLATE_LABELS),
      platform: PLATFORMS,
    },
    credentials,
    lookupById,
    normalizeParams,
    // Seed 002: videos (and post-production, which makes videos) 15 s / 10 min; images and audio 10 s / 5 min.
    timing: (kind: TaskKind): Timing => ({
      ...(kind === 'image' || kind === 'audio' || kind === 'transcript' ? IMAGE_AUDIO_TIMING : VIDEO_TIMING),
    }),
    prepare,
    ...(deps.uploadVia?.upload ? { upload: deps.uploadVia.upload } : {}),
    start,
    status,
    credits,
  };
}

function failName(f: { model: string; label: string }, first: boolean): string {
  if (f.model === 'auto') return first ? 'The auto model' : 'the auto model';
  return f.label;
}

function extraOf(operation: JsonObject): JsonObject {
  const extra: JsonObject = {};
  for (const key of ['model_label', 'api', 'fallback_note', 'notes', 'tool_type'] as const) {
    const v = operation[key];
    if (v !== undefined) extra[key === 'model_label' ? 'model' : key] = v;
  }
  return extra;
}

function clockTime(t: number): string {
  return new Date(t).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}
