/**
 * A tiny `defineTool` (after playwright-mcp): the zod schemas, title, annotations and a thin handler
 * side by side. Handlers return `{ structured, text }`; errors are converted here, once, into
 * `isError` results with `{ error: { code, message, hint } }` — never a stack trace, never a secret.
 */

import type {
  CallToolResult,
  InputRequiredResult,
  McpServer,
  ServerContext,
  ToolAnnotations,
} from '@modelcontextprotocol/server';
import { type ZodRawShape, z } from 'zod';
import type { Config } from '../src/config.js';
import { toUserError } from '../src/errors.js';
import type { PrincipalScope } from '../src/jobs/principal.js';
import type { CallOptions, JobService } from '../src/jobs/service.js';
import type { Logger } from '../src/logger.js';
import type { Redactor } from '../src/redact.js';
// Loaded on a 2026-07-28 paid confirmation only (a start loads no tool code).
import type { ConfirmSigning } from './confirm-modern.js';

export interface ToolContext {
  jobs: JobService;
  config: Config;
  redactor: Redactor;
  log: Logger;
  /** Extra allowed input folders declared by the client (MCP roots). */
  roots(): string[];
  /** Called with every task id a tool result shows this client (its job events are then sent to it). */
  sawTask?(taskId: string): void;
  /** Signs a 2026-07-28 client's pending confirmation of a paid job (absent: such clients pass confirm). */
  confirmSigning?: ConfirmSigning;
  /**
   * The MCP Tasks extension (2026-07-28 instances): a long tool's answer as a task, when the client
   * declared the extension and the job still runs; undefined keeps the ordinary answer.
   */
  taskAnswer?(
    tool: string,
    result: CallToolResult,
    extra: Extra,
  ): Promise<Record<string, unknown> | undefined>;
  /** Who the calls act for (OAuth: the token's user; absent: the local principal). */
  principal?: PrincipalScope;
  /**
   * A per-request server with no session to send to later (2025 clients served statelessly over HTTP):
   * job events travel as log messages of the call that concerns them, as on a 2026-07-28 request.
   */
  callScopedEvents?: boolean;
}

export type Extra = ServerContext;

export interface ToolOutput<O> {
  structured: O;
  text: string;
  content?: CallToolResult['content'];
}

export interface ToolDef<I extends ZodRawShape, O extends ZodRawShape> {
  name: string;
  title: string;
  description: string;
  input: I;
  output: O;
  annotations: Required<
    Pick<ToolAnnotations, 'readOnlyHint' | 'destructiveHint' | 'idempotentHint' | 'openWorldHint'>
  >;
  /** Tool `_meta` (e.g. the MCP Apps UI resource that shows its results). */
  meta?: Record<string, unknown>;
  /**
   * The tool can send a paid request. It then takes `confirm` (added to its input here, kept from its
   * handler) and the job service asks the user before paying as the spend settings say: elicitation
   * when the client has it, else `confirmation_required` until the call says `confirm: true`.
   */
  paid?: true;
  handle(
    args: z.output<z.ZodObject<I>>,
    ctx: ToolContext,
    call: CallOptions,
  ): Promise<ToolOutput<z.output<z.ZodObject<O>>>>;
}

export function defineTool<I extends ZodRawShape, O extends ZodRawShape>(def: ToolDef<I, O>): ToolDef<I, O> {
  return def;
}

let confirmInput: z.ZodOptional<z.ZodBoolean> | undefined;

/**
 * A tool's input shape as clients see it: a paid tool's own arguments plus `confirm`, one schema for
 * every paid tool (built with the first paid tool that is called or listed, not at start).
 */
export function inputShape(def: AnyTool): ZodRawShape {
  if (!def.paid) return def.input;
  confirmInput ??= z
    .boolean()
    .optional()
    .describe(
      'true only after the user agreed to pay for this job (when an earlier call answered confirmation_required).',
    );
  return { ...def.input, confirm: confirmInput };
}

/** Whether a 2026-07-28 request's client declared elicitation (it then fulfils `input_required`). */
function canElicit(extra: Extra): boolean {
  const env = extra.mcpReq.envelope as Record<string, unknown> | undefined;
  const caps = env?.['io.modelcontextprotocol/clientCapabilities'] as { elicitation?: unknown } | undefined;
  return !!caps?.elicitation;
}

/**
 * Asks the user through MCP elicitation (on the same request), when a 2025-era client declared it. A
 * 2026-07-28 request (it carries the per-request envelope) has no server-initiated requests: a client
 * that declared elicitation gets `input_required` (tools/confirm-modern.ts); one that did not gets
 * `confirmation_required` and confirms with `confirm: true`.
 */
