/**
 * What The Director is, without its implementation (index.ts, imported on first use through lazy.ts):
 * its capabilities, choices and timings are written here once and used by the implementation too; the
 * credential check, the canonical params and the choice tables come from the same small modules the
 * implementation uses; none of them builds a response schema. Kept equal to
 * `createDirectorProvider`'s answers by test/unit/providers/meta.test.ts.
 */
import type { Config } from '../../config.js';
import type { OptionalMethod, ProviderMeta } from '../lazy.js';
import type { Provider, ProviderCapabilities, TaskKind, Timing } from '../provider.js';

type ProviderChoices = Provider['choices'];

import { credentialState } from './auth.js';
import { MODEL_LABELS, TEMPLATE_LABELS } from './choice.js';
import { PLATFORMS } from './platform.js';
import { normalizeParams } from './rules.js';
import { SERVICE } from './text.js';
import { TIER3_KINDS } from './tier3.js';

const VIDEO_TIMING: Timing = { pollIntervalMs: 15_000, stallPolls: 20, giveUpAfterMs: 10 * 60_000 };
const IMAGE_AUDIO_TIMING: Timing = { pollIntervalMs: 10_000, stallPolls: 20, giveUpAfterMs: 5 * 60_000 };

export const DIRECTOR_CAPABILITIES: ProviderCapabilities = {
  kinds: ['generate_video', 'lip_sync', ...TIER3_KINDS],
  formats: {
    image: ['jpg', 'jpeg', 'png', 'webp'],
    audio: ['mp3', 'wav', 'm4a', 'aac'],
    video: ['mp4', 'mov', 'webm'],
  },
  paid: true,
};

export const DIRECTOR_CHOICES: ProviderChoices = {
  model: Object.keys(MODEL_LABELS),
  template: Object.keys(TEMPLATE_LABELS),
  platform: PLATFORMS,
};

/** Seed 002: videos (and post-production, which makes videos) 15 s / 10 min; images and audio 10 s / 5 min. */
export function directorTiming(kind: TaskKind): Timing {
  return {
    ...(kind === 'image' || kind === 'audio' || kind === 'transcript' ? IMAGE_AUDIO_TIMING : VIDEO_TIMING),
  };
}

/** `uploads`: local files go through another provider's upload (DIRECTOR_UPLOAD_VIA). */
export function directorMeta(config: Config['director'], opts: { uploads: boolean }): ProviderMeta {
  const optional: OptionalMethod[] = ['lookupById', 'credits'];
  if (opts.uploads) optional.push('upload');
  return {
    name: 'director',
    displayName: SERVICE,
    capabilities: DIRECTOR_CAPABILITIES,
    choices: DIRECTOR_CHOICES,
    credentials: () => credentialState(config),
    normalizeParams,
    timing: directorTiming,
    optional,
  };
}
