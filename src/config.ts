/**
 * The one place that reads the environment (and `~/.openclaw/.env`). Everything else receives the plain
 * `Config` built here; tests build it with `loadConfig({ env: {...} })`.
 */

import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { parseEnv } from 'node:util';
import { AppError } from './errors.js';
import { PROVIDER_NAMES } from './names.js';

export const PLAYBACK_TYPES = ['normal', 'normal_reverse', 'normal_reverse_by_audio'] as const;
export type PlaybackType = (typeof PLAYBACK_TYPES)[number];

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

export interface Config {
  /** The user's home directory (for `~` in paths). */
  homeDir: string;
  home: string;
  outputDir: string;
  /** The folders set as input roots (LIPSYNC_ALLOWED_DIRS, default the home directory). */
  allowedDirs: string[];
  /**
   * Where local inputs may be read: the allowed folders, and the output folder, so that a result saved
   * by download_result (a speech track, a video) can be the next job's input, unless the output folder
   * holds LIPSYNC_HOME (the ledger and token cache are never inputs).
   */
  inputDirs: string[];
  /** Accept input URLs on loopback, private, link-local or metadata hosts. */
  allowPrivateUrls: boolean;
  defaultProvider: string | undefined;
  logLevel: string;
  /** Largest local input accepted, bytes. */
  maxInputBytes: number;
  /** Timeout for one provider HTTP request (headers and body), ms. */
  requestTimeoutMs: number;
  /** Media resources (video read through MCP): bytes in flight and how long an answer may wait. */
  media: {
    /** Most raw bytes read for media answers not yet taken by their clients, whole process. */
    maxInFlightBytes: number;
    /** The same for one session (stdio: the one client). */
    sessionInFlightBytes: number;
    /** A read over a cap waits this long for room, then is refused. */
    waitMs: number;
    /** An HTTP answer with media not taken by its client within this is dropped (connection closed). */
    sendTimeoutMs: number;
  };
  /** `submitting` rows older than this with a dead owner are recovered. */
  submitLeaseMs: number;
  /** Most resource subscriptions one MCP session holds at once. */
  maxSubscriptions: number;
  jogg: {
    apiKey: Secret | TemplateSecret | undefined;
    baseUrl: string;
    platform: string | undefined;
    defaultPlaybackType: PlaybackType;
    pollIntervalSeconds: number;
    maxWaitSeconds: number;
    postsPerMinute: number;
  };
  nemo: {
    token: Secret | TemplateSecret | undefined;
    baseUrl: string;
    /** Cache of the anonymous client id + token (mode 0600). */
    tokenFile: string;
    platform: string;
  };
  director: {
    gatewayToken: Secret | TemplateSecret | undefined;
    gatewayUrl: string;
    sjinnApiKey: Secret | TemplateSecret | undefined;
    sjinnBaseUrl: string;
    /** Opt-in: upload local files for The Director through this provider's public asset storage. */
    uploadVia?: 'jogg' | undefined;
  };
  /** Opt-in: local inputs for The Director exposed at signed, expiring URLs (media/publish.ts). */
  publicFiles: {
    /** Absent: the feature is off and local files are refused by The Director. */
    baseUrl: string | undefined;
    dir: string;
    /** Which task each copy belongs to (never exposed). */
    ownersDir: string;
    key: Secret | TemplateSecret | undefined;
    /** Where the generated key is kept when no key is set. */
    keyFile: string;
    ttlMs: number;
  };
  ffmpeg: {
    ffmpegPath: string | undefined;
    ffprobePath: string | undefined;
    /** Directories of PATH, searched after the explicit paths and before the bundled binaries. */
    pathDirs: string[];
  };
  espeak: {
    /** An explicit espeak-ng binary (offline speech); otherwise it is looked for on PATH. */
    path: string | undefined;
    pathDirs: string[];
  };
  http: {
    token: Secret | TemplateSecret | undefined;
    allowedOrigins: string[];
    host: string;
    port: number;
    maxBodyBytes: number;
    /** An HTTP session with no request for this long ends. */
    sessionIdleMs: number;
    maxSessions: number;
    /** Honour HTTP clients' MCP roots (only inside allowedDirs). */
    trustRoots: boolean;
    /** Scale-out and bounds (issue 26), LIPSYNC_HTTP_SESSIONS and the connection limits below. */
    legacySessions: 'stateless' | 'memory';
    maxConnections: number;
    headersTimeoutMs: number;
    requestTimeoutMs: number;
    keepAliveTimeoutMs: number;
  };
  spend: {
    /** Daily caps in each provider's unit; absent = off. */
    capJoggCredits?: number;
    capDirectorVideos?: number;
    /** The Director's images, audio and transcripts: its plans count them apart from videos. */
    capDirectorImagesAudio?: number;
    capNemovideoCredits?: number;
    capPaidCreates?: number;
    /** Ask the user before a paid create (MCP elicitation); undefined = the transport's default. */
    confirmPaid: boolean | undefined;
    /** Signs a 2026-07-28 client's pending confirmation (`requestState`); else generated in `confirmKeyFile`. */
    confirmKey: Secret | TemplateSecret | undefined;
    confirmKeyFile: string;
  };
  /** The ledger's backend: PostgreSQL when `url` is set (several instances share it), else SQLite. */
  database: {
    /** A postgres:// URL; it may hold a password, so it is never shown as is (its password is a secret). */
    url: string | undefined;
    /** Most connections one instance opens (one more listens for changes). */
    poolSize: number;
  };
  /** Every secret value in this config, for redaction by value. */
  secrets: string[];
}

