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

import type { Provider } from '../provider.js';
import { DirectorApi } from './api.js';
import { credentialState } from './auth.js';
import type { DirectorContext, DirectorProviderDeps } from './context.js';
import { prepare, start } from './create.js';
import { DailyLimitMemory } from './limit.js';
import { DIRECTOR_CAPABILITIES, DIRECTOR_CHOICES, directorTiming } from './meta.js';
import { credits, lookupById, status } from './query.js';
import { normalizeParams } from './rules.js';
import { SERVICE } from './text.js';

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
    capabilities: DIRECTOR_CAPABILITIES,
    choices: DIRECTOR_CHOICES,
    credentials: () => credentialState(config),
    lookupById: (id, ctx) => lookupById(director, id, ctx),
    normalizeParams,
    timing: directorTiming,
    prepare: (request, ctx) => prepare(director, request, ctx),
    ...(deps.uploadVia?.upload ? { upload: deps.uploadVia.upload } : {}),
    start: (prepared, ctx) => start(director, prepared, ctx),
    status: (operation, ctx) => status(director, operation, ctx),
    credits: (signal) => credits(director, signal),
  };
}
