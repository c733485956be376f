/** Every provider's configuration state and balance. Never spends; no network for unconfigured ones. */
import { AppError, type UserError } from '../errors.js';
import type { JsonObject, Provider, ProviderName } from '../providers/provider.js';

export interface CreditsEntry {
  provider: ProviderName;
  display_name: string;
  configured: boolean;
  source: string;
  summary: string;
  balance?: JsonObject;
  fix?: string;
}

export async function readCredits(
  providers: Iterable<Provider>,
  providerName: string | undefined,
  signal: AbortSignal,
  userError: (err: unknown) => UserError,
): Promise<CreditsEntry[]> {
  const list = [...providers].filter((p) => !providerName || p.name === providerName);
  if (providerName && !list.length)
    throw new AppError('invalid_input', `Provider "${providerName}" is not available.`);
  return Promise.all(list.map((p) => one(p, signal, userError)));
}

async function one(
  p: Provider,
  signal: AbortSignal,
  userError: (err: unknown) => UserError,
): Promise<CreditsEntry> {
  const cred = p.credentials();
  const base = {
    provider: p.name,
    display_name: p.displayName,
    configured: cred.configured,
    source: cred.source,
  };
  if (!cred.configured) return { ...base, summary: 'not configured', fix: cred.fix };
  if (!p.credits) {
    return {
      ...base,
      summary: p.capabilities.paid
        ? 'balance not available from this provider'
        : 'free (runs on this machine)',
    };
  }
  try {
    const c = await p.credits(signal);
    return {
      ...base,
      configured: c.configured,
      summary: c.summary,
      ...(c.balance ? { balance: c.balance } : {}),
    };
  } catch (err) {
    const ue = userError(err);
    if (signal.aborted) {
      return {
        ...base,
        summary: `${p.displayName} did not answer the balance request in time`,
        fix: 'Try check_credits again in a minute; nothing was spent.',
      };
    }
    return {
      ...base,
      summary: `could not read the balance: ${ue.message}`,
      ...(ue.hint ? { fix: ue.hint } : {}),
    };
  }
}