export interface LoadOptions {
  env?: Record<string, string | undefined>;
  /** Home directory (for `~`), defaults to os.homedir(). */
  homeDir?: string;
  /** Flag overrides already parsed by the CLI (same names as the env vars). */
  overrides?: Partial<Record<SettingName, string | undefined>>;
  /** Defaults for variables the environment does not set (e.g. a quieter log level for the CLI). */
  defaults?: Record<string, string>;
}

const TEMPLATE_RE = /^\$\{[^}]*\}$|^\$[A-Z_][A-Z0-9_]*$|^<[^>]+>$/;

function secretFrom(
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

function readOpenclawEnv(homeDir: string): { values: Record<string, string>; source: string } | undefined {
  try {
    return {
      values: parseDotenv(readFileSync(join(homeDir, '.openclaw', '.env'), 'utf8')),
      source: '~/.openclaw/.env',
    };
  } catch {
    return undefined;
  }
}

function expandHome(p: string, homeDir: string): string {
  if (p === '~') return homeDir;
  if (p.startsWith('~/')) return join(homeDir, p.slice(2));
  return p;
}

/** A value a setting refuses; its message reads well after the setting's name ("… is not valid: …"). */
class Invalid extends Error {}

const refuse = (message: string): never => {
  throw new Invalid(message);
};

/** Trimmed; empty or unset is undefined. */
const trimmed = (v: string | undefined): string | undefined => v?.trim() || undefined;

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
const num =
  (fallback: number, min: number, max: number, whole = false) =>
  (v: string | undefined): number => {
    if (v === undefined || v.trim() === '') return fallback;
    const n = decimal(v, whole);
    if (n < min) refuse(`must be at least ${min}`);
    if (n > max) refuse(`must be at most ${max}`);
    return n;
  };

/** An optional cap: empty, unset or `off` (as the README writes its default) is off. */
const cap =
  () =>
  (v: string | undefined): number | undefined => {
    const t = v?.trim().toLowerCase();
    if (t === undefined || t === '' || t === 'off') return undefined;
    const n = decimal(t, false);
    return n < 0 ? refuse('must be at least 0 (or off)') : n;
  };

/** One of `values` (all lower case), in any case and trimmed; empty or unset is `fallback`. */
function oneOf<const T extends string>(values: readonly T[], fallback: T): (v: string | undefined) => T;
function oneOf<const T extends string>(values: readonly T[]): (v: string | undefined) => T | undefined;
function oneOf<const T extends string>(values: readonly T[], fallback?: T) {
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
function bool(fallback: (typeof BOOLEAN)[number]): (v: string | undefined) => (typeof BOOLEAN)[number];
function bool(): (v: string | undefined) => (typeof BOOLEAN)[number] | undefined;
function bool(fallback?: (typeof BOOLEAN)[number]) {
  return fallback ? oneOf(BOOLEAN, fallback) : oneOf(BOOLEAN);
}

/** A text setting: trimmed; empty or unset is undefined (the default applies). */
const text = () => trimmed;

/** A PostgreSQL URL: unset or empty is undefined. The message never repeats the value (it may hold a password). */
const databaseUrl =
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

/** A public base URL: http(s), no credentials, no query or fragment; unset or empty is undefined. */
const publicBaseUrl =
  () =>
  (v: string | undefined): string | undefined => {
    const t = trimmed(v);
    if (t === undefined) return undefined;
    let u: URL;
    try {
      u = new URL(t);
    } catch {
      return refuse('must be an http(s) URL such as https://media.example.com/lipsync');
    }
    if (u.protocol !== 'https:' && u.protocol !== 'http:') refuse('must be an http(s) URL');
    if (u.username || u.password) refuse('must not contain a user name or password');
    if (u.search || u.hash) refuse('must not have a query or fragment');
    return stripSlash(u.toString());
  };

/** One setting: how its value is read and checked, its default (as documented) and what it means. */
export interface Setting {
  /** The value the config uses; throws (with a message for "NAME is not valid: …") when refused. */
  parse(value: string | undefined): unknown;
  default: string;
  meaning: string;
}

const row = <T>(parse: (value: string | undefined) => T, dflt: string, meaning: string) => ({
  parse,
  default: dflt,
  meaning,
});

/**
 * Every setting, once: the source of the config schema below, of the flag checks of the CLI, and of the
 * README's configuration table (`npm run docs`). To add a setting, add a row here and read it from `p`
 * in {@link loadConfig}; a test fails if config.ts reads a variable that has no row.
 */
export const SETTINGS = {
  LIPSYNC_HOME: row(text(), '~/.lipsync-mcp', 'Ledger (SQLite), token cache and outputs.'),
  LIPSYNC_OUTPUT_DIR: row(text(), '$LIPSYNC_HOME/outputs', 'Where results are downloaded.'),
  LIPSYNC_ALLOWED_DIRS: row(
    text(),
    'home directory',
    `Roots local inputs must live under (list separated by "${delimiter}"). MCP client roots add to it, and so does the output folder (a saved result can be the next job's input) unless it holds LIPSYNC_HOME.`,
  ),
  LIPSYNC_ALLOW_PRIVATE_URLS: row(
    bool('false'),
    'false',
    'Accept input URLs on loopback, private or metadata hosts (for a provider inside your network).',
  ),
  LIPSYNC_DEFAULT_PROVIDER: row(
    oneOf(PROVIDER_NAMES),
    'first configured',
    'Provider used when a call names none.',
  ),
  LIPSYNC_LOG_LEVEL: row(
    oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info'),
    'info',
    'Log level (logs go to stderr).',
  ),
  LIPSYNC_DATABASE_URL: row(
    databaseUrl(),
    '(none: SQLite under LIPSYNC_HOME)',
    'PostgreSQL URL (postgres://user:password@host:5432/db) of a ledger that several instances share, on several machines. Its password is never shown.',
  ),
  LIPSYNC_DATABASE_POOL_SIZE: row(
    num(10, 1, 1000, true),
    '10',
    'Most connections one instance opens to LIPSYNC_DATABASE_URL (one more listens for changes).',
  ),
  LIPSYNC_MAX_SUBSCRIPTIONS: row(
    num(100, 1, 10_000, true),
    '100',
    'Most task resources one MCP session may subscribe to at once; more are refused until it unsubscribes.',
  ),
  LIPSYNC_MAX_INPUT_MB: row(num(2048, 1, 1_000_000), '2048', 'Largest local input file accepted.'),
  LIPSYNC_REQUEST_TIMEOUT_SECONDS: row(num(30, 1, 600), '30', 'Timeout of one provider HTTP request.'),
  LIPSYNC_MEDIA_MAX_INFLIGHT_KB: row(
    num(16_384, 1, 4_194_304, true),
    '16384',
    'Most video bytes (KiB) read for media resources and not yet taken by clients, all sessions together.',
  ),
  LIPSYNC_MEDIA_SESSION_INFLIGHT_KB: row(
    num(8192, 1, 4_194_304, true),
    '8192',
    'The same for one session; a read over either cap waits, then is refused with a clear error.',
  ),
  LIPSYNC_MEDIA_WAIT_SECONDS: row(
    num(5, 0, 600),
    '5',
    'How long a media read over a cap waits for room before it is refused.',
  ),
  LIPSYNC_MEDIA_SEND_TIMEOUT_SECONDS: row(
    num(60, 1, 3600),
    '60',
    'Over HTTP, a media answer its client has not taken after this long is dropped (connection closed).',
  ),
  JOGG_API_KEY: row(
    text(),
    '~/.openclaw/.env',
    'Jogg API key (alias JOGGAI_API_KEY). https://www.jogg.ai/api-pricing/',
  ),
  JOGG_BASE_URL: row(text(), 'https://api.jogg.ai', 'Jogg API base URL.'),
  JOGG_API_PLATFORM: row((v) => v, 'openclaw', 'Sent as x-api-platform; set it empty to send none.'),
  JOGG_LIP_SYNC_DEFAULT_PLAYBACK_TYPE: row(
    oneOf(PLAYBACK_TYPES, 'normal'),
    'normal',
    'Default playback_type.',
  ),
  JOGG_LIP_SYNC_DEFAULT_POLL_INTERVAL_SECONDS: row(
    num(10, 1, 3600),
    '10',
    'Seconds between status polls (CLI `run --poll-interval-seconds`).',
  ),
  JOGG_LIP_SYNC_DEFAULT_MAX_WAIT_SECONDS: row(
    num(1800, 1, 86_400),
    '1800',
    'CLI `run` gives up waiting after this (`--max-wait-seconds`).',
  ),
  NEMO_TOKEN: row(
    text(),
    '~/.openclaw/.env, else anonymous',
    'NemoVideo token; without it a free anonymous token is obtained and cached.',
  ),
  NEMO_BASE_URL: row(text(), 'https://mega-api-prod.nemovideo.ai', 'NemoVideo API base URL.'),
  LIPSYNC_SKILL_PLATFORM: row(text(), 'lipsync-mcp', 'Platform name sent to NemoVideo with each session.'),
  GATEWAY_TOKEN: row(text(), '~/.openclaw/.env', 'The Director gateway token.'),
  DIRECTOR_GATEWAY_URL: row(text(), 'https://instaclaw.io/api/gateway/sjinn', 'The Director gateway URL.'),
  SJINN_API_KEY: row(text(), '(none)', 'Optional direct API key for The Director (no gateway).'),
  SJINN_BASE_URL: row(
    text(),
    'https://sjinn.ai/api/un-api',
    'The Director direct API base URL (used with SJINN_API_KEY).',
  ),
  DIRECTOR_UPLOAD_VIA: row(
    oneOf(['jogg']),
    '(none)',
    "Opt-in: local files given to The Director are first uploaded to this provider's public asset storage (jogg: needs JOGG_API_KEY; assets are stored permanently).",
  ),
  LIPSYNC_PUBLIC_BASE_URL: row(
    publicBaseUrl(),
    '(none: local files are refused by The Director)',
    'Opt-in: the public http(s) URL of LIPSYNC_PUBLIC_DIR (your Caddy or nginx, or `serve --http` on /files/). Local files given to The Director are copied there under an unguessable name and sent as a signed link that expires.',
  ),
  LIPSYNC_PUBLIC_DIR: row(
    text(),
    '$LIPSYNC_HOME/public',
    'The folder published at LIPSYNC_PUBLIC_BASE_URL. It holds only copies of job inputs, removed when their task is final and after LIPSYNC_PUBLIC_URL_TTL_SECONDS anyway.',
  ),
  LIPSYNC_PUBLIC_URL_KEY: row(
    text(),
    'generated once in $LIPSYNC_HOME (mode 0600)',
    'Key that signs the links (HMAC-SHA256). Set the same value on every instance behind one URL.',
  ),
  LIPSYNC_PUBLIC_URL_TTL_SECONDS: row(
    num(21_600, 60, 7 * 86_400, true),
    '21600',
    'How long a link works; a copy older than this is removed even if its task never finished.',
  ),
  FFMPEG_PATH: row(text(), 'PATH, then bundled', 'ffmpeg for the local engine.'),
  FFPROBE_PATH: row(text(), 'PATH, then bundled', 'ffprobe for preflight checks.'),
  LIPSYNC_ESPEAK_PATH: row(
    text(),
    'PATH',
    'espeak-ng for offline speech (generate_audio kind "speech" on the local engine); without it the local engine offers no speech.',
  ),
  LIPSYNC_HTTP_HOST: row(text(), '127.0.0.1', 'Address `serve --http` binds (`--host`).'),
  LIPSYNC_HTTP_PORT: row(
    num(8787, 0, 65_535, true),
    '8787',
    'Port of `serve --http` (`--port`; 0 picks a free one).',
  ),
  LIPSYNC_HTTP_MAX_BODY_KB: row(
    num(1024, 1, 1_048_576, true),
    '1024',
    'Largest JSON-RPC request body `serve --http` accepts.',
  ),
  LIPSYNC_HTTP_TOKEN: row(
    text(),
    '(none)',
    'Bearer token required by `serve --http` (required off loopback).',
  ),
  LIPSYNC_ALLOWED_ORIGINS: row(
    text(),
    '(none)',
    'Comma-separated Origins allowed by `serve --http` (bound to loopback, loopback Origins also pass).',
  ),
  LIPSYNC_HTTP_SESSION_IDLE_SECONDS: row(
    num(300, 1, 86_400),
    '300',
    'An HTTP session with no request for this long ends (its tasks stay in the ledger).',
  ),
  LIPSYNC_HTTP_MAX_SESSIONS: row(
    num(200, 1, 100_000, true),
    '200',
    'Most HTTP sessions at once; more get 503 with Retry-After.',
  ),
  LIPSYNC_HTTP_TRUST_ROOTS: row(
    bool('false'),
    'false',
    "Over HTTP, use the client's MCP roots, and only inside LIPSYNC_ALLOWED_DIRS (stdio always uses them).",
  ),
  // Several instances behind a load balancer, and the bounds of `serve --http` (issue 26), in one block.
  LIPSYNC_HTTP_SESSIONS: row(
    oneOf(['stateless', 'memory']),
    'stateless on PostgreSQL, else memory',
    'How 2025 HTTP clients are served: stateless (any instance answers any request; paid jobs are confirmed with confirm: true) or memory (sessions in one process; behind a load balancer: affinity on Mcp-Session-Id).',
  ),
  LIPSYNC_HTTP_MAX_CONNECTIONS: row(
    num(2000, 1, 1_000_000, true),
    '2000',
    'Most open HTTP connections; past it idle ones are closed and a new request gets 503 with Retry-After.',
  ),
  LIPSYNC_HTTP_HEADERS_TIMEOUT_SECONDS: row(
    num(10, 1, 600),
    '10',
    "A client must send a request's headers within this (slow-loris bound).",
  ),
  LIPSYNC_HTTP_REQUEST_TIMEOUT_SECONDS: row(
    num(30, 1, 600),
    '30',
    'A client must send a whole request (headers and body) within this; answers may stream longer.',
  ),
  LIPSYNC_HTTP_KEEP_ALIVE_SECONDS: row(
    num(5, 1, 600),
    '5',
    'An idle keep-alive HTTP connection is closed after this.',
  ),
  LIPSYNC_CAP_JOGG_CREDITS_PER_DAY: row(
    cap(),
    'off',
    'Most Jogg credits spent per day (a create past it is refused).',
  ),
  LIPSYNC_CAP_DIRECTOR_VIDEOS_PER_DAY: row(
    cap(),
    'off',
    'Most The Director videos created per day (generated, lip-synced or post-produced; images and audio count apart).',
  ),
  LIPSYNC_CAP_DIRECTOR_IMAGES_AUDIO_PER_DAY: row(
    cap(),
    'off',
    "Most The Director images, audio clips and transcripts created per day (its plans' image+audio limit, apart from videos).",
  ),
  LIPSYNC_CAP_NEMOVIDEO_CREDITS_PER_DAY: row(
    cap(),
    'off',
    'Most NemoVideo credits spent per day (its cost is known only after a job; at the cap new jobs are refused).',
  ),
  LIPSYNC_CAP_PAID_CREATES_PER_DAY: row(cap(), 'off', 'Most paid jobs created per day across providers.'),
  LIPSYNC_CONFIRM_PAID: row(
    bool(),
    'on for `serve --http`, off for stdio',
    'Ask the user before a paid job that is not a reuse (2025 clients: MCP elicitation; 2026-07-28 clients: an input_required answer); clients without either must pass confirm: true, and `lipsync-mcp run` --confirm.',
  ),
  LIPSYNC_CONFIRM_KEY: row(
    text(),
    'generated once in $LIPSYNC_HOME (mode 0600)',
    "Key (at least 32 characters) that signs a 2026-07-28 client's pending confirmation of a paid job (HMAC-SHA256). Set the same value on every instance sharing a PostgreSQL ledger without sharing LIPSYNC_HOME.",
  ),
} satisfies Record<string, Setting>;

/** Other names a setting is also read under (documented in its meaning), alias -> setting. */
export const SETTING_ALIASES = { JOGGAI_API_KEY: 'JOGG_API_KEY' } as const satisfies Record<string, string>;

type TableName = keyof typeof SETTINGS;
type AliasName = keyof typeof SETTING_ALIASES;
export type SettingName = TableName | AliasName;

/** Variables of the operating system that config.ts also reads; they are not settings of this product. */
export const SYSTEM_ENV = ['HOME', 'PATH'] as const;

/** The value of every setting (and alias) after its parse. */
type Parsed = { [K in TableName]: ReturnType<(typeof SETTINGS)[K]['parse']> } & {
  [A in AliasName]: ReturnType<(typeof SETTINGS)[(typeof SETTING_ALIASES)[A]]['parse']>;
};

/** Parses every setting of `env`, in table order (then aliases); the first refused one is reported. */
function parseSettings(env: Record<string, string | undefined>): Parsed {
  const names: [string, TableName][] = [
    ...(Object.keys(SETTINGS) as TableName[]).map((k): [string, TableName] => [k, k]),
    ...(Object.entries(SETTING_ALIASES) as [AliasName, TableName][]),
  ];
  const out: Record<string, unknown> = {};
  for (const [name, setting] of names) {
    const raw = env[name];
    try {
      out[name] = SETTINGS[setting].parse(typeof raw === 'string' ? raw : undefined);
    } catch (err) {
      if (!(err instanceof Invalid)) throw err;
      throw new AppError('invalid_input', `Configuration value ${name} is not valid: ${err.message}.`, {
        hint: `Fix or unset ${name} (the README's Configuration table lists every setting and its default).`,
      });
    }
  }
  return out as Parsed;
}

/** The documented settings in table order (README, doctor). */
export const CONFIG_DOCS: { name: string; default: string; meaning: string }[] = Object.entries(SETTINGS).map(
  ([name, s]) => ({ name, default: s.default, meaning: s.meaning }),
);

/** Why `value` is not acceptable for setting `name` (the same check the environment gets), if it is not. */
export function checkSetting(name: keyof typeof SETTINGS, value: string): string | undefined {
  try {
    SETTINGS[name].parse(value);
    return undefined;
  } catch (err) {
    if (err instanceof Invalid) return err.message;
    throw err;
  }
}

export function loadConfig(opts: LoadOptions = {}): Config {
  const env = {
    ...(opts.defaults ?? {}),
    ...(opts.env ?? process.env),
    ...stripUndefined(opts.overrides ?? {}),
  };
  const homeDir = opts.homeDir ?? env.HOME ?? homedir();
  const p = parseSettings(env);
  const home = resolve(expandHome(p.LIPSYNC_HOME ?? join(homeDir, '.lipsync-mcp'), homeDir));
  const outputDir = resolve(expandHome(p.LIPSYNC_OUTPUT_DIR ?? join(home, 'outputs'), homeDir));
  const allowedDirs = (p.LIPSYNC_ALLOWED_DIRS ? p.LIPSYNC_ALLOWED_DIRS.split(delimiter) : [homeDir])
    .map((d) => d.trim())
    .filter(Boolean)
    .map((d) => resolve(expandHome(d, homeDir)));
  const openclaw = readOpenclawEnv(homeDir);
  const outputsHoldHome = home === outputDir || isWithin(outputDir, home);
  const inputDirs = outputsHoldHome ? allowedDirs : [...allowedDirs, outputDir];

  const config: Config = {
    homeDir,
    home,
    outputDir,
    allowedDirs,
    inputDirs,
    allowPrivateUrls: ['true', '1'].includes(p.LIPSYNC_ALLOW_PRIVATE_URLS),
    defaultProvider: p.LIPSYNC_DEFAULT_PROVIDER,
    logLevel: p.LIPSYNC_LOG_LEVEL,
    maxInputBytes: Math.floor(p.LIPSYNC_MAX_INPUT_MB * 1024 * 1024),
    requestTimeoutMs: p.LIPSYNC_REQUEST_TIMEOUT_SECONDS * 1000,
    media: {
      maxInFlightBytes: p.LIPSYNC_MEDIA_MAX_INFLIGHT_KB * 1024,
      sessionInFlightBytes: p.LIPSYNC_MEDIA_SESSION_INFLIGHT_KB * 1024,
      waitMs: p.LIPSYNC_MEDIA_WAIT_SECONDS * 1000,
      sendTimeoutMs: p.LIPSYNC_MEDIA_SEND_TIMEOUT_SECONDS * 1000,
    },
    submitLeaseMs: 2 * p.LIPSYNC_REQUEST_TIMEOUT_SECONDS * 1000,
    maxSubscriptions: p.LIPSYNC_MAX_SUBSCRIPTIONS,
    jogg: {
      // OpenClaw passes a server only HOME, PATH, PWD, SHELL and TERM: a key can live in ~/.openclaw/.env.
      apiKey: secretFrom(p, ['JOGG_API_KEY', 'JOGGAI_API_KEY'], openclaw),
      baseUrl: stripSlash(p.JOGG_BASE_URL ?? 'https://api.jogg.ai'),
      platform: p.JOGG_API_PLATFORM === undefined ? 'openclaw' : p.JOGG_API_PLATFORM.trim() || undefined,
      defaultPlaybackType: p.JOGG_LIP_SYNC_DEFAULT_PLAYBACK_TYPE,
      pollIntervalSeconds: p.JOGG_LIP_SYNC_DEFAULT_POLL_INTERVAL_SECONDS,
      maxWaitSeconds: p.JOGG_LIP_SYNC_DEFAULT_MAX_WAIT_SECONDS,
      postsPerMinute: 20,
    },
    nemo: {
      token: secretFrom(p, ['NEMO_TOKEN'], openclaw),
      baseUrl: stripSlash(p.NEMO_BASE_URL ?? 'https://mega-api-prod.nemovideo.ai'),
      tokenFile: join(home, 'nemovideo-token.json'),
      platform: p.LIPSYNC_SKILL_PLATFORM ?? 'lipsync-mcp',
    },
    director: {
      gatewayToken: secretFrom(p, ['GATEWAY_TOKEN'], openclaw),
      gatewayUrl: stripSlash(p.DIRECTOR_GATEWAY_URL ?? 'https://instaclaw.io/api/gateway/sjinn'),
      sjinnApiKey: secretFrom(p, ['SJINN_API_KEY'], openclaw),
      sjinnBaseUrl: stripSlash(p.SJINN_BASE_URL ?? 'https://sjinn.ai/api/un-api'),
      uploadVia: p.DIRECTOR_UPLOAD_VIA,
    },
    publicFiles: {
      baseUrl: p.LIPSYNC_PUBLIC_BASE_URL,
      dir: resolve(expandHome(p.LIPSYNC_PUBLIC_DIR ?? join(home, 'public'), homeDir)),
      ownersDir: join(home, 'public-owners'),
      key: secretFrom(p, ['LIPSYNC_PUBLIC_URL_KEY']),
      keyFile: join(home, 'public-url.key'),
      ttlMs: p.LIPSYNC_PUBLIC_URL_TTL_SECONDS * 1000,
    },
    ffmpeg: {
      ffmpegPath: p.FFMPEG_PATH,
      ffprobePath: p.FFPROBE_PATH,
      pathDirs: (env.PATH ?? '').split(delimiter).filter(Boolean),
    },
    espeak: {
      path: p.LIPSYNC_ESPEAK_PATH,
      pathDirs: (env.PATH ?? '').split(delimiter).filter(Boolean),
    },
    http: {
      token: secretFrom(p, ['LIPSYNC_HTTP_TOKEN']),
      allowedOrigins: (p.LIPSYNC_ALLOWED_ORIGINS ?? '')
        .split(',')
        .map((o) => o.trim())
        .filter(Boolean),
      host: p.LIPSYNC_HTTP_HOST ?? '127.0.0.1',
      port: p.LIPSYNC_HTTP_PORT,
      maxBodyBytes: p.LIPSYNC_HTTP_MAX_BODY_KB * 1024,
      sessionIdleMs: p.LIPSYNC_HTTP_SESSION_IDLE_SECONDS * 1000,
      maxSessions: p.LIPSYNC_HTTP_MAX_SESSIONS,
      trustRoots: p.LIPSYNC_HTTP_TRUST_ROOTS === 'true' || p.LIPSYNC_HTTP_TRUST_ROOTS === '1',
      legacySessions: p.LIPSYNC_HTTP_SESSIONS ?? (p.LIPSYNC_DATABASE_URL ? 'stateless' : 'memory'),
      maxConnections: p.LIPSYNC_HTTP_MAX_CONNECTIONS,
      headersTimeoutMs: p.LIPSYNC_HTTP_HEADERS_TIMEOUT_SECONDS * 1000,
      requestTimeoutMs: p.LIPSYNC_HTTP_REQUEST_TIMEOUT_SECONDS * 1000,
      keepAliveTimeoutMs: p.LIPSYNC_HTTP_KEEP_ALIVE_SECONDS * 1000,
    },
    spend: {
      capJoggCredits: p.LIPSYNC_CAP_JOGG_CREDITS_PER_DAY,
      capDirectorVideos: p.LIPSYNC_CAP_DIRECTOR_VIDEOS_PER_DAY,
      capDirectorImagesAudio: p.LIPSYNC_CAP_DIRECTOR_IMAGES_AUDIO_PER_DAY,
      capNemovideoCredits: p.LIPSYNC_CAP_NEMOVIDEO_CREDITS_PER_DAY,
      capPaidCreates: p.LIPSYNC_CAP_PAID_CREATES_PER_DAY,
      confirmPaid:
        p.LIPSYNC_CONFIRM_PAID === undefined ? undefined : ['true', '1'].includes(p.LIPSYNC_CONFIRM_PAID),
      confirmKey: secretFrom(p, ['LIPSYNC_CONFIRM_KEY']),
      confirmKeyFile: join(home, 'confirm.key'),
    },
    database: { url: p.LIPSYNC_DATABASE_URL, poolSize: Math.floor(p.LIPSYNC_DATABASE_POOL_SIZE) },
    secrets: [],
  };
  config.secrets = collectSecrets(config);
  return config;
}

function collectSecrets(c: Config): string[] {
  const all = [
    c.jogg.apiKey,
    c.nemo.token,
    c.director.gatewayToken,
    c.director.sjinnApiKey,
    c.http.token,
    c.publicFiles.key,
    c.spend.confirmKey,
  ];
  const keys = all.filter(isUsableSecret).map((s) => s.value);
  // The whole URL too: a password shorter than the redactor's minimum still hides inside it.
  // The URL is a secret when it carries a password (then the password alone is one too); without one it
  // names only a host and a database, which doctor shows.
  const pw = c.database.url ? databasePasswords(c.database.url) : [];
  const db = c.database.url && pw.length ? [c.database.url, ...pw] : [];
  return [...keys, ...db];
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

/** Whether `p` is inside folder `dir` (both resolved, absolute). */
function isWithin(dir: string, p: string): boolean {
  const rel = relative(dir, p);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

function stripSlash(u: string): string {
  return u.replace(/\/+$/, '');
}

function stripUndefined(o: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out;
}