function confirmVia(
  extra: Extra,
  server: McpServer | undefined,
  tool: string | undefined,
  signing: ConfirmSigning | undefined,
): CallOptions['confirm'] {
  if (extra.mcpReq.envelope && tool && signing && canElicit(extra))
    return async (message, job) =>
      (await import('./confirm-modern.js')).modernAsker(extra, tool, signing)(message, job);
  return async (message) => {
    if (extra.mcpReq.envelope) return 'unsupported';
    if (!server?.server.getClientCapabilities()?.elicitation) return 'unsupported';
    const r = await extra.mcpReq.elicitInput(
      {
        message,
        requestedSchema: {
          type: 'object',
          properties: { confirm: { type: 'boolean', title: 'Pay for this job', default: true } },
        },
      },
      { signal: extra.mcpReq.signal },
    );
    return r.action === 'accept' && r.content?.confirm !== false ? 'accept' : 'decline';
  };
}

/**
 * Per-call options from the MCP request: cancellation, progress notifications, client roots, and the
 * user's agreement to pay (`confirmed`, a paid tool's `confirm: true`).
 */
export function callOptions(
  extra: Extra,
  ctx: ToolContext,
  server?: McpServer,
  confirmed = false,
  tool?: string,
): CallOptions {
  const token = extra.mcpReq._meta?.progressToken;
  let last = 0;
  return {
    signal: extra.mcpReq.signal,
    extraRoots: ctx.roots(),
    onTask: ctx.sawTask,
    confirm: confirmVia(extra, server, tool, ctx.confirmSigning),
    confirmed,
    principal: ctx.principal,
    onProgress:
      token === undefined
        ? undefined
        : (message, progress, total) => {
            // Progress must increase (MCP), yet say what the message says: a percent (of `total`) is
            // sent as is, and a repeat (or a line with no number) moves by a step too small to change
            // the percent it rounds to. Without a total the number is only a rising marker.
            last = Math.max(last + 0.001, total ? (progress ?? 0) : 0);
            extra.mcpReq
              .notify({
                method: 'notifications/progress',
                params: {
                  progressToken: token,
                  progress: last,
                  ...(total ? { total } : {}),
                  message: ctx.redactor.redact(message),
                },
              })
              .catch(() => undefined);
          },
  };
}

export function errorResult(
  err: unknown,
  ctx: Pick<ToolContext, 'redactor' | 'log'>,
  tool: string,
): CallToolResult {
  const ue = toUserError(err, ctx.redactor.redact);
  if (ue.code === 'internal')
    ctx.log.error({ tool, err: ctx.redactor.redact(String((err as Error)?.stack ?? err)) }, 'tool failed');
  const text = JSON.stringify({ error: ue });
  return { isError: true, content: [{ type: 'text', text }] };
}

/** Tells the context which tasks a result showed (`task_id`, or each of `tasks[]`). */
function noteTasks(structured: Record<string, unknown>, ctx: ToolContext): void {
  if (!ctx.sawTask) return;
  if (typeof structured.task_id === 'string') ctx.sawTask(structured.task_id);
  if (Array.isArray(structured.tasks))
    for (const t of structured.tasks)
      if (typeof (t as { task_id?: unknown })?.task_id === 'string')
        ctx.sawTask((t as { task_id: string }).task_id);
}

// biome-ignore lint/suspicious/noExplicitAny: the registry holds tools of every shape
export type AnyTool = ToolDef<any, any>;

/**
 * Registers one tool on an McpServer the SDK's way (its zod schemas converted at `tools/list`). The
 * docs generator uses it to write tools/catalog.ts as the SDK would list the tools; the server itself
 * serves that catalog and imports each tool on first call (tools/serve.ts), with the same semantics.
 */
export function registerTool(server: McpServer, def: AnyTool, ctx: ToolContext): void {
  server.registerTool(
    def.name,
    {
      title: def.title,
      description: def.description,
      inputSchema: z.object(inputShape(def)),
      outputSchema: z.object(def.output),
      annotations: { title: def.title, ...def.annotations },
      ...(def.meta ? { _meta: def.meta } : {}),
    },
    // A paid tool's first round with a 2026-07-28 client may be `input_required`, which the SDK serves.
    ((args: Record<string, unknown>, extra: Extra) => runTool(def, args, extra, ctx, server)) as never,
  );
}

/** Runs a tool's handler on validated arguments: its result redacted, or its failure as an error result. */
export async function runTool(
  def: AnyTool,
  args: Record<string, unknown>,
  extra: Extra,
  ctx: ToolContext,
  server: McpServer,
): Promise<CallToolResult | InputRequiredResult> {
  try {
    const { confirm, ...own } = args;
    const call = callOptions(extra, ctx, server, def.paid && confirm === true, def.name);
    const out = await def.handle(def.paid ? own : args, ctx, call);
    const structured = ctx.redactor.redactJson(out.structured) as Record<string, unknown>;
    noteTasks(structured, ctx);
    return {
      content: [{ type: 'text', text: ctx.redactor.redact(out.text) }, ...(out.content ?? [])],
      structuredContent: structured,
    };
  } catch (err) {
    if (def.paid && ctx.confirmSigning && extra.mcpReq.envelope) {
      const { NeedsConfirmation, confirmationRequest } = await import('./confirm-modern.js');
      if (err instanceof NeedsConfirmation)
        return confirmationRequest(err, ctx.confirmSigning).catch((e: unknown) =>
          errorResult(e, ctx, def.name),
        );
    }
    return errorResult(err, ctx, def.name);
  }
}
