/**
 * User-facing words for The Director. The seed forbids naming the vendor behind the gateway, and the
 * backend's own error strings (or a host name inside a transport error) may contain it, so every text
 * that came from outside passes through {@link scrub} before it reaches an AppError or a snapshot.
 */
export const SERVICE = 'The Director';

/** Config names that legitimately contain the vendor word; they are settings, not branding. */
const CONFIG_NAMES = /\bSJINN_(?:API_KEY|BASE_URL)\b/g;
/** The vendor word (or a host carrying it), with the article before it, which the replacement brings. */
const VENDOR_WORD = /\b(?:(the|an?)\s+)?[\w.-]*sjinn[\w.-]*/gi;

/** "the Sjinn agent" -> "the video backend agent", "an sjinn error" -> "a video backend error". */
function backendWords(_match: string, article: string | undefined): string {
  if (!article) return 'the video backend';
  const the = article.toLowerCase() === 'the';
  const capital = article[0] !== article[0]?.toLowerCase();
  return `${capital ? (the ? 'The' : 'A') : the ? 'the' : 'a'} video backend`;
}

/** Removes the vendor's name (and hosts carrying it) from outside text, and bounds its length. */
export function scrub(text: string, max = 300): string {
  const parts = text.split(CONFIG_NAMES);
  const names = text.match(CONFIG_NAMES) ?? [];
  let out = '';
  parts.forEach((part, i) => {
    out += part.replace(VENDOR_WORD, backendWords);
    if (i < names.length) out += names[i];
  });
  out = out.replace(/\s+/g, ' ').trim();
  return out.length > max ? `${out.slice(0, max - 1)}…` : out;
}

/** True when `text` names the vendor outside of a config name (used by tests and a defensive check). */
export function namesVendor(text: string): boolean {
  return /sjinn/i.test(text.replace(CONFIG_NAMES, ''));
}

type Obj = Record<string, unknown>;

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export const DAILY_LIMIT_MESSAGE = 'Daily video limit reached for your plan; it resets at midnight.';
export const DAILY_LIMIT_HINT =
  'Daily video limits by plan: Starter 5, Pro 10, Power 30, BYOK 5. Nothing was started or charged; try again after midnight, or ask support about a larger plan.';

export const IMAGE_AUDIO_LIMIT_MESSAGE =
  'Daily image and audio limit reached for your plan; it resets at midnight.';
export const IMAGE_AUDIO_LIMIT_HINT =
  'Images and audio (speech, music, effects, transcripts) count apart from videos. Daily limits by plan: Starter 10, Pro 30, Power 100, BYOK 15. Nothing was started or charged; try again after midnight.';

export function tokenHint(via: 'gateway' | 'direct'): string {
  return via === 'gateway'
    ? 'Check GATEWAY_TOKEN (environment or ~/.openclaw/.env). If it is correct, contact support: video generation may have been disabled for your agent.'
    : 'Check SJINN_API_KEY; the key may have been revoked or mistyped.';
}

export function urlHint(via: 'gateway' | 'direct'): string {
  return via === 'gateway'
    ? 'Check DIRECTOR_GATEWAY_URL (or unset it to use the default).'
    : 'Check SJINN_BASE_URL (or unset it).';
}

export const MISSING_FIX =
  "The Director is not configured here. Set GATEWAY_TOKEN in this server's environment (your MCP client's " +
  '"env" for the server), or put a line GATEWAY_TOKEN=<token> in ~/.openclaw/.env, which lipsync-mcp reads ' +
  '(an OpenClaw agent gets its token there). Then restart the server.';

/** {@link scrub} over every string in a JSON value (account data shown to the user). */
export function scrubJson(value: unknown): unknown {
  if (typeof value === 'string') return scrub(value, 1000);
  if (Array.isArray(value)) return value.map(scrubJson);
  if (isObj(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[namesVendor(k) ? 'backend' : k] = scrubJson(v);
    return out;
  }
  return value;
}
