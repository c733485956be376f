/** Request checks and shapes shared by the job service's parts: credentials, lip-sync params, ids. */
import { randomUUID } from 'node:crypto';
import { AppError } from '../errors.js';
import type { InputRole, Json, JsonObject, Provider, ResolvedInput } from '../providers/provider.js';
import type { TaskRow } from './store.js';

/** A lip-sync request as tools and the CLI take it. */
export interface LipSyncRequest {
  provider?: string;
  video?: string;
  image?: string;
  audio: string;
  playbackType?: string;
  align?: 'auto' | 'off';
  /** The Director only: 'quality' (default) or 'cheap'. */
  quality?: string;
  forceRecreate?: boolean;
  waitSeconds?: number;
}

/** A lip sync needs a video or an image, not both. */
export function requireOneVisual(req: LipSyncRequest): void {
  if (!req.video && !req.image) {
    throw new AppError('invalid_input', 'A video (or an image) is required.', {
      hint: 'Pass `video` as a file path or URL.',
    });
  }
  if (req.video && req.image) {
    throw new AppError('invalid_input', 'Pass either a video or an image, not both.', {
      hint: 'Use `video` for video lip sync, `image` for a talking still.',
    });
  }
}

export function requireConfigured(provider: Provider): void {
  const cred = provider.credentials();
  if (cred.configured) return;
  throw new AppError('missing_credentials', `${provider.displayName} is not configured.`, {
    hint: cred.fix ?? `Set ${cred.missingKey ?? 'its API key'} and try again.`,
    details: cred.missingKey ? { missing_key: cred.missingKey } : undefined,
  });
}

export function lipSyncParams(
  provider: Provider,
  req: LipSyncRequest,
  defaultType: string | undefined,
): JsonObject {
  const types = provider.capabilities.playbackTypes;
  const params: JsonObject = {};
  if (types) {
    const pt = req.playbackType ?? defaultType ?? 'normal';
    if (!types.includes(pt)) {
      throw new AppError('invalid_input', `Unknown playback type "${pt}".`, {
        hint: `Use one of: ${types.join(', ')}.`,
      });
    }
    params.playback_type = pt;
  } else if (req.playbackType && req.playbackType !== 'normal') {
    throw new AppError('invalid_input', `${provider.displayName} has no playback_type option.`, {
      hint: 'Leave playback_type out, or use provider "jogg" or "local".',
    });
  }
  if (provider.name === 'local') params.align = req.align ?? 'auto';
  if (req.quality !== undefined) {
    if (provider.name !== 'director')
      throw new AppError('invalid_input', `${provider.displayName} has no quality option.`, {
        hint: 'Leave quality out, or use provider "director".',
      });
    params.quality = req.quality;
  }
  return params;
}

export function errorFromRow(row: TaskRow): AppError {
  const e = row.error;
  return new AppError(e?.code ?? 'provider_failed', e?.message ?? 'The job could not be submitted.', {
    hint: e?.hint ?? 'Nothing was charged for this attempt; fix the problem and call again.',
    details: { ...(e?.details ?? {}), task_id: row.id, charged: false },
  });
}

export function inputsToJson(inputs: Partial<Record<InputRole, ResolvedInput>>): JsonObject {
  const out: JsonObject = {};
  for (const [role, i] of Object.entries(inputs)) {
    if (!i) continue;
    out[role] = (
      i.type === 'file'
        ? { type: 'file', path: i.path, filename: i.filename, sha256: i.sha256, size: i.size }
        : { type: 'url', url: i.url, filename: i.filename }
    ) as Json;
  }
  return out;
}

export function newTaskId(): string {
  return `ls_${randomUUID().replace(/-/g, '').slice(0, 20)}`;
}
