/**
 * NemoVideo provider: lip sync and free-form edits through its chat agent (`/run_sse`), export of a
 * session draft to mp4, uploads and credits. Works without any key (a free anonymous token is obtained
 * and cached), so it is always "configured" unless NEMO_TOKEN is set to a template placeholder.
 */
import { type Clock, systemClock } from '../../clock.js';
import { type Config, isUsableSecret } from '../../config.js';
import { AppError } from '../../errors.js';
import type { HttpClient } from '../../http/client.js';
import type { Logger } from '../../logger.js';
import type { Redactor } from '../../redact.js';
import { checkTaskId } from '../ids.js';
import type {
  CredentialState,
  Credits,
  ExistingTask,
  InputRole,
  JobRequest,
  JsonObject,
  PrepareContext,
  Provider,
  ProviderCapabilities,
  ResolvedInput,
  Snapshot,
  StartContext,
  StartResult,
  StatusContext,
  TaskKind,
  UploadResult,
} from '../provider.js';
import { NemoApi } from './api.js';
import { NemoAuth } from './auth.js';
import { type ChatDeps, chatStatus, findChat, prepareEdit, prepareLipSync, startChat } from './chat.js';
import { FORMATS } from './errors.js';
import { nemoTiming } from './meta.js';
import { prepareRender, type RenderDeps, renderStatus, startRender } from './render.js';
import { creditsSchema } from './schemas.js';
import { NemoSessions } from './session.js';
import type { LockTiming } from './token-file.js';

export interface NemoVideoDeps {
  config: Config['nemo'];
  http: HttpClient;
  clock: Clock;
  /** Already bound to `provider: "nemovideo"` by the caller (createProviders). */
  log: Logger;
  redactor: Redactor;
  /** This project's version, sent as X-Skill-Version. */
  version: string;
  /** Timer for the SSE idle/ceiling limits; defaults to the system clock (they guard a real socket). */
  sseTimer?: Clock;
  /** Overrides the SSE idle timeout (ms). */
  sseIdleTimeoutMs?: number;
  /** Overrides the cross-process token lock's timing (tests). */
  tokenLock?: LockTiming;
}

const CAPABILITIES: ProviderCapabilities = {
  kinds: ['lip_sync', 'edit', 'render'],
  formats: { video: [...FORMATS.video], audio: [...FORMATS.audio], image: [...FORMATS.image] },
  paid: true,
};

/** What every NemoVideo operation works with: built once by the factory. */
interface NemoContext {
  config: Config['nemo'];
  auth: NemoAuth;
  api: NemoApi;
  sessions: NemoSessions;
  chat: ChatDeps;
  render: RenderDeps;
}

export function createNemoVideoProvider(deps: NemoVideoDeps): Provider {
  // createProviders hands over a logger already bound to `provider`; lines carry it once.
  const { config, clock, log, redactor } = deps;
  const auth = new NemoAuth({ config, clock, log, redactor, tokenLock: deps.tokenLock });
  const api = new NemoApi({ config, http: deps.http, clock, log, auth, redactor, version: deps.version });
  const sessions = new NemoSessions(api);
  const nemo: NemoContext = {
    config,
    auth,
    api,
    sessions,
    chat: {
      api,
      sessions,
      clock,
      log,
      sseTimer: deps.sseTimer ?? systemClock,
      sseIdleTimeoutMs: deps.sseIdleTimeoutMs,
    },
    render: { api, sessions, clock },
  };
  return {
    name: 'nemovideo',
    displayName: 'NemoVideo',
    capabilities: CAPABILITIES,
    credentials: () => credentials(nemo),
    timing: nemoTiming,
    prepare: (request, ctx) => prepare(nemo, request, ctx),
    findExisting: (prepared, ctx) => findExisting(nemo, prepared, ctx),
    start: (prepared, ctx) => start(nemo, prepared, ctx),
    status: (operation, ctx) => status(nemo, operation, ctx),
    lookupById: (id, ctx) => lookupById(nemo, id, ctx),
    upload: (input, role, scope, signal) => upload(nemo, input, role, scope, signal),
    credits: (signal) => credits(nemo, signal),
  };
}

function unsupported(kind: string): AppError {
  return new AppError('unsupported', `NemoVideo does not do "${kind}" jobs.`, {
    hint: 'NemoVideo supports lip sync, edit_video and export_render; use The Director to generate videos.',
  });
}

