/**
 * The one place that reads the environment (and `~/.openclaw/.env`). Everything else receives the plain
 * `Config` built here; tests build it with `loadConfig({ env: {...} })`.
 */

import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { z } from 'zod';
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
  allowedDirs: string[];
  /** Accept input URLs on loopback, private, link-local or metadata hosts. */
  allowPrivateUrls: boolean;
  defaultProvider: string | undefined;
  logLevel: string;
  /** Largest local input accepted, bytes. */
  maxInputBytes: number;
  /** Timeout for one provider HTTP request (headers and body), ms. */
  requestTimeoutMs: number;
  /** `submitting` rows older than this with a dead owner are recovered. */
  submitLeaseMs: number;
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
  };
  ffmpeg: {
    ffmpegPath: string | undefined;
    ffprobePath: string | undefined;
    /** Directories of PATH, searched after the explicit paths and before the bundled binaries. */
    pathDirs: string[];
  };
  http: {
    token: Secret | TemplateSecret | undefined;
    allowedOrigins: string[];
    host: string;
    port: number;
    maxBodyBytes: number;
  };
  /** Every secret value in this config, for redaction by value. */
  secrets: string[];
}

export interface LoadOptions {
  env?: Record<string, string | undefined>;
  /** Home directory (for `~`), defaults to os.homedir(). */
  homeDir?: string;
  /** Flag overrides already parsed by the CLI (same names as the env vars). */
  overrides?: Record<string, string | undefined>;
  /** Defaults for variables the environment does not set (e.g. a quieter log level for the CLI). */
  defaults?: Record<string, string>;
}

const TEMPLATE_RE = /^\$\{[^}]*\}$|^\$[A-Z_][A-Z0-9_]*$|^<[^>]+>$/;

