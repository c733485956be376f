/**
 * The provider seam. A provider is a factory `createXProvider(deps)` returning a {@link Provider}.
 * Providers translate one cloud (or local) API into these shapes. They never poll, never sleep waiting
 * for a job, and never touch the ledger: the JobService owns all of that.
 *
 * The life of a paid job, as the JobService drives it:
 *   1. `prepare(request, ctx)`   free work: credentials, sessions, uploads (through `ctx.asset`, which is
 *                                cached by content hash in the ledger). Returns a JSON `Prepared`.
 *   2. `findExisting(prepared)`  optional: a task the provider already has for exactly these inputs.
 *   3. (ledger: phase = sent)    written durably before the paid request leaves.
 *   4. `start(prepared, ctx)`    the one paid request. Returns a JSON `operation` handle.
 *   5. `status(operation)`       one look at the job; the JobService decides when to look again.
 */
import type { Clock } from '../clock.js';
import type { JsonObject } from '../json.js';
import type { Logger } from '../logger.js';
import type { InputRole, MediaCapabilities, ResolvedInput } from '../media/types.js';
import type { ProviderName } from '../names.js';

export { PROVIDER_NAMES, type ProviderName } from '../names.js';

/** The one status vocabulary of this project (Jogg's, plus `unknown`: paid request sent, answer lost). */
export type TaskStatus = 'pending' | 'processing' | 'success' | 'failed' | 'unknown';

/** What a job does. Each provider lists the kinds it supports. */
export type TaskKind =
  | 'lip_sync'
  | 'generate_video'
  | 'edit'
  | 'render'
  /** Tier 3 (The Director): a still image, made or edited. */
  | 'image'
  /** Tier 3: speech, music or a sound effect. */
  | 'audio'
  /** Tier 3: speech to text with timings (SRT/VTT). */
  | 'transcript'
  /** Tier 3: post-production of videos (subtitles, upscale, trim, compose, frame extraction). */
  | 'post';

export type { Json, JsonObject } from '../json.js';
export type { InputRole, MediaCapabilities, ResolvedInput } from '../media/types.js';

export interface JobRequest {
  kind: TaskKind;
  inputs: Partial<Record<InputRole, ResolvedInput>>;
  /** Provider parameters (playback_type, prompt, model, session_id, instruction...). JSON only. */
  params: JsonObject;
}

/** Normalized look at a job. */
export interface Snapshot {
  status: TaskStatus;
  /** 0..1 when the provider reports it. */
  progress?: number;
  /** The provider's own status word/number, used to detect stalls. */
  providerStatus?: string;
  resultUrl?: string;
  coverUrl?: string;
  durationSeconds?: number;
  /** Provider-specific facts worth showing (which model ran, session summary, offset_ms...). */
  extra?: JsonObject;
  error?: { message: string; code?: string };
  /** A replacement operation handle (e.g. the gateway corrected the api type). */
  operation?: JsonObject;
  /** A message for the user (e.g. the agent's text reply). */
  message?: string;
}

export interface StartResult {
  /** JSON handle stored in the ledger; `status()` resumes from it after a restart. */
  operation: JsonObject;
  providerTaskId: string;
  snapshot: Snapshot;
  /**
   * Optional live updates (e.g. an SSE stream) that the JobService drains in the background and
   * merges into the ledger. When the stream ends or breaks, the JobService falls back to `status()`.
   * It must never resend the paid request.
   */
  events?: AsyncIterable<Partial<Snapshot>>;
}

export interface ExistingTask {
  operation: JsonObject;
  providerTaskId: string;
  snapshot: Snapshot;
}

export interface CredentialState {
  configured: boolean;
  /** Where the credential came from: 'env:JOGG_API_KEY', '~/.openclaw/.env', 'token cache', 'none'... */
  source: string;
  /** When not configured: what to do, in words a person can act on. */
  fix?: string;
  /** The environment variable a user would set (for the CLI's `missing_key`). */
  missingKey?: string;
}

export interface Credits {
  provider: ProviderName;
  configured: boolean;
  /** Human summary, e.g. "42 credits remaining". */
  summary: string;
  balance?: JsonObject;
}

