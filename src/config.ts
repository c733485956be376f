/**
 * The one place that reads the environment (and `~/.openclaw/.env`). Everything else receives the plain
 * `Config` built here; tests build it with `loadConfig({ env: {...} })`.
 */

import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { stripSlash } from './config/parse.js';
import {
  databasePasswords,
  isUsableSecret,
  parseDotenv,
  type Secret,
  secretFrom,
  type TemplateSecret,
} from './config/secrets.js';
import { type Parsed, type PlaybackType, parseSettings, type SettingName } from './config/settings.js';

export type { Setting } from './config/parse.js';
export {
  databasePasswords,
  isUsableSecret,
  parseDotenv,
  type Secret,
  type TemplateSecret,
} from './config/secrets.js';
export {
  CONFIG_DOCS,
  checkSetting,
  PLAYBACK_TYPES,
  type PlaybackType,
  SETTING_ALIASES,
  SETTINGS,
  type SettingName,
} from './config/settings.js';

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
    /** OAuth 2.1 resource-server mode (issue 29); absent: the single-user bearer token (or none). */
    oauth?: OAuthSettings;
    /** Whether a paid result one principal made may be reused for another (default off). */
    teamReuse: boolean;
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
    /** Paid creates per day of one principal (an OAuth user). */
    capPaidCreatesPerPrincipal?: number;
    /** The daily caps in each provider's unit again, each counting one principal's own spend. */
    capJoggCreditsPerPrincipal?: number;
    capDirectorVideosPerPrincipal?: number;
    capDirectorImagesAudioPerPrincipal?: number;
    capNemovideoCreditsPerPrincipal?: number;
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

/** Variables of the operating system that config.ts also reads; they are not settings of this product. */
export const SYSTEM_ENV = ['HOME', 'PATH'] as const;

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

export function loadConfig(opts: LoadOptions = {}): Config {
  const env = {
    ...(opts.defaults ?? {}),
    ...(opts.env ?? process.env),
    ...stripUndefined(opts.overrides ?? {}),
  };
  const homeDir = opts.homeDir ?? env.HOME ?? homedir();
  const p = parseSettings(env);
  const at = places(p, homeDir);
  // OpenClaw passes a server only HOME, PATH, PWD, SHELL and TERM: a key can live in ~/.openclaw/.env.
  const openclaw = readOpenclawEnv(homeDir);
  const pathDirs = () => (env.PATH ?? '').split(delimiter).filter(Boolean);
  const config: Config = {
    ...at,
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
    ...providersConfig(p, at.home, openclaw),
    publicFiles: publicFilesConfig(p, at.home, homeDir),
    ffmpeg: { ffmpegPath: p.FFMPEG_PATH, ffprobePath: p.FFPROBE_PATH, pathDirs: pathDirs() },
    espeak: { path: p.LIPSYNC_ESPEAK_PATH, pathDirs: pathDirs() },
    http: httpConfig(p),
    spend: spendConfig(p, at.home),
    database: { url: p.LIPSYNC_DATABASE_URL, poolSize: Math.floor(p.LIPSYNC_DATABASE_POOL_SIZE) },
    secrets: [],
  };
  config.secrets = collectSecrets(config);
  return config;
}

/** Where things are: the home and output folders, and the folders inputs may be read from. */
function places(p: Parsed, homeDir: string) {
  const home = resolve(expandHome(p.LIPSYNC_HOME ?? join(homeDir, '.lipsync-mcp'), homeDir));
  const outputDir = resolve(expandHome(p.LIPSYNC_OUTPUT_DIR ?? join(home, 'outputs'), homeDir));
  const allowedDirs = (p.LIPSYNC_ALLOWED_DIRS ? p.LIPSYNC_ALLOWED_DIRS.split(delimiter) : [homeDir])
    .map((d) => d.trim())
    .filter(Boolean)
    .map((d) => resolve(expandHome(d, homeDir)));
  const outputsHoldHome = home === outputDir || isWithin(outputDir, home);
  const inputDirs = outputsHoldHome ? allowedDirs : [...allowedDirs, outputDir];
  return { homeDir, home, outputDir, allowedDirs, inputDirs };
}

type DotenvValues = ReturnType<typeof readOpenclawEnv>;

