/**
 * The settings table: every environment variable the product reads, with its parser, its documented
 * default and its meaning. src/config.ts parses the environment through it and builds the `Config`;
 * the CLI checks its flags with it; `npm run docs` writes the README's configuration table from it.
 * To add a setting: a row in SETTINGS (a parser from parse.ts, or a new one there), then read it from
 * `p` in src/config.ts (in the builder of the block it belongs to) and add its field to `Config`.
 */
import { delimiter } from 'node:path';
import { AppError } from '../errors.js';
import { PROVIDER_NAMES } from '../names.js';
import {
  bool,
  cap,
  databaseUrl,
  httpUrl,
  Invalid,
  num,
  oneOf,
  publicBaseUrl,
  row,
  type Setting,
  text,
} from './parse.js';

export const PLAYBACK_TYPES = ['normal', 'normal_reverse', 'normal_reverse_by_audio'] as const;
export type PlaybackType = (typeof PLAYBACK_TYPES)[number];

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
  LIPSYNC_OAUTH_ISSUER: row(
    httpUrl(),
    '(none)',
    'OAuth 2.1 for `serve --http`: the issuer (authorization server) whose access tokens it accepts; each user then sees only their own tasks. Unset: the single-user LIPSYNC_HTTP_TOKEN.',
  ),
  LIPSYNC_OAUTH_RESOURCE: row(
    httpUrl(),
    'the server URL',
    "This server as the issuer names it (the tokens' audience, RFC 8707), e.g. https://lipsync.example.com/mcp.",
  ),
  LIPSYNC_OAUTH_READ_SCOPE: row(text(), 'tasks:read', 'Scope every request needs (tasks, status, results).'),
  LIPSYNC_OAUTH_PAY_SCOPE: row(text(), 'tasks:pay', 'Scope a paid tool call needs besides the read scope.'),
  LIPSYNC_OAUTH_INTROSPECTION_URL: row(
    httpUrl(),
    "the issuer's",
    'Token introspection endpoint (RFC 7662), for issuers whose tokens are not JWTs.',
  ),
  LIPSYNC_OAUTH_CLIENT_ID: row(text(), '(none)', "This server's client id at the issuer, for introspection."),
  LIPSYNC_OAUTH_CLIENT_SECRET: row(
    text(),
    '(none)',
    "This server's client secret at the issuer, for introspection.",
  ),
  LIPSYNC_OAUTH_CLOCK_SKEW_SECONDS: row(
    num(60, 0, 600),
    '60',
    "How far the issuer's clock may be from this one (token expiry and not-before).",
  ),
  LIPSYNC_OAUTH_JWKS_CACHE_SECONDS: row(
    num(600, 0, 86_400),
    '600',
    "How long the issuer's signing keys are kept before they are fetched again (an unknown key id fetches them at once).",
  ),
  LIPSYNC_TEAM_REUSE: row(
    bool('false'),
    'false',
    "With OAuth: a paid result one user made is reused for another user's identical job (the answer says so). Off: each user pays for their own.",
  ),
  LIPSYNC_CAP_PAID_CREATES_PER_USER_PER_DAY: row(
    cap(),
    'off',
    'With OAuth: most paid jobs one user creates per day (LIPSYNC_CAP_PAID_CREATES_PER_DAY still caps them all).',
  ),
  LIPSYNC_CAP_JOGG_CREDITS_PER_USER_PER_DAY: row(
    cap(),
    'off',
    "With OAuth: most Jogg credits one user spends per day (LIPSYNC_CAP_JOGG_CREDITS_PER_DAY still caps everyone's together).",
  ),
  LIPSYNC_CAP_DIRECTOR_VIDEOS_PER_USER_PER_DAY: row(
    cap(),
    'off',
    'With OAuth: most The Director videos one user creates per day (LIPSYNC_CAP_DIRECTOR_VIDEOS_PER_DAY still caps them all).',
  ),
  LIPSYNC_CAP_DIRECTOR_IMAGES_AUDIO_PER_USER_PER_DAY: row(
    cap(),
    'off',
    'With OAuth: most The Director images, audio clips and transcripts one user creates per day (LIPSYNC_CAP_DIRECTOR_IMAGES_AUDIO_PER_DAY still caps them all).',
  ),
  LIPSYNC_CAP_NEMOVIDEO_CREDITS_PER_USER_PER_DAY: row(
    cap(),
    'off',
    "With OAuth: most NemoVideo credits one user spends per day (LIPSYNC_CAP_NEMOVIDEO_CREDITS_PER_DAY still caps everyone's together).",
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

/** The value of every setting (and alias) after its parse. */
export type Parsed = { [K in TableName]: ReturnType<(typeof SETTINGS)[K]['parse']> } & {
  [A in AliasName]: ReturnType<(typeof SETTINGS)[(typeof SETTING_ALIASES)[A]]['parse']>;
};

/** Parses every setting of `env`, in table order (then aliases); the first refused one is reported. */
export function parseSettings(env: Record<string, string | undefined>): Parsed {
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
