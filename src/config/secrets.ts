/**
 * Credentials as the config holds them: a value and where it came from, or a template left
 * unsubstituted; the dotenv reader for `~/.openclaw/.env`; and the passwords a database URL carries,
 * for redaction by value. Nothing here reads the environment (only src/config.ts does).
 */
import { parseEnv } from 'node:util';
import type { SettingName } from './settings.js';

/** A credential value plus where it came from (never logged; `source` is safe to show). */
export interface Secret {
  value: string;
  source: string;
}

/** A credential that was set but looks like an unsubstituted template such as `${JOGG_API_KEY}`. */
export interface TemplateSecret {
  template: true;
  source: string;
}

const TEMPLATE_RE = /^\$\{[^}]*\}$|^\$[A-Z_][A-Z0-9_]*$|^<[^>]+>$/;

export function secretFrom(
  env: { [K in SettingName]?: unknown },
  names: SettingName[],
  fileValues?: { values: Record<string, string>; source: string },
): Secret | TemplateSecret | undefined {
  for (const name of names) {
    const v = env[name];
    const raw = typeof v === 'string' ? v.trim() : '';
    if (raw)
      return TEMPLATE_RE.test(raw)
        ? { template: true, source: `env:${name}` }
        : { value: raw, source: `env:${name}` };
  }
  if (fileValues) {
    for (const name of names) {
      const raw = fileValues.values[name]?.trim();
      if (raw)
        return TEMPLATE_RE.test(raw)
          ? { template: true, source: fileValues.source }
          : { value: raw, source: fileValues.source };
    }
  }
  return undefined;
}

export function isUsableSecret(s: Secret | TemplateSecret | undefined): s is Secret {
  return !!s && !('template' in s);
}

/**
 * Parses a dotenv file with Node's own `util.parseEnv` (quotes, `# comments`, `export ` prefixes, CRLF),
 * then repairs two of its quirks: an indented key keeps its indentation, and a line without `=` is glued
 * onto the next key (`"D\nE"`). Keys that are still not names are dropped.
 */
export function parseDotenv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [rawKey, value] of Object.entries(parseEnv(text))) {
    const key = (rawKey.split(/\r?\n/).at(-1) ?? '').trim().replace(/^export\s+/, '');
    if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(key) && value !== undefined) out[key] = value;
  }
  return out;
}

/**
 * The passwords a PostgreSQL URL carries (in its user info, or a `password=` parameter), as written and
 * decoded, for redaction by value. Tolerant: libpq-style URLs (`postgres://u:p@/db?host=/run`) are not
 * WHATWG URLs.
 */
export function databasePasswords(url: string): string[] {
  const out: string[] = [];
  const add = (raw: string) => {
    if (!raw) return;
    out.push(raw);
    try {
      out.push(decodeURIComponent(raw));
    } catch {
      // Not valid percent-encoding: the raw form is all there is.
    }
  };
  const rest = url.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  const authority = rest.split(/[/?#]/, 1)[0] ?? '';
  const at = authority.lastIndexOf('@');
  if (at >= 0) {
    const info = authority.slice(0, at);
    const colon = info.indexOf(':');
    if (colon >= 0) add(info.slice(colon + 1));
  }
  const query = rest.includes('?') ? rest.slice(rest.indexOf('?') + 1).split('#', 1)[0] : '';
  for (const [k, v] of new URLSearchParams(query)) if (k === 'password' || k === 'sslpassword') add(v);
  return [...new Set(out)];
}