function secretFrom(
  env: Record<string, string | undefined>,
  names: string[],
  fileValues?: { values: Record<string, string>; source: string },
): Secret | TemplateSecret | undefined {
  for (const name of names) {
    const raw = env[name]?.trim();
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

/** Parses a dotenv-style file: KEY=VALUE lines, optional quotes, `export ` prefix, # comments. */
export function parseDotenv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)\s*$/.exec(line);
    if (!m) continue;
    let v = m[2] ?? '';
    if ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'"))) v = v.slice(1, -1);
    else v = v.replace(/\s+#.*$/, '');
    out[m[1]!] = v;
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

const num = (fallback: number, min: number, max: number) =>
  z.preprocess(
    (v) => (v === undefined || v === '' ? fallback : Number(v)),
    z.number().finite().min(min).max(max),
  );

const envSchema = z.object({
  LIPSYNC_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LIPSYNC_DEFAULT_PROVIDER: z.enum(PROVIDER_NAMES).optional(),
  LIPSYNC_MAX_INPUT_MB: num(2048, 1, 1_000_000),
  LIPSYNC_ALLOW_PRIVATE_URLS: z.enum(['', 'true', 'false', '1', '0']).default(''),
  LIPSYNC_REQUEST_TIMEOUT_SECONDS: num(30, 1, 600),
  JOGG_LIP_SYNC_DEFAULT_PLAYBACK_TYPE: z.enum(PLAYBACK_TYPES).default('normal'),
  JOGG_LIP_SYNC_DEFAULT_POLL_INTERVAL_SECONDS: num(10, 1, 3600),
  JOGG_LIP_SYNC_DEFAULT_MAX_WAIT_SECONDS: num(1800, 1, 86_400),
  LIPSYNC_HTTP_PORT: num(8787, 0, 65_535),
  LIPSYNC_HTTP_MAX_BODY_KB: num(1024, 1, 1_048_576),
});

/** Documented configuration: name, default, meaning. Feeds `doctor` and the README. */
export const CONFIG_DOCS: { name: string; default: string; meaning: string }[] = [
  { name: 'LIPSYNC_HOME', default: '~/.lipsync-mcp', meaning: 'Ledger (SQLite), token cache and outputs.' },
  { name: 'LIPSYNC_OUTPUT_DIR', default: '$LIPSYNC_HOME/outputs', meaning: 'Where results are downloaded.' },
  {
    name: 'LIPSYNC_ALLOWED_DIRS',
    default: 'home directory',
    meaning: `Roots local inputs must live under (list separated by "${delimiter}"). MCP client roots add to it.`,
  },
  {
    name: 'LIPSYNC_ALLOW_PRIVATE_URLS',
    default: 'false',
    meaning: 'Accept input URLs on loopback, private or metadata hosts (for a provider inside your network).',
  },
  {
    name: 'LIPSYNC_DEFAULT_PROVIDER',
    default: 'first configured',
    meaning: 'Provider used when a call names none.',
  },
  { name: 'LIPSYNC_LOG_LEVEL', default: 'info', meaning: 'Log level (logs go to stderr).' },
  { name: 'LIPSYNC_MAX_INPUT_MB', default: '2048', meaning: 'Largest local input file accepted.' },
  {
    name: 'LIPSYNC_REQUEST_TIMEOUT_SECONDS',
    default: '30',
    meaning: 'Timeout of one provider HTTP request.',
  },
  {
    name: 'JOGG_API_KEY',
    default: '(none)',
    meaning: 'Jogg API key (alias JOGGAI_API_KEY). https://www.jogg.ai/api-pricing/',
  },
  { name: 'JOGG_BASE_URL', default: 'https://api.jogg.ai', meaning: 'Jogg API base URL.' },
  { name: 'JOGG_API_PLATFORM', default: 'openclaw', meaning: 'Sent as x-api-platform.' },
  { name: 'JOGG_LIP_SYNC_DEFAULT_PLAYBACK_TYPE', default: 'normal', meaning: 'Default playback_type.' },
  {
    name: 'JOGG_LIP_SYNC_DEFAULT_POLL_INTERVAL_SECONDS',
    default: '10',
    meaning: 'Seconds between status polls.',
  },
  {
    name: 'JOGG_LIP_SYNC_DEFAULT_MAX_WAIT_SECONDS',
    default: '1800',
    meaning: 'CLI `run` gives up waiting after this.',
  },
  {
    name: 'NEMO_TOKEN',
    default: 'anonymous token',
    meaning: 'NemoVideo token; without it a free anonymous token is obtained and cached.',
  },
  {
    name: 'NEMO_BASE_URL',
    default: 'https://mega-api-prod.nemovideo.ai',
    meaning: 'NemoVideo API base URL.',
  },
  { name: 'GATEWAY_TOKEN', default: '~/.openclaw/.env', meaning: 'The Director gateway token.' },
  {
    name: 'DIRECTOR_GATEWAY_URL',
    default: 'https://instaclaw.io/api/gateway/sjinn',
    meaning: 'The Director gateway URL.',
  },
  {
    name: 'SJINN_API_KEY',
    default: '(none)',
    meaning: 'Optional direct API key for The Director (no gateway).',
  },
  { name: 'FFMPEG_PATH', default: 'PATH, then bundled', meaning: 'ffmpeg for the local engine.' },
  { name: 'FFPROBE_PATH', default: 'PATH, then bundled', meaning: 'ffprobe for preflight checks.' },
  {
    name: 'LIPSYNC_HTTP_TOKEN',
    default: '(none)',
    meaning: 'Bearer token required by `serve --http` (required off loopback).',
  },
  {
    name: 'LIPSYNC_ALLOWED_ORIGINS',
    default: '(none)',
    meaning: 'Comma-separated Origins allowed by `serve --http`.',
  },
];

export function loadConfig(opts: LoadOptions = {}): Config {
  const env = {
    ...(opts.defaults ?? {}),
    ...(opts.env ?? process.env),
    ...stripUndefined(opts.overrides ?? {}),
  };
  const homeDir = opts.homeDir ?? env.HOME ?? homedir();
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = String(issue?.path[0] ?? 'configuration');
    throw new AppError(
      'invalid_input',
      `Configuration value ${name} is not valid: ${issue?.message ?? 'invalid'}.`,
      {
        hint: `Fix or unset ${name}; see \`lipsync-mcp doctor\` for the accepted values.`,
      },
    );
  }
  const p = parsed.data;
  const home = resolve(expandHome(env.LIPSYNC_HOME?.trim() || join(homeDir, '.lipsync-mcp'), homeDir));
  const outputDir = resolve(expandHome(env.LIPSYNC_OUTPUT_DIR?.trim() || join(home, 'outputs'), homeDir));
  const allowedDirs = (
    env.LIPSYNC_ALLOWED_DIRS?.trim() ? env.LIPSYNC_ALLOWED_DIRS.split(delimiter) : [homeDir]
  )
    .map((d) => d.trim())
    .filter(Boolean)
    .map((d) => resolve(expandHome(d, homeDir)));
  const openclaw = readOpenclawEnv(homeDir);

  const config: Config = {
    homeDir,
    home,
    outputDir,
    allowedDirs,
    allowPrivateUrls: ['true', '1'].includes(p.LIPSYNC_ALLOW_PRIVATE_URLS),
    defaultProvider: p.LIPSYNC_DEFAULT_PROVIDER,
    logLevel: p.LIPSYNC_LOG_LEVEL,
    maxInputBytes: Math.floor(p.LIPSYNC_MAX_INPUT_MB * 1024 * 1024),
    requestTimeoutMs: p.LIPSYNC_REQUEST_TIMEOUT_SECONDS * 1000,
    submitLeaseMs: 2 * p.LIPSYNC_REQUEST_TIMEOUT_SECONDS * 1000,
    jogg: {
      apiKey: secretFrom(env, ['JOGG_API_KEY', 'JOGGAI_API_KEY']),
      baseUrl: stripSlash(env.JOGG_BASE_URL?.trim() || 'https://api.jogg.ai'),
      platform: env.JOGG_API_PLATFORM === undefined ? 'openclaw' : env.JOGG_API_PLATFORM.trim() || undefined,
      defaultPlaybackType: p.JOGG_LIP_SYNC_DEFAULT_PLAYBACK_TYPE,
      pollIntervalSeconds: p.JOGG_LIP_SYNC_DEFAULT_POLL_INTERVAL_SECONDS,
      maxWaitSeconds: p.JOGG_LIP_SYNC_DEFAULT_MAX_WAIT_SECONDS,
      postsPerMinute: 20,
    },
    nemo: {
      token: secretFrom(env, ['NEMO_TOKEN']),
      baseUrl: stripSlash(env.NEMO_BASE_URL?.trim() || 'https://mega-api-prod.nemovideo.ai'),
      tokenFile: join(home, 'nemovideo-token.json'),
      platform: env.LIPSYNC_SKILL_PLATFORM?.trim() || 'lipsync-mcp',
    },
    director: {
      gatewayToken: secretFrom(env, ['GATEWAY_TOKEN'], openclaw),
      gatewayUrl: stripSlash(env.DIRECTOR_GATEWAY_URL?.trim() || 'https://instaclaw.io/api/gateway/sjinn'),
      sjinnApiKey: secretFrom(env, ['SJINN_API_KEY'], openclaw),
      sjinnBaseUrl: stripSlash(env.SJINN_BASE_URL?.trim() || 'https://sjinn.ai/api/un-api'),
    },
    ffmpeg: {
      ffmpegPath: env.FFMPEG_PATH?.trim() || undefined,
      ffprobePath: env.FFPROBE_PATH?.trim() || undefined,
      pathDirs: (env.PATH ?? '').split(delimiter).filter(Boolean),
    },
    http: {
      token: secretFrom(env, ['LIPSYNC_HTTP_TOKEN']),
      allowedOrigins: (env.LIPSYNC_ALLOWED_ORIGINS ?? '')
        .split(',')
        .map((o) => o.trim())
        .filter(Boolean),
      host: env.LIPSYNC_HTTP_HOST?.trim() || '127.0.0.1',
      port: p.LIPSYNC_HTTP_PORT,
      maxBodyBytes: p.LIPSYNC_HTTP_MAX_BODY_KB * 1024,
    },
    secrets: [],
  };
  config.secrets = collectSecrets(config);
  return config;
}

function collectSecrets(c: Config): string[] {
  const all = [c.jogg.apiKey, c.nemo.token, c.director.gatewayToken, c.director.sjinnApiKey, c.http.token];
  return all.filter(isUsableSecret).map((s) => s.value);
}

function stripSlash(u: string): string {
  return u.replace(/\/+$/, '');
}

function stripUndefined(o: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out;
}
