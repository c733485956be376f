/**
 * How a setting's value is read and checked: the parsers the settings table (settings.ts) is built
 * from. A refused value throws {@link Invalid} with a message that reads well after the setting's
 * name ("… is not valid: …"). Nothing here reads the environment (only src/config.ts does).
 */

/** A value a setting refuses; its message reads well after the setting's name ("… is not valid: …"). */
export class Invalid extends Error {}

export const refuse = (message: string): never => {
  throw new Invalid(message);
};

/** Trimmed; empty or unset is undefined. */
export const trimmed = (v: string | undefined): string | undefined => v?.trim() || undefined;

/** A decimal number as people write it (12, 0.5, -1, 1e3); not hex, Infinity or a blank. */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

const decimal = (v: string, whole: boolean): number => {
  const t = v.trim();
  const n = DECIMAL.test(t) ? Number(t) : Number.NaN;
  if (!Number.isFinite(n)) refuse('must be a number');
  if (whole && !Number.isInteger(n)) refuse('must be a whole number');
  return n;
};

/** A number setting (`whole`: an integer, such as a port); empty means the default. */
export const num =
  (fallback: number, min: number, max: number, whole = false) =>
  (v: string | undefined): number => {
    if (v === undefined || v.trim() === '') return fallback;
    const n = decimal(v, whole);
    if (n < min) refuse(`must be at least ${min}`);
    if (n > max) refuse(`must be at most ${max}`);
    return n;
  };

/** An optional cap: empty, unset or `off` (as the README writes its default) is off. */
export const cap =
  () =>
  (v: string | undefined): number | undefined => {
    const t = v?.trim().toLowerCase();
    if (t === undefined || t === '' || t === 'off') return undefined;
    const n = decimal(t, false);
    return n < 0 ? refuse('must be at least 0 (or off)') : n;
  };

/** One of `values` (all lower case), in any case and trimmed; empty or unset is `fallback`. */
export function oneOf<const T extends string>(
  values: readonly T[],
  fallback: T,
): (v: string | undefined) => T;
export function oneOf<const T extends string>(values: readonly T[]): (v: string | undefined) => T | undefined;
export function oneOf<const T extends string>(values: readonly T[], fallback?: T) {
  return (v: string | undefined): T | undefined => {
    const t = trimmed(v)?.toLowerCase();
    if (t === undefined) return fallback;
    return (values as readonly string[]).includes(t)
      ? (t as T)
      : refuse(`must be one of ${values.join(', ')}`);
  };
}

const BOOLEAN = ['true', 'false', '1', '0'] as const;

/** A yes/no setting, in any case: true, false, 1 or 0. */
export function bool(fallback: (typeof BOOLEAN)[number]): (v: string | undefined) => (typeof BOOLEAN)[number];
export function bool(): (v: string | undefined) => (typeof BOOLEAN)[number] | undefined;
export function bool(fallback?: (typeof BOOLEAN)[number]) {
  return fallback ? oneOf(BOOLEAN, fallback) : oneOf(BOOLEAN);
}

/** A text setting: trimmed; empty or unset is undefined (the default applies). */
export const text = () => trimmed;

/** A PostgreSQL URL: unset or empty is undefined. The message never repeats the value (it may hold a password). */
export const databaseUrl =
  () =>
  (v: string | undefined): string | undefined => {
    const u = trimmed(v);
    if (u === undefined) return undefined;
    if (!/^postgres(ql)?:\/\//i.test(u)) refuse('must be a postgres:// or postgresql:// URL');
    // The host part (after any user info, before the port or path): DNS allows 253 characters.
    const authority = u.replace(/^[a-z]+:\/\//i, '').split(/[/?#]/, 1)[0] ?? '';
    const host = authority.slice(authority.lastIndexOf('@') + 1).replace(/:\d*$/, '');
    if (host.length > 253 || host.split('.').some((label) => label.length > 63))
      refuse('has a host name longer than DNS allows');
    return u;
  };

/** An http(s) URL without credentials (`example` goes into the message when it is no URL). */
function httpUrlOf(t: string, example: string): URL {
  let u: URL;
  try {
    u = new URL(t);
  } catch {
    return refuse(`must be an http(s) URL such as ${example}`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') refuse('must be an http(s) URL');
  if (u.username || u.password) refuse('must not contain a user name or password');
  return u;
}

/** A public base URL: http(s), no credentials, no query or fragment; unset or empty is undefined. */
export const publicBaseUrl =
  () =>
  (v: string | undefined): string | undefined => {
    const t = trimmed(v);
    if (t === undefined) return undefined;
    const u = httpUrlOf(t, 'https://media.example.com/lipsync');
    if (u.search || u.hash) refuse('must not have a query or fragment');
    return stripSlash(u.toString());
  };

/** An http(s) URL kept exactly as written (an OAuth issuer is compared as a string, trailing slash too). */
export const httpUrl =
  () =>
  (v: string | undefined): string | undefined => {
    const t = trimmed(v);
    if (t === undefined) return undefined;
    if (httpUrlOf(t, 'https://auth.example.com').hash) refuse('must not have a fragment');
    return t;
  };

/** One setting: how its value is read and checked, its default (as documented) and what it means. */
export interface Setting {
  /** The value the config uses; throws (with a message for "NAME is not valid: …") when refused. */
  parse(value: string | undefined): unknown;
  default: string;
  meaning: string;
}

export const row = <T>(parse: (value: string | undefined) => T, dflt: string, meaning: string) => ({
  parse,
  default: dflt,
  meaning,
});

/** A URL without its trailing slashes. */
export function stripSlash(u: string): string {
  return u.replace(/\/+$/, '');
}
