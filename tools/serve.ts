/**
 * Serves tools from their catalog: `tools/list` answers with the listing generated from the zod
 * schemas (tools/catalog.ts), and `tools/call` imports the tool on its first call, then validates and
 * runs it exactly as the SDK's McpServer does (same checks, same error results, its own zod helpers).
 * What a client sees is the same; what a start costs is not: no tool module, no schema built or
 * converted before the first call.
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
import { type AnyTool, type Extra, inputShape, runTool, type ToolContext } from './define.js';
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

async function validInput(def: AnyTool, args: unknown): Promise<Record<string, unknown>> {
  const parsed = await safeParseAsync(schemas(def).input, args ?? {});
  if (!parsed.success)
    throw new McpError(
      ErrorCode.InvalidParams,
      `Input validation error: Invalid arguments for tool ${def.name}: ${getParseErrorMessage(parsed.error)}`,
    );
  return parsed.data as Record<string, unknown>;
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
    try {
      if (!enabled.has(name)) throw new McpError(ErrorCode.InvalidParams, `Tool ${name} not found`);
      const def = await load(name as ToolName);
      const args = await validInput(def, request.params.arguments);
      const result = await runTool(def, args, extra, ctx, server);
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
