/**
 * `npm run docs`: regenerates the README's tool, configuration and error tables from the tool list
 * (tools/index.ts), the settings table (src/config.ts) and the error contract (src/errors.ts). Only the
 * text between the `<!-- NAME:start -->`/`<!-- NAME:end -->` markers (tools, config, errors) is
 * rewritten. `renderDocs` is pure, so a test can check that the README has not drifted.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { delimiter } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ZodTypeAny } from 'zod';
import { CONFIG_DOCS } from '../src/config.js';
import { DETAIL_KEY_DOCS, ERROR_CODES } from '../src/errors.js';
import type { AnyTool } from '../tools/define.js';
import { ALL_TOOLS } from '../tools/index.js';

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

/** A short type name for a zod schema: string, number, boolean, or an enum's values. */
function describeType(schema: ZodTypeAny): { type: string; optional: boolean } {
  let s: ZodTypeAny = schema;
  let optional = false;
  for (let i = 0; i < 10; i++) {
    const def = s._def as { typeName?: string; innerType?: ZodTypeAny; schema?: ZodTypeAny };
    if (def.typeName === 'ZodOptional' || def.typeName === 'ZodDefault' || def.typeName === 'ZodNullable') {
      optional = true;
      s = def.innerType as ZodTypeAny;
    } else if (def.typeName === 'ZodEffects' && def.schema) {
      s = def.schema;
    } else break;
  }
  const def = s._def as { typeName?: string; values?: readonly string[]; type?: ZodTypeAny };
  switch (def.typeName) {
    case 'ZodString':
      return { type: 'string', optional };
    case 'ZodNumber':
      return { type: 'number', optional };
    case 'ZodBoolean':
      return { type: 'boolean', optional };
    case 'ZodEnum':
      return { type: (def.values ?? []).join('/'), optional };
    case 'ZodArray':
      return { type: `${def.type ? describeType(def.type).type : 'value'}[]`, optional };
    case 'ZodObject':
      return { type: 'object', optional };
    case 'ZodUnion': {
      const options = (s._def as { options: ZodTypeAny[] }).options;
      return { type: options.map((o) => describeType(o).type).join(' or '), optional };
    }
    case 'ZodLiteral':
      return { type: JSON.stringify((s._def as { value: unknown }).value), optional };
    default:
      return { type: 'value', optional };
  }
}

export function toolParams(tool: AnyTool): Param[] {
  return Object.entries(tool.input as Record<string, ZodTypeAny>).map(([name, schema]) => ({
    name,
    ...describeType(schema),
  }));
}

function renderParams(tool: AnyTool): string {
  const params = toolParams(tool);
  if (!params.length) return '—';
  // Required parameters first, in declaration order.
  const sorted = [...params.filter((p) => !p.optional), ...params.filter((p) => p.optional)];
  return sorted.map((p) => `${code(p.name)}${p.optional ? '?' : ''} (${p.type})`).join(', ');
}

export function renderToolsTable(tools: AnyTool[] = ALL_TOOLS): string {
  const yes = (b: boolean) => (b ? 'yes' : 'no');
  const rows = tools.map((t) => [
    code(t.name),
    cell(t.title),
    cell(firstSentence(t.description)),
    yes(t.annotations.readOnlyHint),
    yes(t.annotations.idempotentHint),
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
    'failure is `{ "error", "code", "hint", "missing_key"?, "flag"? }` on stderr. `code` is one of:',
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
export function renderDocs(readme: string): string {
  const withTools = replaceSection(readme, 'tools', renderToolsTable());
  return replaceSection(
    replaceSection(withTools, 'config', renderConfigTable()),
    'errors',
    renderErrorsTable(),
  );
}

/** README.md in the source tree (this file runs from dist/scripts/). */
export const README_URL = new URL('../../README.md', import.meta.url);

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const path = fileURLToPath(README_URL);
  const before = readFileSync(path, 'utf8');
  const after = renderDocs(before);
  if (after === before) console.log('README.md is up to date.');
  else {
    writeFileSync(path, after);
    console.log('README.md: generated sections rewritten.');
  }
}
