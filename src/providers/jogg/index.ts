/**
 * Jogg lip sync (providers.md section 1). Envelope `{code, msg, data}` with `code === 0` as success on
 * any HTTP status; result nested under `data.data`; 20 POSTs per minute per key. The operations live in
 * tasks.ts and the API in api.ts; this factory builds their context once and binds them to it.
 */
import type { Clock } from '../../clock.js';
import { type Config, PLAYBACK_TYPES } from '../../config.js';
import type { HttpClient } from '../../http/client.js';
import type { Logger } from '../../logger.js';
import type { Provider, ProviderCapabilities } from '../provider.js';
import { credentials, type JoggContext } from './api.js';
import { credits, findExisting, lookupById, prepare, start, status, upload } from './tasks.js';
import { SlidingWindow } from './throttle.js';

export { JOGG_PRICING_URL, mapCode } from './api.js';

export interface JoggDeps {
  config: Config['jogg'];
  http: HttpClient;
  clock: Clock;
  log: Logger;
}

const CAPABILITIES: ProviderCapabilities = {
  kinds: ['lip_sync'],
  formats: { video: ['mp4', 'mov', 'm4v', 'webm'], audio: ['mp3', 'wav', 'm4a', 'aac', 'ogg'] },
  playbackTypes: [...PLAYBACK_TYPES],
  paid: true,
};

export function createJoggProvider(deps: JoggDeps): Provider {
  const { config } = deps;
  const jogg: JoggContext = {
    config,
    http: deps.http,
    throttle: new SlidingWindow(config.postsPerMinute, 60_000, deps.clock),
  };
  return {
    name: 'jogg',
    displayName: 'Jogg',
    capabilities: CAPABILITIES,
    credentials: () => credentials(config),
    timing: () => ({ pollIntervalMs: config.pollIntervalSeconds * 1000 }),
    upload: (input, _role, _scope, signal) => upload(jogg, input, signal),
    prepare: (request, ctx) => prepare(jogg, request, ctx),
    findExisting: (prepared, ctx) => findExisting(jogg, prepared, ctx),
    start: (prepared, ctx) => start(jogg, prepared, ctx),
    status: (operation, ctx) => status(jogg, operation, ctx),
    lookupById: (providerTaskId, ctx) => lookupById(jogg, providerTaskId, ctx),
    credits: (signal) => credits(jogg, signal),
  };
}
