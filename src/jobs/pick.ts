/**
 * Which provider runs a call: small and synchronous, so the JobService answers it before the job
 * units load (engine.ts), and the create path uses the same rule once they have.
 */
import { AppError } from '../errors.js';
import type { Provider, ProviderName, TaskKind } from '../providers/provider.js';

export interface Providers {
  providers: Map<ProviderName, Provider>;
  /** LIPSYNC_DEFAULT_PROVIDER. */
  defaultProvider?: string;
}

/** Picks the provider for a call: named, then LIPSYNC_DEFAULT_PROVIDER, then the first with a key, then local. */
export function pickProvider(d: Providers, name: string | undefined, kind: TaskKind): Provider {
  const wanted = name ?? d.defaultProvider;
  if (wanted) return named(d, wanted, kind);
  const candidates = [...d.providers.values()].filter((p) => p.capabilities.kinds.includes(kind));
  const explicit = candidates.find((p) => p.name !== 'local' && p.credentials().source.startsWith('env:'));
  const chosen = explicit ?? candidates.find((p) => p.name === 'local') ?? candidates[0];
  if (!chosen) {
    throw new AppError('unsupported', `No provider here can run ${kind.replace('_', ' ')} jobs.`, {
      hint: 'Run `lipsync-mcp doctor` to see which providers are configured.',
    });
  }
  return chosen;
}

function named(d: Providers, wanted: string, kind: TaskKind): Provider {
  const p = d.providers.get(wanted as ProviderName);
  if (!p) {
    const hint =
      wanted === 'local'
        ? 'The local engine needs ffmpeg: install it (or set FFMPEG_PATH) and run `lipsync-mcp doctor`.'
        : `Available providers: ${[...d.providers.keys()].join(', ')}.`;
    throw new AppError('invalid_input', `Provider "${wanted}" is not available.`, { hint });
  }
  if (!p.capabilities.kinds.includes(kind)) {
    throw new AppError('unsupported', `${p.displayName} does not support ${kind.replace('_', ' ')} jobs.`, {
      hint: `Choose one of: ${providersFor(d.providers, kind).join(', ') || 'none available'}.`,
    });
  }
  return p;
}

/** The providers that run `kind`, by name. */
export function providersFor(providers: Map<ProviderName, Provider>, kind: TaskKind): string[] {
  return [...providers.values()].filter((p) => p.capabilities.kinds.includes(kind)).map((p) => p.name);
}
