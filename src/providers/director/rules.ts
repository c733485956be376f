/**
 * Request-level rules shared by every kind The Director runs: canonical params before the fingerprint,
 * the media a task produces (to read its result), and which daily limit a 429 refers to.
 */
import { AppError } from '../../errors.js';
import type { JsonObject, TaskKind } from '../provider.js';
import { normalizeGenerateParams } from './choice.js';
import type { ResultMedia } from './snapshot.js';
import { IMAGE_AUDIO_LIMIT_HINT, IMAGE_AUDIO_LIMIT_MESSAGE } from './text.js';
import { isTier3, type LimitBucket, normalizeTier3Params } from './tier3.js';

/** Canonical params before the fingerprint; the default lip-sync quality is left out (old tasks keep theirs). */
export function normalizeParams(kind: TaskKind, params: JsonObject): JsonObject {
  if (kind === 'generate_video') return normalizeGenerateParams(params);
  if (isTier3(kind)) return normalizeTier3Params(kind, params);
  if (kind === 'lip_sync' && typeof params.quality === 'string') {
    const q = params.quality.trim().toLowerCase();
    const { quality: _drop, ...rest } = params;
    if (q === 'quality') return rest;
    if (q !== 'cheap')
      throw new AppError('invalid_input', `Unknown quality "${params.quality}".`, {
        hint: 'Use quality "quality" (default) or "cheap".',
      });
    return { ...rest, quality: q };
  }
  return params;
}

export function mediaOf(operation: JsonObject): ResultMedia {
  const m = operation.media;
  return m === 'image' || m === 'audio' || m === 'transcript' ? m : 'video';
}

/** The gateway's 429 names the video limit; an image or audio job hit the other daily count. */
export function limitError(err: AppError, bucket: LimitBucket): AppError {
  const images = bucket === 'image_audio';
  return new AppError('daily_limit', images ? IMAGE_AUDIO_LIMIT_MESSAGE : err.message, {
    hint: images ? IMAGE_AUDIO_LIMIT_HINT : err.hint,
    details: { ...err.details, limit: images ? 'images_audio' : 'videos' },
    noTaskCreated: true,
    cause: err,
  });
}
