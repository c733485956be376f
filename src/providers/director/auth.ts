/**
 * Which credential The Director uses. The gateway token wins when both are set: it is the
 * platform-level, billed path the seed prescribes; the direct API key is an opt-in for users without a
 * gateway. A value that looks like an unsubstituted template (`${GATEWAY_TOKEN}`) counts as missing,
 * with a message that says so.
 */
import type { Config } from '../../config.js';
import { isUsableSecret } from '../../config.js';
import { AppError } from '../../errors.js';
import type { CredentialState } from '../provider.js';
import { MISSING_FIX } from './text.js';
import type { DirectorAuth, Via } from './types.js';

type DirectorConfig = Config['director'];

/** The credential to use; `preferred` keeps a task on the path that created it while that key exists. */
export function resolveAuth(config: DirectorConfig, preferred?: Via): DirectorAuth | undefined {
  const gw = isUsableSecret(config.gatewayToken) ? config.gatewayToken : undefined;
  const direct = isUsableSecret(config.sjinnApiKey) ? config.sjinnApiKey : undefined;
  if (preferred === 'direct' && direct) return { via: 'direct', token: direct.value, source: direct.source };
  if (gw) return { via: 'gateway', token: gw.value, source: gw.source };
  if (direct) return { via: 'direct', token: direct.value, source: direct.source };
  return undefined;
}

export function credentialState(config: DirectorConfig): CredentialState {
  const auth = resolveAuth(config);
  if (auth) return { configured: true, source: auth.source };
  const gw = config.gatewayToken;
  if (gw && 'template' in gw) {
    return {
      configured: false,
      source: gw.source,
      fix: `GATEWAY_TOKEN (${gw.source}) looks like an unsubstituted template such as \${GATEWAY_TOKEN}, not a real token. Put the real token there, or contact support to enable video generation.`,
      missingKey: 'GATEWAY_TOKEN',
    };
  }
  const key = config.sjinnApiKey;
  if (key && 'template' in key) {
    return {
      configured: false,
      source: key.source,
      fix: `SJINN_API_KEY (${key.source}) looks like an unsubstituted template, not a real key. Set the real key, or set GATEWAY_TOKEN instead.`,
      missingKey: 'SJINN_API_KEY',
    };
  }
  return { configured: false, source: 'none', fix: MISSING_FIX, missingKey: 'GATEWAY_TOKEN' };
}

/** The credential, or an AppError that proves nothing was started (checked before any paid step). */
export function mustAuth(config: DirectorConfig, preferred?: Via): DirectorAuth {
  const auth = resolveAuth(config, preferred);
  if (auth) return auth;
  const state = credentialState(config);
  throw new AppError('missing_credentials', state.fix ?? MISSING_FIX, {
    hint: 'The token usually lives in ~/.openclaw/.env as GATEWAY_TOKEN=...; nothing was started.',
    details: { missing_key: state.missingKey ?? 'GATEWAY_TOKEN' },
    noTaskCreated: true,
  });
}
