/**
 * What NemoVideo is, without its implementation (index.ts, imported on first use through lazy.ts).
 * Its credential source depends on the token cache on disk, which NemoAuth reads. Kept equal to
 * `createNemoVideoProvider`'s answers by test/unit/providers/meta.test.ts.
 */
import { isUsableSecret } from '../../config.js';
import type { ProviderMeta } from '../lazy.js';
import type { CredentialState, TaskKind, Timing } from '../provider.js';
import { type AuthDeps, NemoAuth } from './auth.js';
import { FORMATS } from './errors.js';

const MINUTE = 60_000;

const TIMING: Record<'lip_sync' | 'edit' | 'render', Timing> = {
  // An agent job: state changes only at the end; 90 unchanged polls = the 15-minute stream ceiling.
  // Both outlast the provider's own ceiling for a missing result (outcome.ts), so it is reported.
  lip_sync: { pollIntervalMs: 10_000, stallPolls: 90, giveUpAfterMs: 30 * MINUTE },
  edit: { pollIntervalMs: 10_000, stallPolls: 90, giveUpAfterMs: 30 * MINUTE },
  // The vendor's own guidance: poll an export every 30 s.
  render: { pollIntervalMs: 30_000, stallPolls: 40, giveUpAfterMs: 30 * MINUTE },
};

/** How long and how often to look at a job, per kind (the implementation uses this too). */
export function nemoTiming(kind: TaskKind): Timing {
  return kind === 'render' ? TIMING.render : kind === 'edit' ? TIMING.edit : TIMING.lip_sync;
}

export function nemoVideoMeta(deps: AuthDeps): ProviderMeta {
  // Only `source()` is used here (a read of the token cache); the implementation has its own NemoAuth
  // for tokens, and the cache file is what both share, as two processes would.
  const auth = new NemoAuth(deps);
  return {
    name: 'nemovideo',
    displayName: 'NemoVideo',
    capabilities: {
      kinds: ['lip_sync', 'edit', 'render'],
      formats: { video: [...FORMATS.video], audio: [...FORMATS.audio], image: [...FORMATS.image] },
      paid: true,
    },
    credentials(): CredentialState {
      const t = deps.config.token;
      if (t && !isUsableSecret(t)) {
        return {
          configured: false,
          source: t.source,
          fix: `NEMO_TOKEN looks like an unsubstituted template (e.g. \${NEMO_TOKEN}); set the real token, or remove it to use a free anonymous token.`,
          missingKey: 'NEMO_TOKEN',
        };
      }
      return { configured: true, source: auth.source() };
    },
    timing: nemoTiming,
    optional: ['findExisting', 'lookupById', 'upload', 'credits'],
  };
}
