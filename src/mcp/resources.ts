/**
 * Tasks as MCP resources, read from the ledger (never a provider request):
 * - `lipsync://tasks/{task_id}`: the same JSON as get_task_status;
 * - `lipsync://tasks/{task_id}/mouth-cues.{format}` (json | tsv): a finished local task's mouth cues.
 * `resources/list` pages through the ledger, newest first (opaque cursor).
 */
import { readFile, realpath, stat } from 'node:fs/promises';
import { extname, isAbsolute, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ListResourcesResult, McpServer, Resource } from '@modelcontextprotocol/server';
import { ProtocolError, ProtocolErrorCode, ResourceTemplate } from '@modelcontextprotocol/server';
import type { App } from '../app.js';
import type { TaskRow } from '../jobs/store.js';
import type { Completer } from './completion.js';

export const TASK_TEMPLATE = 'lipsync://tasks/{task_id}';
export const CUES_TEMPLATE = 'lipsync://tasks/{task_id}/mouth-cues.{format}';
/** A local task's videos as blobs (`result`, and `original`: its input video), for the viewer. */
export const MEDIA_TEMPLATE = 'lipsync://tasks/{task_id}/media/{which}';
/** Larger videos are not sent inline: download_result saves them. */
const MAX_MEDIA_BYTES = 64 * 1024 * 1024;
const PAGE = 50;
/** MCP's "resource not found" error code. */
const RESOURCE_NOT_FOUND = -32002;

export const taskUri = (id: string) => `lipsync://tasks/${encodeURIComponent(id)}`;
export const cuesUri = (id: string, format: 'json' | 'tsv') => `${taskUri(id)}/mouth-cues.${format}`;

/** The task a resource URI names, or undefined. */
export function taskIdOf(uri: string): string | undefined {
  const m = /^lipsync:\/\/tasks\/([^/]+)(?:\/mouth-cues\.(?:json|tsv))?$/.exec(uri);
  return m?.[1] ? decodeURIComponent(m[1]) : undefined;
}

type ResourceApp = Pick<App, 'ledger' | 'jobs' | 'redactor' | 'config'>;

export function registerTaskResources(
  server: McpServer,
  app: ResourceApp,
  completer: Completer,
  fixed: Resource[],
): void {
  const taskTemplate = new ResourceTemplate(TASK_TEMPLATE, {
    list: undefined,
    complete: { task_id: (v) => app.ledger.idsStartingWith(v, 100) },
  });
  server.registerResource(
    'task',
    taskTemplate,
    {
      title: 'Lip-sync task',
      description:
        'A task: the same JSON as get_task_status, read from the local ledger. Subscribe to follow it.',
      mimeType: 'application/json',
    },
    async (uri, vars) => {
      const row = await findRow(app, String(vars.task_id));
      const view = app.redactor.redactJson(app.jobs.viewOf(row));
      return {
        contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(view, null, 2) }],
      };
    },
  );
  const cuesTemplate = new ResourceTemplate(CUES_TEMPLATE, {
    list: undefined,
    complete: { task_id: (v) => app.ledger.idsStartingWith(v, 100), format: () => ['json', 'tsv'] },
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
  registerMedia(server, app);
  completer.template(TASK_TEMPLATE, { args: { task_id: 'task_id' } });
  completer.template(CUES_TEMPLATE, { args: { task_id: 'task_id' } });
  server.server.setRequestHandler('resources/list', async (req) => listPage(app, fixed, req.params?.cursor));
}

/** One page of resources: the fixed ones first, then tasks (and their cues), newest first. */
export async function listPage(
  app: ResourceApp,
  fixed: Resource[],
  cursor: string | undefined,
): Promise<ListResourcesResult> {
  let offset = 0;
  if (cursor !== undefined) {
    offset = Number(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (!Number.isInteger(offset) || offset < 0)
      throw new ProtocolError(
        ProtocolErrorCode.InvalidParams,
        'Invalid cursor: pass back the nextCursor of resources/list.',
      );
  }
  const rows = await app.ledger.pageAt(offset, PAGE + 1);
  const resources: Resource[] = offset === 0 ? [...fixed] : [];
  for (const row of rows.slice(0, PAGE)) resources.push(...rowResources(app, row));
  const more = rows.length > PAGE;
  return {
    resources,
    ...(more ? { nextCursor: Buffer.from(String(offset + PAGE)).toString('base64url') } : {}),
  };
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

async function findRow(app: ResourceApp, id: string): Promise<TaskRow> {
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

const VIDEO_TYPES: Record<string, string> = {
  '.mp4': 'video/mp4',
  '.mov': 'video/quicktime',
  '.webm': 'video/webm',
};

/** Where a local task's result (inside the output folder) or input video (inside the allowed folders) is. */
function mediaPath(
  app: ResourceApp,
  row: TaskRow,
  which: string,
): { path: string; dirs: string[] } | undefined {
  if (row.provider !== 'local') return undefined;
  if (which === 'result') {
    const url = row.status === 'success' ? row.snapshot?.resultUrl : undefined;
    if (!url?.startsWith('file:')) return undefined;
    return { path: fileURLToPath(url), dirs: [app.config.outputDir] };
  }
  if (which === 'original') {
    const video = (row.request.inputs as { video?: { type?: string; path?: string } } | undefined)?.video;
    if (video?.type !== 'file' || !video.path) return undefined;
    return { path: video.path, dirs: app.config.inputDirs };
  }
  return undefined;
}

function registerMedia(server: McpServer, app: ResourceApp): void {
  const template = new ResourceTemplate(MEDIA_TEMPLATE, {
    list: undefined,
    complete: { which: () => ['result', 'original'] },
  });
  server.registerResource(
    'task_media',
    template,
    {
      title: 'Local task video',
      description:
        "A local task's result or original video (up to 64 MiB), as a blob. For larger ones use download_result.",
    },
    async (uri, vars) => {
      const row = await findRow(app, String(vars.task_id));
      const where = mediaPath(app, row, String(vars.which));
      const real = where ? await realInside(where.path, where.dirs) : undefined;
      const mimeType = real ? VIDEO_TYPES[extname(real).toLowerCase()] : undefined;
      if (!real || !mimeType)
        throw notFound(`Task ${row.id} has no local ${String(vars.which)} video to show.`);
      if ((await stat(real)).size > MAX_MEDIA_BYTES)
        throw notFound('The video is larger than 64 MiB: save it with download_result instead.');
      return { contents: [{ uri: uri.href, mimeType, blob: (await readFile(real)).toString('base64') }] };
    },
  );
}

const notFound = (message: string) => new ProtocolError(RESOURCE_NOT_FOUND, message);