function credentials(nemo: NemoContext): CredentialState {
  const t = nemo.config.token;
  if (t && !isUsableSecret(t)) {
    return {
      configured: false,
      source: t.source,
      fix: `NEMO_TOKEN looks like an unsubstituted template (e.g. \${NEMO_TOKEN}); set the real token, or remove it to use a free anonymous token.`,
      missingKey: 'NEMO_TOKEN',
    };
  }
  return { configured: true, source: nemo.auth.source() };
}

async function prepare(nemo: NemoContext, request: JobRequest, ctx: PrepareContext): Promise<JsonObject> {
  if (request.kind === 'lip_sync') return prepareLipSync(request, ctx, nemo.chat);
  if (request.kind === 'edit') return prepareEdit(request, ctx, nemo.chat);
  if (request.kind === 'render') return prepareRender(request, ctx, nemo.render);
  throw unsupported(request.kind);
}

async function findExisting(
  nemo: NemoContext,
  prepared: JsonObject,
  ctx: StatusContext,
): Promise<ExistingTask | null> {
  // Only a chat message can lose its answer and still be done; a render is free to start again.
  if (prepared.kind !== 'lip_sync' && prepared.kind !== 'edit') return null;
  return findChat(prepared, ctx.signal, nemo.chat);
}

async function start(nemo: NemoContext, prepared: JsonObject, ctx: StartContext): Promise<StartResult> {
  if (prepared.kind === 'render') return startRender(prepared, ctx, nemo.render);
  if (prepared.kind === 'lip_sync' || prepared.kind === 'edit') return startChat(prepared, ctx, nemo.chat);
  throw unsupported(String(prepared.kind));
}

async function status(nemo: NemoContext, operation: JsonObject, ctx: StatusContext): Promise<Snapshot> {
  if (operation.kind === 'render') return renderStatus(operation, ctx.signal, nemo.render);
  return chatStatus(operation, ctx.signal, nemo.chat);
}

/** A render started elsewhere (`render_…` ids are queryable alone); a chat needs its session, not an id. */
async function lookupById(
  nemo: NemoContext,
  id: string,
  ctx: StatusContext,
): Promise<(ExistingTask & { kind: TaskKind }) | null> {
  checkTaskId(id, 'NemoVideo task id');
  if (!id.startsWith('render_')) return null;
  try {
    const operation: JsonObject = { kind: 'render', render_id: id };
    const snapshot = await renderStatus(operation, ctx.signal, nemo.render);
    return { kind: 'render' as const, operation, providerTaskId: id, snapshot };
  } catch (err) {
    if (err instanceof AppError && err.code === 'not_found') return null;
    throw err;
  }
}

async function upload(
  nemo: NemoContext,
  input: ResolvedInput,
  role: InputRole,
  scope: string | undefined,
  signal: AbortSignal,
): Promise<UploadResult> {
  // Uploads live in a session; without one (a bare upload_asset call) open one and report it.
  const sessionId = scope ?? (await nemo.sessions.create(signal));
  const res = await nemo.sessions.upload(input, role, sessionId, signal);
  return scope ? res : { url: res.url, meta: { ...res.meta, session_id: sessionId } };
}

async function credits(nemo: NemoContext, signal: AbortSignal): Promise<Credits> {
  const { data } = await nemo.api.call({
    method: 'GET',
    path: '/api/credits/balance/simple',
    action: 'reading the credit balance',
    signal,
  });
  const parsed = creditsSchema.safeParse(data);
  if (!parsed.success) {
    throw new AppError(
      'provider_failed',
      'NemoVideo answered the credit balance request without a balance.',
      { hint: 'Try again later.' },
    );
  }
  const { available, frozen, total } = parsed.data;
  const balance: JsonObject = { available };
  if (frozen != null) balance.frozen = frozen;
  if (total != null) balance.total = total;
  const rest = [frozen != null ? `${frozen} frozen` : '', total != null ? `${total} total` : ''].filter(
    Boolean,
  );
  return {
    provider: 'nemovideo',
    configured: true,
    summary: `${available} available${rest.length ? ` (${rest.join(', ')})` : ''}`,
    balance,
  };
}
