/**
 * Names that are part of the public API, defined once. Providers, config, tool schemas and the
 * generated docs all derive from these lists (tools may import this leaf module; it imports nothing).
 */

/** Every provider, in the order users see them. */
export const PROVIDER_NAMES = ['local', 'jogg', 'nemovideo', 'director'] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

/** The Director's target platforms (seed 002's table) and aspect ratios. */
export const PLATFORMS = [
  'tiktok',
  'reels',
  'shorts',
  'youtube',
  'instagram',
  'twitter',
  'product_demo',
  'podcast',
] as const;
export type Platform = (typeof PLATFORMS)[number];
export const ASPECT_RATIOS = ['9:16', '16:9', '1:1', '4:5'] as const;
export type AspectRatio = (typeof ASPECT_RATIOS)[number];
