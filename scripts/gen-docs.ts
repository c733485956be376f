/**
 * `npm run docs`: regenerates the README's tool, configuration and error tables from the tools' JSON
 * Schema as `tools/list` shows it to clients, the settings table (src/config.ts) and the error contract (src/errors.ts). Only the
 * text between the `<!-- NAME:start -->`/`<!-- NAME:end -->` markers (tools, config, errors) is
 * rewritten. `renderDocs` is pure, so a test can check that the README has not drifted.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { delimiter } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Client } from '@modelcontextprotocol/client';
import type { Tool } from '@modelcontextprotocol/server';
import { InMemoryTransport, McpServer } from '@modelcontextprotocol/server';
import { CONFIG_DOCS } from '../src/config.js';
import { DETAIL_KEY_DOCS, ERROR_CODES } from '../src/errors.js';
import { ALL_TOOLS } from '../tools/all.js';
import { type AnyTool, registerTool, type ToolContext } from '../tools/define.js';

/** Escapes a table cell: pipes and line breaks would break the row. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');
}

function code(text: string): string {
  return `\`${text}\``;
}

/** Renders a table with padded columns (the layout Prettier gives Markdown tables). */
function table(header: string[], rows: string[][]): string {
  const width = (s: string) => [...s].length;
  const widths = header.map((h, i) => Math.max(3, width(h), ...rows.map((r) => width(r[i] ?? ''))));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => c + ' '.repeat((widths[i] ?? 0) - width(c))).join(' | ')} |`;
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export function firstSentence(text: string): string {
  const m = /^([\s\S]+?[.!?])(?=\s|$)/.exec(text.trim());
  return (m?.[1] ?? text).trim();
}

interface Param {
  name: string;
  optional: boolean;
  type: string;
}

/** A tool as clients see it in `tools/list`: the JSON Schema the SDK generates from its zod schema. */
export type ListedTool = Tool;

/**
 * The tools as `tools/list` shows them to clients (as Playwright MCP and github-mcp-server generate
 * their docs): an in-memory server with every tool, asked by an SDK client. Handlers are never called.
 */
export async function listedTools(tools: AnyTool[] = ALL_TOOLS): Promise<ListedTool[]> {
  const server = new McpServer({ name: 'docs', version: '0' }, { capabilities: { tools: {} } });
  for (const t of tools) registerTool(server, t, {} as ToolContext);
  const [a, b] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: 'docs', version: '0' });
  await Promise.all([server.connect(a), client.connect(b)]);
  try {
    return (await client.listTools()).tools;
  } finally {
    await client.close();
    await server.close();
  }
}

type JsonSchema = {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
};

/** A short type name for a JSON Schema: string, number, boolean, an enum's values, a union. */
function describeType(s: JsonSchema): string {
  if (s.enum) return s.enum.map(String).join('/');
  if (s.const !== undefined) return JSON.stringify(s.const);
  const alts = s.anyOf ?? s.oneOf;
  if (alts) return alts.map(describeType).join(' or ');
  const type = Array.isArray(s.type) ? s.type.filter((t) => t !== 'null').join(' or ') : s.type;
  if (type === 'array') return `${s.items ? describeType(s.items) : 'value'}[]`;
  if (type === 'integer') return 'number';
  return type ?? 'value';
}

export function toolParams(tool: ListedTool): Param[] {
  const props = (tool.inputSchema.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set(tool.inputSchema.required ?? []);
  return Object.entries(props).map(([name, schema]) => ({
    name,
    optional: !required.has(name),
    type: describeType(schema),
  }));
}

function renderParams(tool: ListedTool): string {
  const params = toolParams(tool);
  if (!params.length) return '—';
  // Required parameters first, in declaration order.
  const sorted = [...params.filter((p) => !p.optional), ...params.filter((p) => p.optional)];
  return sorted.map((p) => `${code(p.name)}${p.optional ? '?' : ''} (${p.type})`).join(', ');
}

export function renderToolsTable(tools: ListedTool[]): string {
  const yes = (b: boolean | undefined) => (b ? 'yes' : 'no');
  const rows = tools.map((t) => [
    code(t.name),
    cell(t.title ?? t.name),
    cell(firstSentence(t.description ?? '')),
    yes(t.annotations?.readOnlyHint),
    yes(t.annotations?.idempotentHint),
    cell(renderParams(t)),
  ]);
  return [
    table(['tool', 'title', 'what it does', 'read-only', 'idempotent', 'parameters (`?` optional)'], rows),
    '',
    'Every tool returns structured content (an output schema) and a short text summary; errors come back as',
    '`{ "error": { "code", "message", "hint" } }` with `isError: true` (see [Errors](#errors)). Every tool is',
    'always listed, so a client that caches the list sees a key added later; a tool whose provider is not',
    'configured (for example `generate_video` without The Director) answers `missing_credentials` with how',
    "to configure it, and `check_credits` shows every provider's state.",
  ].join('\n');
}

/** The path list separator depends on the platform; the README states both. */
function platformNeutral(text: string): string {
  return text.replace(`separated by "${delimiter}"`, 'separated by ":", or ";" on Windows');
}

export function renderConfigTable(docs: typeof CONFIG_DOCS = CONFIG_DOCS): string {
  const rows = docs.map((d) => [
    code(d.name),
    /\s|^\(/.test(d.default) ? cell(d.default) : code(d.default),
    cell(platformNeutral(d.meaning)),
  ]);
  return table(['variable', 'default', 'meaning'], rows);
}

/** The error contract: every code, and every public key of `details`. */
export function renderErrorsTable(): string {
  return [
    'A tool error is `{ "error": { "code", "message", "hint", "details"? } }` with `isError: true`; a CLI',
    'failure is `{ "error", "code", "hint", "missing_key"?, "flag"?, "retry_after_seconds"? }` on stderr.',
    '`code` is one of:',
    '',
    table(
      ['code', 'meaning'],
      Object.entries(ERROR_CODES).map(([c, m]) => [code(c), cell(m)]),
    ),
    '',
    '`details` holds only these keys (snake_case; others never leave the server):',
    '',
    table(
      ['key', 'meaning'],
      Object.entries(DETAIL_KEY_DOCS).map(([k, m]) => [code(k), cell(m)]),
    ),
  ].join('\n');
}

function replaceSection(text: string, marker: string, body: string): string {
  const start = `<!-- ${marker}:start -->`;
  const end = `<!-- ${marker}:end -->`;
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  if (i < 0 || j < i) throw new Error(`README has no ${start} ... ${end} section`);
  return `${text.slice(0, i + start.length)}\n${body}\n${text.slice(j)}`;
}

/** The README with its generated sections rewritten; everything else is left as it is. */
export function renderDocs(readme: string, tools: ListedTool[]): string {
  const withTools = replaceSection(readme, 'tools', renderToolsTable(tools));
  return replaceSection(
    replaceSection(withTools, 'config', renderConfigTable()),
    'errors',
    renderErrorsTable(),
  );
}

/**
 * tools/catalog.ts: the tools exactly as the SDK lists them from their zod schemas. The server answers
 * `tools/list` from it without building or converting a schema (cold start), and imports a tool on its
 * first call; test/ecosystem/docs.test.ts fails when it is not what this renders.
 */
export function renderCatalog(tools: ListedTool[]): string {
  return [
    "// Generated by `npm run docs` (scripts/gen-docs.ts) from the tools' zod schemas, as the SDK lists them.",
    '// Do not edit: change the tool in tools/ and run `npm run docs`; test/ecosystem/docs.test.ts checks it.',
    "import type { Tool } from '@modelcontextprotocol/server';",
    '',
    `export const TOOL_CATALOG: readonly Tool[] = ${JSON.stringify(tools, null, 2)};`,
    '',
  ].join('\n');
}

/** README.md in the source tree (this file runs from dist/scripts/). */
export const README_URL = new URL('../../README.md', import.meta.url);
/** tools/catalog.ts in the source tree. */
export const CATALOG_URL = new URL('../../tools/catalog.ts', import.meta.url);

function rewrite(url: URL, text: string): void {
  const path = fileURLToPath(url);
  let before = '';
  try {
    before = readFileSync(path, 'utf8');
  } catch {}
  const name = path.split(/[\\/]/).slice(-2).join('/');
  if (text === before) console.log(`${name} is up to date.`);
  else {
    writeFileSync(path, text);
    console.log(`${name}: rewritten.`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const tools = await listedTools();
  rewrite(README_URL, renderDocs(readFileSync(fileURLToPath(README_URL), 'utf8'), tools));
  rewrite(CATALOG_URL, renderCatalog(tools));
}
