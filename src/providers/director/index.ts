/**
 * The Director: text/image-to-video and lip sync through the agent gateway (GATEWAY_TOKEN) or, without
 * a gateway token, the direct API (SJINN_API_KEY). The gateway token wins when both are set: it is the
 * platform-level, billed path the seed prescribes, and the direct key is an opt-in for users without it.
 *
 * Paying twice is the failure that matters, so `start` resends a create only when the answer proves no
 * task exists (see api.ts), at most twice, 30 s apart on the injected clock. A timeout or reset after
 * sending is thrown for the JobService to mark `unknown` — never a blind resubmit. When the user named
 * no model and a create fails outright, the next model of the chain is tried (agent -> Veo3 -> Sora2)
 * and every snapshot says so. The operations live in create.ts and query.ts; this factory builds their
 * context once and binds them to it.
 */

import type { Provider, ProviderCapabilities, TaskKind, Timing } from '../provider.js';
import { DirectorApi } from './api.js';
import { credentialState } from './auth.js';
import { MODEL_LABELS, TEMPLATE_LABELS } from './choice.js';
import type { DirectorContext, DirectorProviderDeps } from './context.js';
import { prepare, start } from './create.js';
import { DailyLimitMemory } from './limit.js';
import { PLATFORMS } from './platform.js';
import { credits, lookupById, status } from './query.js';
import { normalizeParams } from './rules.js';
import { SERVICE } from './text.js';
import { TIER3_KINDS } from './tier3.js';

export {
  aspectFromPlatform,
  type ModelChoice,
  resolveModelChoice,
  TEMPLATE_IDS,
  TOOL_TYPES,
} from './choice.js';
export type { DirectorProviderDeps } from './context.js';
export { CREATE_RETRIES, CREATE_RETRY_DELAY_MS } from './create.js';
export { namesVendor } from './text.js';

const VIDEO_TIMING: Timing = { pollIntervalMs: 15_000, stallPolls: 20, giveUpAfterMs: 10 * 60_000 };
const IMAGE_AUDIO_TIMING: Timing = { pollIntervalMs: 10_000, stallPolls: 20, giveUpAfterMs: 5 * 60_000 };

const CAPABILITIES: ProviderCapabilities = {
  kinds: ['generate_video', 'lip_sync', ...TIER3_KINDS],
  formats: {
    image: ['jpg', 'jpeg', 'png', 'webp'],
    audio: ['mp3', 'wav', 'm4a', 'aac'],
    video: ['mp4', 'mov', 'webm'],
  },
  paid: true,
};

const CHOICES: Provider['choices'] = {
  model: Object.keys(MODEL_LABELS),
  template: Object.keys(TEMPLATE_LABELS),
  platform: PLATFORMS,
};

/** Seed 002: videos (and post-production, which makes videos) 15 s / 10 min; images and audio 10 s / 5 min. */
function timing(kind: TaskKind): Timing {
  return {
    ...(kind === 'image' || kind === 'audio' || kind === 'transcript' ? IMAGE_AUDIO_TIMING : VIDEO_TIMING),
  };
}

export function createDirectorProvider(deps: DirectorProviderDeps): Provider {
  const { config, clock, log, stateFile } = deps;
  const director: DirectorContext = {
    config,
    clock,
    api: new DirectorApi({
      http: deps.http,
      gatewayUrl: config.gatewayUrl,
      directUrl: config.sjinnBaseUrl,
      now: () => clock.now(),
    }),
    limits: {
      video: new DailyLimitMemory(clock, log, stateFile),
      image_audio: new DailyLimitMemory(
        clock,
        log,
        stateFile ? stateFile.replace(/(\.json)?$/, '-image-audio.json') : undefined,
      ),
    },
    uploadVia: deps.uploadVia,
    publisher: deps.publisher,
  };
  return {
    name: 'director',
    displayName: SERVICE,
    capabilities: CAPABILITIES,
    choices: CHOICES,
    credentials: () => credentialState(config),
    lookupById: (id, ctx) => lookupById(director, id, ctx),
    normalizeParams,
    timing,
    prepare: (request, ctx) => prepare(director, request, ctx),
    ...(deps.uploadVia?.upload ? { upload: deps.uploadVia.upload } : {}),
    start: (prepared, ctx) => start(director, prepared, ctx),
    status: (operation, ctx) => status(director, operation, ctx),
    credits: (signal) => credits(director, signal),
  };
}
