/**
 * Serves tools from their catalog: `tools/list` answers with the listing generated from the zod
 * schemas (tools/catalog.ts), and `tools/call` imports the tool on its first call, then validates and
 * runs it as the SDK's McpServer does (same checks, its own zod helpers, the same answers to valid
 * calls). Two differences, on purpose: arguments that fail the tool's schema get the documented error
 * shape (`invalid_input`, naming the argument), not the SDK's raw text; and an unknown tool is a
 * protocol error, JSON-RPC -32602 `Unknown tool: <name>`, as the MCP spec (2025-11-25, tools, "Error
 * Handling") lists it, where SDK 1.32's McpServer wraps its own -32602 into an isError result. What a
 * start costs differs too: no tool module, no schema built or converted before the first call.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import {
  type AnyObjectSchema,
  getParseErrorMessage,
  objectFromShape,
  safeParseAsync,
} from '@modelcontextprotocol/sdk/server/zod-compat.js';
import {
  CallToolRequestSchema,
  type CallToolResult,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import { TOOL_CATALOG } from './catalog.js';
import { type AnyTool, type Extra, errorResult, inputShape, runTool, type ToolContext } from './define.js';
import { TOOL_LISTING, TOOL_LOADERS, type ToolName } from './index.js';

interface Schemas {
  input: AnyObjectSchema;
  output: AnyObjectSchema;
}

const schemasOf = new WeakMap<AnyTool, Schemas>();

function schemas(def: AnyTool): Schemas {
  let s = schemasOf.get(def);
  if (!s) {
    // As McpServer.registerTool stores a raw shape (every tool here has one for input and output).
    s = { input: objectFromShape(inputShape(def)), output: objectFromShape(def.output) };
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
  const parsed = await safeParseAsync(schemas(def).input, args ?? {});
  if (parsed.success) return { args: parsed.data as Record<string, unknown> };
  const { invalidArguments } = await import('./invalid-args.js');
  const err = invalidArguments(def.name, inputShape(def), args, parsed.error);
  return { refused: errorResult(err, ctx, def.name) };
}

async function checkOutput(def: AnyTool, result: CallToolResult): Promise<void> {
  if (result.isError) return;
  if (!result.structuredContent)
    throw new McpError(
      ErrorCode.InvalidParams,
      `Output validation error: Tool ${def.name} has an output schema but no structured content was provided`,
    );
  const parsed = await safeParseAsync(schemas(def).output, result.structuredContent);
  if (!parsed.success)
    throw new McpError(
      ErrorCode.InvalidParams,
      `Output validation error: Invalid structured content for tool ${def.name}: ${getParseErrorMessage(parsed.error)}`,
    );
}

/** The listing of these tools, in catalog order (the order clients always see). */
export function listingOf(names: readonly ToolName[]): Tool[] {
  for (const n of names)
    if (!TOOL_LISTING.has(n))
      throw new Error(`tool ${n} is missing from tools/catalog.ts (run npm run docs)`);
  return TOOL_CATALOG.filter((t) => names.includes(t.name as ToolName));
}

/** Installs `tools/list` and `tools/call` for these tools on an McpServer that has no tools registered. */
export function serveTools(server: McpServer, names: readonly ToolName[], ctx: ToolContext): void {
  const tools = listingOf(names);
  const enabled = new Set<string>(names);
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
  server.server.setRequestHandler(ListToolsRequestSchema, () => ({ tools }));
  server.server.setRequestHandler(CallToolRequestSchema, async (request, extra: Extra) => {
    const { name } = request.params;
    // Outside the try: a protocol error, answered as a JSON-RPC error, not as a tool result.
    if (!enabled.has(name)) throw new McpError(ErrorCode.InvalidParams, `Unknown tool: ${name}`);
    try {
      const def = await load(name as ToolName);
      const input = await checkInput(def, request.params.arguments, ctx);
      if ('refused' in input) return input.refused;
      const result = await runTool(def, input.args, extra, ctx, server);
      if (!request.params.task) await checkOutput(def, result);
      return result;
    } catch (error) {
      if (error instanceof McpError && error.code === ErrorCode.UrlElicitationRequired) throw error;
      return {
        content: [{ type: 'text', text: error instanceof Error ? error.message : String(error) }],
        isError: true,
      };
    }
  });
}
