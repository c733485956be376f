/**
 * The token cache file's schemas, apart from the API's (schemas.ts): NemoVideo's metadata reads the
 * cache at start (its credential source), and should not build every answer schema to do so.
 */
import { z } from 'zod';

const text = z.string().min(1);
/** An optional field: a wrong type or null reads as undefined. */
const opt = <T extends z.ZodTypeAny>(schema: T) => schema.nullish().catch(undefined);

/** The anonymous-token cache file (token-file.ts). */
export const tokenCacheSchema = z.object({
  client_id: text,
  token: opt(text),
  expires_at: opt(z.number()),
  user_id: opt(text),
});

/** The token lock's owner record. */
export const lockOwnerSchema = z.object({ pid: z.number(), host: z.string() }).loose();
