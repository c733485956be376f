/**
 * Seed 002's platform table: each platform's aspect ratio (and the other ratios it takes), its usual
 * length, and how the agent's message names it. Pure data plus lookups.
 */
import { AppError } from '../../errors.js';

import { type AspectRatio, PLATFORMS, type Platform } from '../../names.js';

export { type AspectRatio, PLATFORMS, type Platform };

export interface PlatformFormat {
  /** The platform's aspect ratio when none is given. */
  aspect: AspectRatio;
  /** Other ratios the platform takes (seed: Instagram feed 1:1 or 4:5, product demo 16:9 or 1:1). */
  also?: AspectRatio[];
  /** The platform's usual length, for the agent (tool models have fixed clip lengths). */
  length: string;
  /** How the agent's message names it. */
  words: string;
}

/** Seed 002's "Platform-Specific Outputs" table. */
export const PLATFORM_FORMATS: Record<Platform, PlatformFormat> = {
  tiktok: { aspect: '9:16', length: '15-60 seconds', words: 'TikTok' },
  reels: { aspect: '9:16', length: '15-60 seconds', words: 'Instagram Reels' },
  shorts: { aspect: '9:16', length: '15-60 seconds', words: 'YouTube Shorts' },
  youtube: { aspect: '16:9', length: '30 seconds to 5 minutes', words: 'YouTube' },
  instagram: { aspect: '1:1', also: ['4:5'], length: '15-30 seconds', words: 'an Instagram feed post' },
  twitter: { aspect: '16:9', length: '15-30 seconds', words: 'Twitter/X' },
  product_demo: { aspect: '16:9', also: ['1:1'], length: '30-60 seconds', words: 'a product demo' },
  podcast: { aspect: '16:9', length: '1-5 minutes', words: 'a podcast' },
};

/** Other names users give a platform (compared without case, spaces, dashes or underscores). */
const PLATFORM_ALIASES: Record<string, Platform> = {
  x: 'twitter',
  'twitter/x': 'twitter',
  instagramfeed: 'instagram',
  instagramreels: 'reels',
  youtubeshorts: 'shorts',
  demo: 'product_demo',
};

/** The platform a user named, by its one name ("X" -> twitter, "Product Demo" -> product_demo). */
export function parsePlatform(raw: string | undefined): Platform | undefined {
  if (raw === undefined) return undefined;
  const key = raw
    .trim()
    .toLowerCase()
    .replace(/[\s_-]+/g, '');
  return PLATFORMS.find((p) => p.replace(/_/g, '') === key) ?? PLATFORM_ALIASES[key];
}

/** The aspect ratio a platform implies (TikTok/Reels/Shorts 9:16, YouTube/Twitter/demo/podcast 16:9, Instagram 1:1). */
export function aspectFromPlatform(platform: string | undefined): AspectRatio | undefined {
  const p = parsePlatform(platform);
  return p ? PLATFORM_FORMATS[p].aspect : undefined;
}

export const SHAPES: Record<AspectRatio, string> = {
  '9:16': 'vertical',
  '16:9': 'horizontal',
  '1:1': 'square',
  '4:5': 'portrait',
};

/** The platform a request names, or `invalid_input` listing the accepted ones. */
export function readPlatform(raw: string | undefined): Platform | undefined {
  if (raw === undefined) return undefined;
  const platform = parsePlatform(raw);
  if (!platform)
    throw new AppError('invalid_input', `The Director's platform "${raw}" is not supported.`, {
      hint: `Use one of: ${PLATFORMS.join(', ')}.`,
    });
  return platform;
}