/** The three cloud providers: keys (from the environment, else ~/.openclaw/.env), URLs, defaults. */
function providersConfig(
  p: Parsed,
  home: string,
  openclaw: DotenvValues,
): Pick<Config, 'jogg' | 'nemo' | 'director'> {
  return {
    jogg: {
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
  };
}

function publicFilesConfig(p: Parsed, home: string, homeDir: string): Config['publicFiles'] {
  return {
    baseUrl: p.LIPSYNC_PUBLIC_BASE_URL,
    dir: resolve(expandHome(p.LIPSYNC_PUBLIC_DIR ?? join(home, 'public'), homeDir)),
    ownersDir: join(home, 'public-owners'),
    key: secretFrom(p, ['LIPSYNC_PUBLIC_URL_KEY']),
    keyFile: join(home, 'public-url.key'),
    ttlMs: p.LIPSYNC_PUBLIC_URL_TTL_SECONDS * 1000,
  };
}

/** `serve --http`. */
function httpConfig(p: Parsed): Config['http'] {
  return {
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
    oauth: oauthConfig(p),
    teamReuse: p.LIPSYNC_TEAM_REUSE === 'true' || p.LIPSYNC_TEAM_REUSE === '1',
    legacySessions: p.LIPSYNC_HTTP_SESSIONS ?? (p.LIPSYNC_DATABASE_URL ? 'stateless' : 'memory'),
    maxConnections: p.LIPSYNC_HTTP_MAX_CONNECTIONS,
    headersTimeoutMs: p.LIPSYNC_HTTP_HEADERS_TIMEOUT_SECONDS * 1000,
    requestTimeoutMs: p.LIPSYNC_HTTP_REQUEST_TIMEOUT_SECONDS * 1000,
    keepAliveTimeoutMs: p.LIPSYNC_HTTP_KEEP_ALIVE_SECONDS * 1000,
  };
}

export interface OAuthSettings {
  issuer: string;
  /** The resource (audience) tokens must name; undefined: the server's own /mcp URL. */
  resource: string | undefined;
  readScope: string;
  payScope: string;
  introspectionUrl: string | undefined;
  client: { id: string; secret: Secret | TemplateSecret | undefined } | undefined;
  clockSkewSeconds: number;
  jwksCacheMs: number;
}

/** `serve --http` as an OAuth 2.1 resource server (issue 29): only when an issuer is set. */
function oauthConfig(p: Parsed): OAuthSettings | undefined {
  const issuer = p.LIPSYNC_OAUTH_ISSUER;
  if (!issuer) return undefined;
  const clientId = p.LIPSYNC_OAUTH_CLIENT_ID;
  return {
    issuer,
    resource: p.LIPSYNC_OAUTH_RESOURCE,
    readScope: p.LIPSYNC_OAUTH_READ_SCOPE ?? 'tasks:read',
    payScope: p.LIPSYNC_OAUTH_PAY_SCOPE ?? 'tasks:pay',
    introspectionUrl: p.LIPSYNC_OAUTH_INTROSPECTION_URL,
    client: clientId ? { id: clientId, secret: secretFrom(p, ['LIPSYNC_OAUTH_CLIENT_SECRET']) } : undefined,
    clockSkewSeconds: p.LIPSYNC_OAUTH_CLOCK_SKEW_SECONDS,
    jwksCacheMs: p.LIPSYNC_OAUTH_JWKS_CACHE_SECONDS * 1000,
  };
}

/** Daily caps and the confirmation of paid jobs. */
function spendConfig(p: Parsed, home: string): Config['spend'] {
  return {
    capJoggCredits: p.LIPSYNC_CAP_JOGG_CREDITS_PER_DAY,
    capDirectorVideos: p.LIPSYNC_CAP_DIRECTOR_VIDEOS_PER_DAY,
    capDirectorImagesAudio: p.LIPSYNC_CAP_DIRECTOR_IMAGES_AUDIO_PER_DAY,
    capNemovideoCredits: p.LIPSYNC_CAP_NEMOVIDEO_CREDITS_PER_DAY,
    capPaidCreates: p.LIPSYNC_CAP_PAID_CREATES_PER_DAY,
    capPaidCreatesPerPrincipal: p.LIPSYNC_CAP_PAID_CREATES_PER_USER_PER_DAY,
    capJoggCreditsPerPrincipal: p.LIPSYNC_CAP_JOGG_CREDITS_PER_USER_PER_DAY,
    capDirectorVideosPerPrincipal: p.LIPSYNC_CAP_DIRECTOR_VIDEOS_PER_USER_PER_DAY,
    capDirectorImagesAudioPerPrincipal: p.LIPSYNC_CAP_DIRECTOR_IMAGES_AUDIO_PER_USER_PER_DAY,
    capNemovideoCreditsPerPrincipal: p.LIPSYNC_CAP_NEMOVIDEO_CREDITS_PER_USER_PER_DAY,
    confirmPaid:
      p.LIPSYNC_CONFIRM_PAID === undefined ? undefined : ['true', '1'].includes(p.LIPSYNC_CONFIRM_PAID),
    confirmKey: secretFrom(p, ['LIPSYNC_CONFIRM_KEY']),
    confirmKeyFile: join(home, 'confirm.key'),
  };
}

function collectSecrets(c: Config): string[] {
  const all = [
    c.jogg.apiKey,
    c.nemo.token,
    c.director.gatewayToken,
    c.director.sjinnApiKey,
    c.http.token,
    c.http.oauth?.client?.secret,
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

/** Whether `p` is inside folder `dir` (both resolved, absolute). */
function isWithin(dir: string, p: string): boolean {
  const rel = relative(dir, p);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

function stripUndefined(o: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out;
}
