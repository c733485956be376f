/**
 * Serves tools from their catalog: `tools/list` answers with the listing generated from the zod
 * schemas (tools/catalog.ts), and `tools/call` imports the tool on its first call, then validates and
 * runs it as the SDK's McpServer does (same checks, its own zod helpers, the same answers to valid
 * calls, the result projected through the negotiated era's wire codec). Two differences, on purpose:
 * arguments that fail the tool's schema get the documented error shape (`invalid_input`, naming the
 * argument), not the SDK's raw text; and an unknown tool is a protocol error, JSON-RPC -32602
 * `Unknown tool: <name>`, as the MCP spec (2025-11-25, tools, "Error Handling") lists it and v2's
 * McpServer answers. What a start costs differs too: no tool module, no schema built or converted
 * before the first call.
 */
import type { CallToolResult, McpServer, Tool } from '@modelcontextprotocol/server';
import { isInputRequiredResult, ProtocolError, ProtocolErrorCode } from '@modelcontextprotocol/server';
import { z } from 'zod';
import type { JobEvent } from '../src/jobs/service.js';
import { TOOL_CATALOG } from './catalog.js';
import { type AnyTool, type Extra, errorResult, inputShape, runTool, type ToolContext } from './define.js';
import { TOOL_LISTING, TOOL_LOADERS, type ToolName } from './index.js';

type AnyObject = z.ZodObject<z.ZodRawShape>;

interface Schemas {
  input: AnyObject;
  output: AnyObject;
}

const schemasOf = new WeakMap<AnyTool, Schemas>();

function schemas(def: AnyTool): Schemas {
  let s = schemasOf.get(def);
  if (!s) {
    // As McpServer.registerTool stores a raw shape (every tool here has one for input and output).
    s = { input: z.object(inputShape(def)), output: z.object(def.output) };
    schemasOf.set(def, s);
  }
  return s;
}

/**
 * The arguments checked against the tool's schema as McpServer checks them (same zod helpers). Where
 * it answers its own raw text, a refusal here is the documented error: `invalid_input`, naming each
 * argument and what it accepts (tools/invalid-args.ts, loaded with the first refusal).
 */
async function checkInput(
  def: AnyTool,
  args: unknown,
  ctx: ToolContext,
): Promise<{ args: Record<string, unknown> } | { refused: CallToolResult }> {
  const parsed = await schemas(def).input.safeParseAsync(args ?? {});
  if (parsed.success) return { args: parsed.data as Record<string, unknown> };
  const { invalidArguments } = await import('./invalid-args.js');
  const err = invalidArguments(def.name, inputShape(def), args, parsed.error);
  return { refused: errorResult(err, ctx, def.name) };
}

async function checkOutput(def: AnyTool, result: CallToolResult): Promise<void> {
  if (result.isError) return;
  if (!result.structuredContent)
    throw new ProtocolError(
      ProtocolErrorCode.InvalidParams,
      `Output validation error: Tool ${def.name} has an output schema but no structured content was provided`,
    );
  const parsed = await schemas(def).output.safeParseAsync(result.structuredContent);
  if (!parsed.success)
    throw new ProtocolError(
      ProtocolErrorCode.InvalidParams,
      `Output validation error: Invalid structured content for tool ${def.name}: ${getParseErrorMessage(parsed.error)}`,
    );
}

/** Zod issues as the SDK's McpServer writes them ("path: message", comma-separated). */
function getParseErrorMessage(error: z.ZodError): string {
  return error.issues
    .map((i) => (i.path.length ? `${i.path.map(String).join('.')}: ${i.message}` : i.message))
    .join(', ');
}

/** The listing of these tools, in catalog order (the order clients always see). */
export function listingOf(names: readonly ToolName[]): Tool[] {
  for (const n of names)
    if (!TOOL_LISTING.has(n))
      throw new Error(`tool ${n} is missing from tools/catalog.ts (run npm run docs)`);
  return TOOL_CATALOG.filter((t) => names.includes(t.name as ToolName));
}

/**
 * On a 2026-07-28 request (it carries the per-request envelope), or a 2025 one served statelessly (there
 * is no session to send to later):
 * the job events of the tasks this call names or touches, as log messages of the call itself, which
 * the SDK sends at the level the request's envelope asks for (none when it asks for none).
 */
function relayJobEvents(ctx: ToolContext, extra: Extra, args: unknown) {
  const ids = new Set<string>();
  const named = (args as { task_id?: unknown } | undefined)?.task_id;
  if (typeof named === 'string') ids.add(named);
  const onEvent = (e: JobEvent) => {
    if (ids.has(e.task_id))
      void extra.mcpReq.log(e.level, e, `lipsync-mcp.${e.provider}`).catch(() => undefined);
  };
  ctx.jobs.events.on('job', onEvent);
  const sawTask = (id: string) => {
    ids.add(id);
    ctx.sawTask?.(id);
  };
  return { ctx: { ...ctx, sawTask }, stop: () => ctx.jobs.events.off('job', onEvent) };
}

/** Installs `tools/list` and `tools/call` for these tools on an McpServer that has no tools registered. */
export function serveTools(server: McpServer, names: readonly ToolName[], ctx: ToolContext): void {
  const tools = listingOf(names);
  const enabled = new Set<string>(names);
  const listed = new Map(tools.map((t) => [t.name, t]));
  const loaded = new Map<string, Promise<AnyTool>>();
  const load = (name: ToolName) => {
    let p = loaded.get(name);
    if (!p) {
      p = TOOL_LOADERS[name]();
      p.catch(() => loaded.delete(name));
      loaded.set(name, p);
    }
    return p;
  };
  server.server.setRequestHandler('tools/list', () => ({ tools }));
  server.server.setRequestHandler('tools/call', async (request, extra: Extra) => {
    const { name } = request.params;
    // Outside the try: a protocol error, answered as a JSON-RPC error, not as a tool result.
    if (!enabled.has(name)) throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown tool: ${name}`);
    const relay =
      extra.mcpReq.envelope || ctx.callScopedEvents
        ? relayJobEvents(ctx, extra, request.params.arguments)
        : undefined;
    try {
      const def = await load(name as ToolName);
      const input = await checkInput(def, request.params.arguments, ctx);
      if ('refused' in input) return input.refused;
      const result = await runTool(def, input.args, extra, relay?.ctx ?? ctx, server);
      // A 2026-07-28 client's paid job to confirm: the question and the signed pending job, as is.
      if (isInputRequiredResult(result)) return result;
      await checkOutput(def, result);
      // A client of the Tasks extension: a job that still runs is answered as a task.
      const task = await ctx.taskAnswer?.(name, result, extra);
      if (task) return task as CallToolResult;
      return server.server.projectCallToolResult(result, listed.get(name)?.outputSchema);
    } catch (error) {
      if (error instanceof ProtocolError && error.code === ProtocolErrorCode.UrlElicitationRequired)
        throw error;
      return {
        content: [{ type: 'text', text: error instanceof Error ? error.message : String(error) }],
        isError: true,
      };
    } finally {
      relay?.stop();
    }
  });
}
