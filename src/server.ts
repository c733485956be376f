/**
 * createServer(deps) -> McpServer with every tool from tools/: the one factory behind both protocol
 * eras. The serving entries call it (serveStdio once per connection, plus once for a discarded
 * `server/discover` probe; HTTP once per 2025 session and once per 2026-07-28 request), so it is cheap
 * and starts nothing: every instance shares the App (ledger, providers, job service).
 */
import { realpath } from 'node:fs/promises';
import { isAbsolute, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type CacheHint, McpServer } from '@modelcontextprotocol/server';
import type { ToolContext } from '../tools/define.js';
import { TOOL_KINDS, TOOL_NAMES, type ToolName } from '../tools/index.js';
import { serveTools } from '../tools/serve.js';
import type { App } from './app.js';
import { LOCAL_PRINCIPAL, scopeOf } from './jobs/principal.js';
import type { JobEvent } from './jobs/service.js';
import { registerMcpSurface } from './mcp/index.js';
import type { TakenHook } from './mcp/media.js';
import { registerTasksExtension, taskAnswer } from './mcp/tasks-ext.js';
import { VERSION } from './version.js';

export const SERVER_INSTRUCTIONS = [
  'Lip-sync and AI-video jobs that are paid per job. The pattern that never pays twice and never times out:',
  '1) call create_lip_sync (or generate_video) once — it answers at once with a task_id;',
  '2) call get_task_status with that task_id and wait_seconds: 50, repeatedly, until status is success or failed;',
  '3) call download_result to save the video.',
  'Never create a task again while it is pending or processing; identical inputs return the same task (reused: true) anyway.',
  'Use force_recreate only when the user explicitly asks to regenerate. Report warnings and errors to the user in plain words.',
].join('\n');

/**
 * What the client's MCP roots may do. `extend` (stdio: client and server share a disk): they add to the
 * allowed input folders. `ignore` (HTTP by default: the roots describe the client's disk, not this
 * one): never asked for. `within_allowed` (HTTP with LIPSYNC_HTTP_TRUST_ROOTS): only the parts that lie
 * inside the configured folders count, so a root can never widen what the server reads.
 */
export type RootsPolicy = 'extend' | 'ignore' | 'within_allowed';

export interface ServerOptions {
  /** Tools to expose, by name; default all tools whose provider can work. */
  tools?: ToolName[];
  /** Default `extend`. */
  roots?: RootsPolicy;
  /**
   * When the client has taken the answer to a request (HTTP: its response finished or closed), for the
   * media budget; default: when the transport's send() resolves (stdio: written out).
   */
  mediaTaken?: TakenHook;
  /**
   * The protocol era the instance serves, as the serving entry says (default `legacy`). A `modern`
   * (2026-07-28) instance has no session: job events reach the client as log messages of the tool call
   * that concerns them, at the level that request asks for, never unsolicited.
   */
  era?: 'legacy' | 'modern';
  /** Who this instance acts for (HTTP with OAuth: the token's user); default the local principal. */
  principal?: string;
  /**
   * One 2025-era request served by its own instance (HTTP without sessions, issue 26): no session to
   * send job events to later, so they go out as log messages of the call; no elicitation (the client's
   * capabilities were declared to another instance), so paid jobs answer `confirmation_required`.
   */
  stateless?: boolean;
}

/**
 * 2026-07-28 caching hints (`ttlMs` / `cacheScope`; 2025 answers never carry them). The tool list and
 * the other lists change only with the configuration, so any cache may keep them a while; a resource
 * read is mostly a task, which moves: short-lived, and the caller's own.
 */
export const CACHE_HINTS = {
  'tools/list': { ttlMs: 10 * 60_000, cacheScope: 'public' },
  'prompts/list': { ttlMs: 10 * 60_000, cacheScope: 'public' },
  'resources/templates/list': { ttlMs: 10 * 60_000, cacheScope: 'public' },
  'resources/list': { ttlMs: 5_000, cacheScope: 'private' },
  'resources/read': { ttlMs: 2_000, cacheScope: 'private' },
} as const satisfies Record<string, CacheHint>;

