/**
 * Tasks as MCP resources, read from the ledger (never a provider request):
 * - `lipsync://tasks/{task_id}`: the same JSON as get_task_status, plus `cost` (what list_tasks shows;
 *   `free` for a free job) — the result viewer shows it;
 * - `lipsync://tasks/{task_id}/mouth-cues.{format}` (json | tsv): a finished local task's mouth cues.
 * - `lipsync://tasks/{task_id}/media/{which}{?offset,length}`: a local task's videos (media.ts).
 * `resources/list` pages through the ledger, newest first (opaque cursor).
 */
import { readFile, realpath } from 'node:fs/promises';
import { isAbsolute, relative } from 'node:path';
import type { ListResourcesResult, McpServer, Resource } from '@modelcontextprotocol/server';
import { ProtocolError, ProtocolErrorCode, ResourceTemplate } from '@modelcontextprotocol/server';
import type { App } from '../app.js';
import { encodeCursor, parseCursor } from '../jobs/cursor.js';
import type { TaskRow } from '../jobs/store.js';
import { inTurn } from '../jobs/turns.js';
import type { Completer } from './completion.js';
import { MEDIA_TEMPLATE, registerMedia, type TakenHook } from './media.js';

export const TASK_TEMPLATE = 'lipsync://tasks/{task_id}';
export const CUES_TEMPLATE = 'lipsync://tasks/{task_id}/mouth-cues.{format}';
const PAGE = 50;
/** MCP's "resource not found" error code. */
const RESOURCE_NOT_FOUND = -32002;

export const taskUri = (id: string) => `lipsync://tasks/${encodeURIComponent(id)}`;
export const cuesUri = (id: string, format: 'json' | 'tsv') => `${taskUri(id)}/mouth-cues.${format}`;

/**
 * The task a resource URI names (a task, its mouth cues or its media); invalid params when the URI
 * names none of ours or is not well formed.
 */
export function taskIdOf(uri: string): string {
  const m = /^lipsync:\/\/tasks\/([^/]+)(?:\/mouth-cues\.(?:json|tsv)|\/media\/(?:result|original))?$/.exec(
    uri,
  );
  if (!m?.[1])
    throw new ProtocolError(
      ProtocolErrorCode.InvalidParams,
      `The URI ${clip(uri)} names no task: use lipsync://tasks/<task_id> (resources/list shows them).`,
    );
  return decodeId(m[1]);
}

/** A task id from its URI form (percent-encoded); invalid params when the encoding is broken. */
export function decodeId(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new ProtocolError(
      ProtocolErrorCode.InvalidParams,
      `The URI has a broken percent-encoding (${clip(raw)}): encode the task id as resources/list does.`,
    );
  }
}

const clip = (s: string) => (s.length > 80 ? `${s.slice(0, 80)}…` : s);

type ResourceApp = Pick<App, 'ledger' | 'jobs' | 'redactor' | 'config' | 'clock'>;

export function registerTaskResources(
  server: McpServer,
  app: ResourceApp,
  completer: Completer,
  fixed: Resource[],
  taken?: TakenHook,
): void {
  const taskTemplate = new ResourceTemplate(TASK_TEMPLATE, {
    list: undefined,
  });
  server.registerResource(
    'task',
    taskTemplate,
    {
      title: 'Lip-sync task',
      description:
        'A task: the same JSON as get_task_status plus its cost, read from the local ledger. Subscribe to follow it.',
      mimeType: 'application/json',
    },
    async (uri, vars) => {
      const row = await findRow(app, String(vars.task_id));
      const view = app.redactor.redactJson(await app.jobs.withCost(app.jobs.viewOf(row)));
      return {
        contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(view, null, 2) }],
      };
    },
  );
  const cuesTemplate = new ResourceTemplate(CUES_TEMPLATE, {
    list: undefined,
  });
  server.registerResource(
    'mouth_cues',
    cuesTemplate,
    {
      title: 'Mouth cues',
      description: "A finished local task's mouth cues (Rhubarb format): .json or .tsv.",
    },
    async (uri, vars) => {
      const row = await findRow(app, String(vars.task_id));
      const format = String(vars.format);
      const path = cuePath(row, format);
      if (!path)
        throw notFound(`Task ${row.id} has no mouth cues as ${format} (only finished local tasks do).`);
      const text = await readInside(path, app.config.outputDir);
      const mimeType = format === 'json' ? 'application/json' : 'text/tab-separated-values';
      return { contents: [{ uri: uri.href, mimeType, text }] };
    },
  );
  registerMedia(server, app, (id) => findRow(app, id), taken);
  // Completion of every template's variables is served by the Completer (completion.ts).
  completer.template(TASK_TEMPLATE, { args: { task_id: 'task_id' } });
  completer.template(CUES_TEMPLATE, { args: { task_id: 'task_id', format: ['json', 'tsv'] } });
  completer.template(MEDIA_TEMPLATE, { args: { task_id: 'task_id', which: ['result', 'original'] } });
  server.server.setRequestHandler('resources/list', async (req) =>
    inTurn(() => listPage(app, fixed, req.params?.cursor)),
  );
}