export interface PrepareContext {
  /**
   * Uploads (or registers) an input with this provider, through the ledger's upload cache keyed by
   * (provider, scope, sha256, size). Calls `provider.upload` only on a miss. Returns the asset URL.
   */
  asset(input: ResolvedInput, role: InputRole, scope?: string): Promise<string>;
  /** This server's task id: what a published input is bound to (removed when the task is final). */
  taskId?: string;
  signal: AbortSignal;
  log: Logger;
  /** Progress lines for the user (stderr in the CLI, progress notifications in MCP). */
  progress(message: string): void;
}

export interface StartContext {
  signal: AbortSignal;
  log: Logger;
  progress(message: string): void;
  /** Where a local engine writes its outputs (inside the output directory). */
  workDir: string;
  /** This server's task id (for naming files, render ids...). */
  taskId: string;
}

export interface StatusContext {
  signal: AbortSignal;
  log: Logger;
}

export interface UploadResult {
  url: string;
  meta?: JsonObject;
}

/** How the JobService should pace and bound waits for a kind of job on this provider. */
export interface Timing {
  pollIntervalMs: number;
  /** Unchanged provider status for this many polls -> `stalled`. */
  stallPolls?: number;
  /** After this long since creation, waiting stops with a message (the job is not cancelled). */
  giveUpAfterMs?: number;
}

export interface ProviderCapabilities extends MediaCapabilities {
  kinds: TaskKind[];
  /** Whether a job costs money. The local engine does not. */
  paid: boolean;
}

export interface Provider {
  readonly name: ProviderName;
  /** What users see ("Jogg", "NemoVideo", "The Director", "Local engine"). */
  readonly displayName: string;
  readonly capabilities: ProviderCapabilities;
  /** Optional: named choices a caller may pick (MCP completion): models, templates, platforms. */
  readonly choices?: Partial<Record<'model' | 'template' | 'platform', readonly string[]>>;

  credentials(): CredentialState;
  timing(kind: TaskKind): Timing;

  /**
   * Optional: the canonical form of request params (e.g. a model name's one spelling), applied before
   * the fingerprint so that spellings of one choice are one job. Pure; may throw `invalid_input`.
   */
  normalizeParams?(kind: TaskKind, params: JsonObject): JsonObject;
  /** Free preparation; uploads go through `ctx.asset`. Must not start a paid job. */
  prepare(request: JobRequest, ctx: PrepareContext): Promise<JsonObject>;
  /** Optional: a task the provider already has for exactly these prepared inputs. */
  findExisting?(prepared: JsonObject, ctx: StatusContext): Promise<ExistingTask | null>;
  /** The single paid request. Throw an AppError with `noTaskCreated: true` when the answer
   *  proves no task was made (so the claim can be released); any other failure is treated as `unknown`. */
  start(prepared: JsonObject, ctx: StartContext): Promise<StartResult>;
  status(operation: JsonObject, ctx: StatusContext): Promise<Snapshot>;
  /**
   * Optional, free providers only: stops a job that runs on this machine (the local engine's worker
   * process) and resolves once it has stopped: `stopped`, or `not_running` when it had already ended
   * (or runs nowhere this process can reach). A paid job is never stopped from here: once sent, it
   * cannot be undone, and nothing may pretend it was.
   */
  stop?(operation: JsonObject, ctx: StatusContext): Promise<'stopped' | 'not_running'>;
  /**
   * Optional: a task created elsewhere (the provider's own id), looked up at the provider so it can be
   * recorded and followed. Null when the provider has no such task.
   */
  lookupById?(
    providerTaskId: string,
    ctx: StatusContext,
  ): Promise<(ExistingTask & { kind: TaskKind }) | null>;

  /** Upload one input. Called by the JobService's cache on a miss. */
  upload?(
    input: ResolvedInput,
    role: InputRole,
    scope: string | undefined,
    signal: AbortSignal,
  ): Promise<UploadResult>;
  credits?(signal: AbortSignal): Promise<Credits>;
}

/** Dependencies every provider factory receives. */
export interface ProviderDeps {
  clock: Clock;
  log: Logger;
}