export function createServer(app: App, opts: ServerOptions = {}): McpServer {
  const server = new McpServer(
    { name: 'lipsync-mcp', title: 'Lip-sync MCP', version: VERSION },
    { capabilities: { tools: {}, logging: {} }, instructions: SERVER_INSTRUCTIONS, cacheHints: CACHE_HINTS },
  );
  const policy = opts.roots ?? 'extend';
  let roots: string[] = [];
  const refreshRoots = async () => {
    if (!server.server.getClientCapabilities()?.roots) return;
    if (policy === 'ignore') {
      app.log.debug('client roots ignored on this transport (LIPSYNC_HTTP_TRUST_ROOTS is off)');
      return;
    }
    try {
      const res = await server.server.listRoots(undefined, { timeout: 5000 });
      const given = res.roots.filter((r) => r.uri.startsWith('file://')).map((r) => fileURLToPath(r.uri));
      roots = policy === 'extend' ? given : await rootsWithin(given, app.config.allowedDirs);
      app.log.debug({ roots, policy }, 'client roots');
    } catch (err) {
      app.log.debug({ err: String(err) }, 'listRoots failed');
    }
  };
  server.server.oninitialized = () => {
    void refreshRoots();
  };
  server.server.setNotificationHandler('notifications/roots/list_changed', async () => {
    await refreshRoots();
  });
  const seen = new Set<string>();
  const scope = scopeOf(opts.principal ?? LOCAL_PRINCIPAL, app.config.http.teamReuse);
  const ctx: ToolContext = {
    principal: scope,
    jobs: app.jobs,
    config: app.config,
    redactor: app.redactor,
    log: app.log,
    roots: () => roots,
    sawTask: (id) => seen.add(id),
    confirmSigning: { key: () => app.confirmKey(), now: () => app.clock.now() },
    ...(opts.era === 'modern'
      ? { taskAnswer: (tool, result, extra) => taskAnswer(app, tool, result, extra, scope) }
      : {}),
    ...(opts.stateless ? { callScopedEvents: true } : {}),
  };
  serveTools(server, opts.tools ?? availableTools(app), ctx);
  if (opts.era !== 'modern' && !opts.stateless) forwardJobEvents(app, server, seen);
  registerMcpSurface(
    server,
    app,
    undefined,
    opts.mediaTaken,
    scope,
    opts.era !== 'modern' && !!opts.stateless,
  );
  // The Tasks extension is a 2026-07-28 one (per-request capabilities); 2025 clients never see it.
  if (opts.era === 'modern') registerTasksExtension(server, app, scope);
  return server;
}

/**
 * Job events (created, reused, status changes, retries, recoveries) go to the client as
 * `notifications/message`, filtered by the level it set with `logging/setLevel` (info by default), for
 * the tasks this client has seen — another session's jobs are not its business. Already redacted.
 */
function forwardJobEvents(app: App, server: McpServer, seen: Set<string>): void {
  const onEvent = (e: JobEvent) => {
    if (!server.isConnected() || !seen.has(e.task_id)) return;
    const sessionId = server.server.transport?.sessionId;
    void server
      .sendLoggingMessage({ level: e.level, logger: `lipsync-mcp.${e.provider}`, data: e }, sessionId)
      .catch(() => undefined);
  };
  app.jobs.events.on('job', onEvent);
  const previous = server.server.onclose;
  server.server.onclose = () => {
    app.jobs.events.off('job', onEvent);
    previous?.();
  };
}

/**
 * The parts of the client's roots that lie inside the allowed folders, by real path (a symlink cannot
 * lead out), and not through a hidden folder (which the allowed folders never expose). A root that
 * contains an allowed folder yields that folder.
 */
export async function rootsWithin(roots: string[], allowedDirs: string[]): Promise<string[]> {
  const real = async (p: string) => realpath(p).catch(() => undefined);
  const allowed = (await Promise.all(allowedDirs.map(real))).filter((d): d is string => !!d);
  const out = new Set<string>();
  for (const root of roots) {
    const r = await real(root);
    if (!r) continue;
    for (const a of allowed) {
      const down = relative(a, r);
      const up = relative(r, a);
      if (isBelow(down) && !down.split(sep).some((seg) => seg.startsWith('.'))) out.add(r);
      else if (isBelow(up)) out.add(a);
    }
  }
  return [...out];
}

const isBelow = (rel: string) =>
  rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));

/** A tool is listed only when some provider here can serve it (one of the kinds it runs on). */
export function availableTools(app: App): ToolName[] {
  const kinds = new Set<string>([...app.providers.values()].flatMap((p) => p.capabilities.kinds));
  return TOOL_NAMES.filter((name) => {
    const need = TOOL_KINDS[name];
    return !need || need.some((k) => kinds.has(k));
  });
}
