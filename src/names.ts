/**
 * Names that are part of the public API, defined once. Providers, config, tool schemas and the
 * generated docs all derive from these lists (tools may import this leaf module; it imports nothing).
 */

/** Every provider, in the order users see them. */
export const PROVIDER_NAMES = ['local', 'jogg', 'nemovideo', 'director'] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];
