/**
 * Minimal, tolerant zod schemas for NemoVideo's answers (providers.md §2). Only the fields we read are
 * declared; objects stay loose (unknown keys pass through), and a field of the wrong type reads as
 * absent instead of failing the whole answer — the vendor's sources disagree on several shapes.
 */
import { z } from 'zod';

/** An optional field: a wrong type or null reads as undefined. */
function opt<T extends z.ZodTypeAny>(schema: T) {
  return schema.nullish().catch(undefined);
}

/** A finite number, also when sent as a numeric string. */
export const finite = z
  .union([
    z.number(),
    z
      .string()
      .trim()
      .regex(/^-?\d+(\.\d+)?$/)
      .transform(Number),
  ])
  .pipe(z.number());

const text = z.string().min(1);
const httpUrl = z.string().regex(/^https?:\/\//);

/** `{code, msg|message, data}`; a body without `code` is data as is (render status answers). */
export const envelopeSchema = z
  .object({
    code: opt(
      z.union([
        z.number(),
        z
          .string()
          .regex(/^-?\d+$/)
          .transform(Number),
      ]),
    ),
    msg: opt(text),
    message: opt(text),
  })
  .loose();

/** Any answer's `data` may name the (anonymous) user: the `?bind=` id for registration. */
export const userIdSchema = z.object({ user_id: opt(z.unknown()) }).loose();

export const anonymousTokenSchema = z
  .object({
    token: text,
    expires_at: opt(z.unknown()),
    user_id: opt(z.union([text, z.number().transform(String)])),
  })
  .loose();

export const sessionSchema = z.object({ session_id: text }).loose();

export const uploadedFileSchema = z
  .object({
    cdn_url: opt(text),
    url: opt(text),
    duration: opt(finite),
    width: opt(finite),
    height: opt(finite),
    fps: opt(finite),
  })
  .loose();
export const uploadSchema = z.object({ files: z.array(z.unknown()).min(1) }).loose();

export const creditsSchema = z.object({ available: finite, frozen: opt(finite), total: opt(finite) }).loose();

/** One layer of a render status answer (top level, `data`, or `data.data`). */
export const renderLayerSchema = z
  .object({
    status: opt(z.string()),
    output: opt(z.union([z.object({ url: opt(httpUrl) }).loose(), httpUrl])),
    outputUrl: opt(httpUrl),
    output_url: opt(httpUrl),
    progress: opt(finite),
    data: opt(z.unknown()),
  })
  .loose();

const reason = opt(
  z.union([
    text.transform((s) => s.slice(0, 500)),
    z
      .object({ message: text })
      .loose()
      .transform((o) => o.message.slice(0, 500)),
  ]),
);
/** Where a failed render says why. */
export const failureSchema = z
  .object({
    error: reason,
    reason: reason,
    errorMessage: reason,
    error_message: reason,
    message: reason,
    msg: reason,
  })
  .loose();

/** `data.state` (or a bare state); the draft may come as a JSON string. */
export const stateSchema = z.object({ state: opt(z.record(z.string(), z.unknown())) }).loose();

const draftJson = z.string().transform((s, ctx) => {
  try {
    return JSON.parse(s) as unknown;
  } catch {
    ctx.addIssue({ code: 'custom', message: 'draft is not JSON' });
    return z.NEVER;
  }
});
export const trackSchema = z
  .object({
    tt: opt(finite),
    d: opt(finite),
    sg: opt(z.array(z.unknown())),
    segments: opt(z.array(z.unknown())),
  })
  .loose();
export type Track = z.infer<typeof trackSchema>;
export const draftSchema = z.preprocess(
  (v) => (typeof v === 'string' ? draftJson.safeParse(v).data : v),
  z
    .object({
      t: opt(z.array(z.unknown())),
      tracks: opt(z.array(z.unknown())),
      d: opt(finite),
    })
    .loose(),
);
export const segmentSchema = z.object({ d: opt(finite) }).loose();

/** A `/run_sse` event: the vendor's `{type, text, ...}` or Google ADK's `{content: {parts}}`. */
const named = z.object({ name: opt(text) }).loose();
export const partSchema = z
  .object({
    text: opt(z.string()),
    thought: opt(z.boolean()),
    functionCall: opt(named),
    functionResponse: opt(named),
  })
  .loose();
export const sseEventSchema = z
  .object({
    type: opt(text),
    text: opt(text),
    content: opt(z.union([text, z.object({ parts: opt(z.array(z.unknown())) }).loose()])),
    delta: opt(text),
    message: opt(text),
    partial: opt(z.boolean()),
    name: opt(text),
    tool: opt(text),
    tool_name: opt(text),
    function: opt(named),
    tool_call: opt(named),
  })
  .loose();
export type SseEvent = z.infer<typeof sseEventSchema>;

export { lockOwnerSchema, tokenCacheSchema } from './token-schemas.js';
