/**
 * What The Director's fake refuses, and the awkward answers it can give (providers.md section 3). The
 * gateway refuses a create it cannot run with HTTP 400 `{ error }` (as for a missing message); the
 * direct API wraps the same in its envelope (index.ts `send`). Kept apart from the routes and from
 * `FakeFaults` so fault switches added there merge without touching these rules.
 */

/** Tool types the gateway runs, with the `input` fields each one needs. */
export const TOOL_INPUTS: Record<string, string[]> = {
  'veo3-text-to-video-fast-api': ['prompt'],
  'veo3-image-to-video-fast-api': ['prompt', 'image_url'],
  'sora2-text-to-video-api': ['prompt'],
  'sora2-image-to-video-api': ['prompt', 'image_url'],
  'image-lipsync-api': ['image_url', 'audio_url'],
};

/** The agent's templates (providers.md). */
export const TEMPLATE_IDS = [
  '9b371ec6-09a2-43d5-97c2-0aea79a12371',
  'de733710-fc66-4a2b-b53c-27b52c6c6f5e',
  'd5db7e33-4ef6-4c6f-96be-b7e0a98f0706',
  '1de0cc26-6bf9-4eed-a5a2-c62fe88aef52',
  '788acc9a-866b-4688-849e-7c7cfffaff54',
  '071b3487-d689-4e9e-9125-f280fdb85e7a',
  '5d0cbc88-41d7-471a-88b3-7df276016de1',
  '57a003c8-ea94-44a8-8e32-d2ec53ea780b',
];

const QUALITIES = ['quality', 'cheap'];

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Why a create body is refused (HTTP 400), or undefined when the gateway would run it. */
export function createRefusal(api: 'agent' | 'tool', body: Record<string, unknown>): string | undefined {
  if (api === 'agent') {
    if (typeof body.message !== 'string' || !body.message.trim()) return 'message is required';
    if (!QUALITIES.includes(String(body.quality))) return 'quality must be "quality" or "cheap"';
    if (body.template_id !== undefined && !TEMPLATE_IDS.includes(String(body.template_id)))
      return `unknown template_id ${String(body.template_id)}`;
    return undefined;
  }
  if (typeof body.tool_type !== 'string' || !isObject(body.input)) return 'tool_type and input are required';
  const needs = TOOL_INPUTS[body.tool_type];
  if (!needs) return `unknown tool_type ${body.tool_type}`;
  const input = body.input;
  const missing = needs.filter((k) => typeof input[k] !== 'string' || !input[k]);
  if (missing.length) return `input.${missing.join(', input.')} required for ${body.tool_type}`;
  return undefined;
}

/** Answer shapes the contract allows and a client must survive (all off by default). */
export interface ContractShapes {
  /** Statuses as strings ("0", "2", "1", "-1"), as some gateway versions send them. */
  statusAsString: boolean;
  /** A failed task (-1) carries no `error`. */
  failWithoutError: boolean;
  /** Unfinished tasks report this undocumented status value instead of 0/2. */
  unknownStatus?: number | string;
}

export function defaultShapes(): ContractShapes {
  return { statusAsString: false, failWithoutError: false };
}

/** The query's `data` after the shapes switches: `status` as sent, `error` dropped when asked. */
export function shapeQuery(shapes: ContractShapes, data: Record<string, unknown>): Record<string, unknown> {
  const out = { ...data };
  const s = data.status;
  if (shapes.unknownStatus !== undefined && (s === 0 || s === 2)) out.status = shapes.unknownStatus;
  if (shapes.statusAsString && typeof out.status === 'number') out.status = String(out.status);
  if (shapes.failWithoutError && s === -1) delete out.error;
  return out;
}