/** One page of resources: the fixed ones first, then tasks (and their cues), newest first. */
export async function listPage(
  app: ResourceApp,
  fixed: Resource[],
  cursor: string | undefined,
): Promise<ListResourcesResult> {
  const after = cursor === undefined ? undefined : parseCursor(cursor);
  if (cursor !== undefined && !after)
    throw new ProtocolError(
      ProtocolErrorCode.InvalidParams,
      'Invalid cursor: pass back the nextCursor of resources/list unchanged, or none for the first page.',
    );
  // Keyset paging along an index: a deep page costs what the first one does.
  const page = await app.ledger.page({ limit: PAGE, after });
  const resources: Resource[] = after ? [] : [...fixed];
  for (const row of page.rows) resources.push(...rowResources(app, row));
  return { resources, ...(page.next ? { nextCursor: encodeCursor(page.next) } : {}) };
}

function rowResources(app: ResourceApp, row: TaskRow): Resource[] {
  const view = app.jobs.viewOf(row);
  const out: Resource[] = [
    {
      uri: taskUri(row.id),
      name: `task ${row.id}`,
      title: `${row.provider} ${row.kind.replace('_', ' ')}: ${view.status}`,
      description: `Task ${row.id} (${row.provider}, ${row.kind}), ${view.status}, created ${view.created_at}.`,
      mimeType: 'application/json',
    },
  ];
  for (const format of ['json', 'tsv'] as const)
    if (cuePath(row, format))
      out.push({
        uri: cuesUri(row.id, format),
        name: `mouth cues ${row.id}.${format}`,
        description: `Mouth cues of local task ${row.id} (Rhubarb ${format.toUpperCase()}).`,
        mimeType: format === 'json' ? 'application/json' : 'text/tab-separated-values',
      });
  return out;
}

/** The task a URI variable names (still percent-encoded: the SDK's template match does not decode). */
async function findRow(app: ResourceApp, raw: string): Promise<TaskRow> {
  const id = decodeId(raw);
  const row = await app.ledger.get(id);
  if (!row || row.rejected) throw notFound(`No task ${id} in the ledger. list_tasks shows recent tasks.`);
  return row;
}

/** Where a finished local task's cues are (the engine records the paths in the snapshot). */
function cuePath(row: TaskRow, format: string): string | undefined {
  if (row.status !== 'success') return undefined;
  const key = format === 'json' ? 'mouth_cues_json' : format === 'tsv' ? 'mouth_cues_tsv' : undefined;
  const p = key ? row.snapshot?.extra?.[key] : undefined;
  return typeof p === 'string' && p ? p : undefined;
}

/** Reads a text file only if it really lies inside `dir` (no symlink out). */
async function readInside(path: string, dir: string): Promise<string> {
  const real = await realInside(path, [dir]);
  if (!real) throw notFound('The mouth-cue file is no longer in the output folder.');
  return readFile(real, 'utf8');
}

/** The real path of `path` if it lies inside one of `dirs` (by real path), else undefined. */
async function realInside(path: string, dirs: string[]): Promise<string | undefined> {
  const real = await realpath(path).catch(() => undefined);
  if (!real) return undefined;
  for (const d of dirs) {
    const base = await realpath(d).catch(() => undefined);
    if (!base) continue;
    const rel = relative(base, real);
    if (rel && !rel.startsWith('..') && !isAbsolute(rel)) return real;
  }
  return undefined;
}

const notFound = (message: string) => new ProtocolError(RESOURCE_NOT_FOUND, message);
