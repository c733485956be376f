/**
 * What Jogg is, without its implementation (index.ts, imported on first use through lazy.ts). Kept
 * equal to `createJoggProvider`'s answers by test/unit/providers/meta.test.ts.
 */
import { type Config, isUsableSecret, PLAYBACK_TYPES } from '../../config.js';
import type { ProviderMeta } from '../lazy.js';
import type { CredentialState } from '../provider.js';

const JOGG_PRICING_URL = 'https://www.jogg.ai/api-pricing/';

export function joggMeta(config: Config['jogg']): ProviderMeta {
  return {
    name: 'jogg',
    displayName: 'Jogg',
    capabilities: {
      kinds: ['lip_sync'],
      formats: { video: ['mp4', 'mov', 'm4v', 'webm'], audio: ['mp3', 'wav', 'm4a', 'aac', 'ogg'] },
      playbackTypes: [...PLAYBACK_TYPES],
      paid: true,
    },
    credentials: () => joggCredentials(config),
    timing: () => ({ pollIntervalMs: config.pollIntervalSeconds * 1000 }),
    optional: ['upload', 'findExisting', 'lookupById', 'credits'],
  };
}

function joggCredentials(config: Config['jogg']): CredentialState {
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
