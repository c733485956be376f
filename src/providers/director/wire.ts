/**
 * The Director's answers, read with minimal tolerant zod schemas: only the fields we use, every one
 * optional, and a field of an unexpected type reads as absent instead of failing the whole answer
 * (the shapes are [S]/[I] in providers.md §3, so nothing here may be trusted to be exact).
 *
 * One envelope covers both paths: the gateway's `{ data: {...} }` and the direct API's
 * `{ success, errorMsg, error_code, data }`. Unknown fields pass through untouched.
 */
import { z } from 'zod';
import { scrub } from './text.js';

/**
 * Optional and forgiving: null, missing or the wrong type all read as `undefined`. The final
 * `.optional()` keeps the key optional in the inferred type (zod 4 no longer infers it from a transform).
 */
const opt = <T extends z.ZodTypeAny>(schema: T) =>
  schema
    .nullish()
    .transform((v): z.output<T> | undefined => v ?? undefined)
    .catch(undefined)
    .optional();

const text = opt(z.string());
/** An id may be a string or a number; blank means none. */
const id = opt(z.union([z.string(), z.number()]).transform((v) => String(v).trim() || undefined));
const apiType = opt(z.enum(['agent', 'tool']));
/** A number, or a numeric string ("100"). */
const num = opt(
  z.union([z.number(), z.string().trim().min(1).transform(Number)]).refine((n) => Number.isFinite(n)),
);
/** Status 1/-1/0/2 as a number or a string, or the backend's own word; normalised to a lower-case key. */
const status = opt(
  z
    .union([z.number(), z.string()])
    .transform((v) => (typeof v === 'number' ? String(v) : v.trim().toLowerCase() || undefined)),
);
/** [S] A URL field: one string, or a list of strings or `{ url | video_url }` objects. */
const urlItem = z.union([z.string(), z.object({ url: text, video_url: text }).loose()]).catch('');
const urls = opt(z.union([z.string().transform((s) => [s]), z.array(urlItem)]));
const success = opt(
  z.union([z.boolean(), z.enum(['true', 'false'])]).transform((v) => v === true || v === 'true'),
);

// [I] Tier 3 answers (images, audio) may name their URL `image_url` / `audio_url` instead of `video_url`.
const outputSchema = z
  .object({
    video_url: urls,
    image_url: urls,
    audio_url: urls,
    url: urls,
    urls: urls,
    cover_url: urls,
  })
  .loose();
const toolResultSchema = z
  .object({ result: urls, video_url: urls, image_url: urls, audio_url: urls, url: urls })
  .loose();

const dataSchema = z
  .object({
    chat_id: id,
    task_id: id,
    _corrected_api: apiType,
    status,
    progress: num,
    video_url: urls,
    image_url: urls,
    audio_url: urls,
    image_urls: urls,
    output_urls: urls,
    output: opt(outputSchema),
    tool_results: opt(z.array(toolResultSchema.catch({}))),
    result_url: urls,
    cover_url: urls,
    thumbnail_url: urls,
    duration: num,
    duration_seconds: num,
    message: text,
    errorMsg: text,
    error_msg: text,
    error: text,
    fail_reason: text,
  })
  .loose();

const envelopeSchema = z
  .object({
    success,
    errorMsg: text,
    message: text,
    error: opt(z.union([z.string(), z.object({ message: text }).loose()])),
    error_code: opt(z.union([z.number(), z.string()])),
    chat_id: id,
    task_id: id,
    _corrected_api: apiType,
    data: opt(dataSchema),
  })
  .loose();

export type Envelope = z.infer<typeof envelopeSchema>;
export type AnswerData = z.infer<typeof dataSchema>;
export type UrlList = z.infer<typeof urls>;

/** The answer as an envelope, or undefined when it is not a JSON object at all. */
export function readEnvelope(body: unknown): Envelope | undefined {
  const parsed = envelopeSchema.safeParse(body);
  return parsed.success ? parsed.data : undefined;
}

/** `data`, or an empty one when the answer has none (or an unusable one). */
export function dataOf(env: Envelope): AnswerData {
  return env.data ?? dataSchema.parse({});
}

/** Whether the backend says it refused (`success: false`, or an `error` field of any kind). */
export function saysRefused(env: Envelope): boolean {
  return env.success === false || env.error !== undefined;
}

/** The backend's own explanation (scrubbed), wherever the gateway or the direct envelope put it. */
export function bodyMessage(body: unknown): string | undefined {
  const env = readEnvelope(body);
  if (!env) return undefined;
  const data = env.data;
  const err = env.error;
  const candidates = [
    env.errorMsg,
    env.message,
    typeof err === 'string' ? err : err?.message,
    data?.errorMsg,
    data?.error_msg,
    data?.error,
    data?.message,
    data?.fail_reason,
  ];
  for (const c of candidates) if (c?.trim()) return scrub(c);
  return undefined;
}

/**
 * Whether an answer says "daily limit" (the gateway's 429 body is `{error:'video_limit_reached'}`, seed
 * 002). A plain "rate limit reached" / "too many requests" is not: it passes in seconds, not at midnight.
 */
export function saysDailyLimit(body: unknown, raw: string): boolean {
  return (
    /\b(?:video|image|audio|media|daily)_limit_reached\b|daily (?:video |image |audio )?limit/i.test(raw) ||
    readEnvelope(body)?.error === 'video_limit_reached'
  );
}

/** `_corrected_api` in data or at the top: the gateway fell back to the other task type. */
export function correctedApi(body: unknown): 'agent' | 'tool' | undefined {
  const env = readEnvelope(body);
  return env?.data?._corrected_api ?? env?._corrected_api ?? undefined;
}

/** [I] The account answer's shape isn't documented; the first credit-like number wins. */
const accountSchema = z.object({
  credits: z.number().optional().catch(undefined),
  remaining_credits: z.number().optional().catch(undefined),
  balance: z.number().optional().catch(undefined),
  points: z.number().optional().catch(undefined),
  remaining: z.number().optional().catch(undefined),
});

export function creditAmount(account: unknown): number | undefined {
  const a = accountSchema.safeParse(account);
  if (!a.success) return undefined;
  return a.data.credits ?? a.data.remaining_credits ?? a.data.balance ?? a.data.points ?? a.data.remaining;
}
