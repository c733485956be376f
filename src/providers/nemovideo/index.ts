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
import type {
  CredentialState,
  Credits,
  ExistingTask,
  InputRole,
  JobRequest,
  JsonObject,
  PrepareContext,
  Provider,
  ResolvedInput,
  Snapshot,
  StartContext,
  StartResult,
  StatusContext,
  TaskKind,
  Timing,
  UploadResult,
} from '../provider.js';
import { NemoApi } from './api.js';
import { NemoAuth } from './auth.js';
import { type ChatDeps, chatStatus, findChat, prepareEdit, prepareLipSync, startChat } from './chat.js';
import { FORMATS } from './errors.js';
import { prepareRender, renderStatus, startRender } from './render.js';
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

const MINUTE = 60_000;

const TIMING: Record<'lip_sync' | 'edit' | 'render', Timing> = {
  // An agent job: state changes only at the end; 90 unchanged polls = the 15-minute stream ceiling.
  // Both outlast the provider's own ceiling for a missing result (outcome.ts), so it is reported.
  lip_sync: { pollIntervalMs: 10_000, stallPolls: 90, giveUpAfterMs: 30 * MINUTE },
  edit: { pollIntervalMs: 10_000, stallPolls: 90, giveUpAfterMs: 30 * MINUTE },
  // The vendor's own guidance: poll an export every 30 s.
  render: { pollIntervalMs: 30_000, stallPolls: 40, giveUpAfterMs: 30 * MINUTE },
};

export function createNemoVideoProvider(deps: NemoVideoDeps): Provider {
  // createProviders hands over a logger already bound to `provider`; lines carry it once.
  const log = deps.log;
  const auth = new NemoAuth({
    config: deps.config,
    clock: deps.clock,
    log,
    redactor: deps.redactor,
    tokenLock: deps.tokenLock,
  });
  const api = new NemoApi({
    config: deps.config,
    http: deps.http,
    clock: deps.clock,
    log,
    auth,
    redactor: deps.redactor,
    version: deps.version,
  });
  const sessions = new NemoSessions(api);
  const chat: ChatDeps = {
    api,
    sessions,
    clock: deps.clock,
    log,
    sseTimer: deps.sseTimer ?? systemClock,
    sseIdleTimeoutMs: deps.sseIdleTimeoutMs,
  };
  const render = { api, sessions, clock: deps.clock };

  function unsupported(kind: string): AppError {
    return new AppError('unsupported', `NemoVideo does not do "${kind}" jobs.`, {
      hint: 'NemoVideo supports lip sync, edit_video and export_render; use The Director to generate videos.',
    });
  }

  return {
    name: 'nemovideo',
    displayName: 'NemoVideo',
    capabilities: {
      kinds: ['lip_sync', 'edit', 'render'],
      formats: { video: [...FORMATS.video], audio: [...FORMATS.audio], image: [...FORMATS.image] },
      paid: true,
    },

    credentials(): CredentialState {
      const t = deps.config.token;
      if (t && !isUsableSecret(t)) {
        return {
          configured: false,
          source: t.source,
          fix: `NEMO_TOKEN looks like an unsubstituted template (e.g. \${NEMO_TOKEN}); set the real token, or remove it to use a free anonymous token.`,
          missingKey: 'NEMO_TOKEN',
        };
      }
      return { configured: true, source: auth.source() };
    },

    timing(kind: TaskKind): Timing {
      return kind === 'render' ? TIMING.render : kind === 'edit' ? TIMING.edit : TIMING.lip_sync;
    },

    async prepare(request: JobRequest, ctx: PrepareContext): Promise<JsonObject> {
      if (request.kind === 'lip_sync') return prepareLipSync(request, ctx, chat);
      if (request.kind === 'edit') return prepareEdit(request, ctx, chat);
      if (request.kind === 'render') return prepareRender(request, ctx, render);
      throw unsupported(request.kind);
    },

    async findExisting(prepared: JsonObject, ctx: StatusContext): Promise<ExistingTask | null> {
      // Only a chat message can lose its answer and still be done; a render is free to start again.
      if (prepared.kind !== 'lip_sync' && prepared.kind !== 'edit') return null;
      return findChat(prepared, ctx.signal, chat);
    },

    async start(prepared: JsonObject, ctx: StartContext): Promise<StartResult> {
      if (prepared.kind === 'render') return startRender(prepared, ctx, render);
      if (prepared.kind === 'lip_sync' || prepared.kind === 'edit') return startChat(prepared, ctx, chat);
      throw unsupported(String(prepared.kind));
    },

    async status(operation: JsonObject, ctx: StatusContext): Promise<Snapshot> {
      if (operation.kind === 'render') return renderStatus(operation, ctx.signal, render);
      return chatStatus(operation, ctx.signal, chat);
    },

    /** A render started elsewhere (`render_…` ids are queryable alone); a chat needs its session, not an id. */
    async lookupById(id: string, ctx: StatusContext) {
      if (!id.startsWith('render_')) return null;
      try {
        const operation: JsonObject = { kind: 'render', render_id: id };
        const snapshot = await renderStatus(operation, ctx.signal, render);
        return { kind: 'render' as const, operation, providerTaskId: id, snapshot };
      } catch (err) {
        if (err instanceof AppError && err.code === 'not_found') return null;
        throw err;
      }
    },

    async upload(
      input: ResolvedInput,
      role: InputRole,
      scope: string | undefined,
      signal: AbortSignal,
    ): Promise<UploadResult> {
      // Uploads live in a session; without one (a bare upload_asset call) open one and report it.
      const sessionId = scope ?? (await sessions.create(signal));
      const res = await sessions.upload(input, role, sessionId, signal);
      return scope ? res : { url: res.url, meta: { ...res.meta, session_id: sessionId } };
    },

    async credits(signal: AbortSignal): Promise<Credits> {
      const { data } = await api.call({
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
    },
  };
}
