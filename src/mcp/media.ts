/**
 * A local task's videos as resources (issue 24): `lipsync://tasks/{task_id}/media/{which}{?offset,length}`
 * (`which`: `result`, or `original`, its input video). No message may come near the 10 MiB a stdio
 * client accepts, so a read answers at most RANGE_BYTES raw bytes (about 5.6 MB as base64 JSON):
 *  - with `offset` (and `length`, default and at most RANGE_BYTES): that byte range as a blob, with
 *    `_meta["lipsync/media"] = { size, offset, length, next? }` on the content and the result;
 *  - without: the whole file as a blob when it fits in one range, else a JSON text that gives the size,
 *    the range URIs to read in order, and `download_result` (and where the file already is).
 * The file is opened by the input rules (media-file.ts); the bytes count against a media budget from
 * before they are read until the client has taken the answer (media-budget.ts, `taken`).
 */
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { McpServer, ReadResourceResult, RequestId, Variables } from '@modelcontextprotocol/server';
import {
  ProtocolError,
  ProtocolErrorCode,
  ResourceTemplate,
  UriTemplate,
} from '@modelcontextprotocol/server';
import type { App } from '../app.js';
import type { TaskRow } from '../jobs/store.js';
import type { Refuse } from '../media/inputs.js';
import type { MediaFile } from '../media/media-file.js';
import { MediaBudget } from './media-budget.js';

export const MEDIA_TEMPLATE = 'lipsync://tasks/{task_id}/media/{which}{?offset,length}';
/** Largest range one read answers, raw bytes (4 MiB: about 5.6 MB once base64 and JSON). */
export const RANGE_BYTES = 4 * 1024 * 1024;
/** MCP's "resource not found" error code. */
const RESOURCE_NOT_FOUND = -32002;
const META_KEY = 'lipsync/media';

const VIDEO_TYPES: Record<string, string> = {
  '.mp4': 'video/mp4',
  '.mov': 'video/quicktime',
  '.webm': 'video/webm',
};

export const mediaUri = (id: string, which: string, range?: { offset: number; length?: number }) =>
  `lipsync://tasks/${encodeURIComponent(id)}/media/${which}` +
  (range ? `?offset=${range.offset}${range.length !== undefined ? `&length=${range.length}` : ''}` : '');

/** The template as listed, matched leniently: the query is optional, its parameters in any order. */
class MediaUriTemplate extends UriTemplate {
  override match(uri: string): Variables | null {
    const m = /^lipsync:\/\/tasks\/([^/?#]+)\/media\/([^/?#]+)(?:\?([^#]*))?$/.exec(uri);
    if (!m) return null;
    const vars: Variables = { task_id: m[1] as string, which: m[2] as string };
    for (const [k, v] of new URLSearchParams(m[3] ?? '')) if (k === 'offset' || k === 'length') vars[k] = v;
    return vars;
  }
}

/** When the client has taken the answer to `requestId` (stdio: written out; HTTP: response finished). */
export type TakenHook = (requestId: RequestId, signal?: AbortSignal) => Promise<void>;

export type MediaApp = Pick<App, 'ledger' | 'config' | 'clock'>;

/**
 * The most one read answers: RANGE_BYTES, or less where the in-flight caps are set lower, so that no
 * single answer holds more than a cap allows (at least 64 KiB).
 */
export function rangeBytes(app: MediaApp): number {
  const m = app.config.media;
  return Math.max(64 * 1024, Math.min(RANGE_BYTES, m.sessionInFlightBytes, m.maxInFlightBytes));
}

const budgets = new WeakMap<object, MediaBudget>();
/**
 * One budget per App: the whole process (every HTTP session's McpServer shares the App). Keyed by its
 * config, which a user's view of the App (OAuth: registerMcpSurface) shares too.
 */
export function mediaBudget(app: MediaApp): MediaBudget {
  let b = budgets.get(app.config);
  if (!b) {
    const m = app.config.media;
    b = new MediaBudget({
      processBytes: m.maxInFlightBytes,
      sessionBytes: m.sessionInFlightBytes,
      waitMs: m.waitMs,
      clock: app.clock,
    });
    budgets.set(app.config, b);
  }
  return b;
}

export function registerMedia(
  server: McpServer,
  app: MediaApp,
  findRow: (id: string) => Promise<TaskRow>,
  taken?: TakenHook,
): void {
  const template = new ResourceTemplate(new MediaUriTemplate(MEDIA_TEMPLATE), {
    list: undefined,
    complete: { which: () => ['result', 'original'] },
  });
  const whenTaken = taken ?? sendTracker(server);
  server.registerResource(
    'task_media',
    template,
    {
      title: 'Local task video',
      description: `A local task's result or original video. A file up to ${RANGE_BYTES / 1048576} MiB is answered as a blob; a larger one answers JSON with its size and the ranges to read (?offset=&length=, at most ${RANGE_BYTES} bytes each), or save it with download_result.`,
    },
    async (uri, vars, ctx) => {
      const row = await findRow(String(vars.task_id));
      const which = String(vars.which);
      const range = parseRange(vars);
      const step = rangeBytes(app);
      const file = await openMedia(app, row, which);
      try {
        const mimeType = VIDEO_TYPES[extname(file.path).toLowerCase()] as string;
        if (!range && file.size > step) return describe(uri.href, row.id, which, file, mimeType, step);
        const offset = range?.offset ?? 0;
        if (offset >= file.size)
          throw new ProtocolError(
            ProtocolErrorCode.InvalidParams,
            `offset ${offset} is past the end of the video (${file.size} bytes).`,
          );
        // A range is cut to what the caps let one read hold (at most RANGE_BYTES); `next` goes on from there.
        const want = Math.min(range?.length ?? step, step, file.size - offset);
        const release = await mediaBudget(app).acquire(ctx.sessionId ?? 'stdio', want);
        let held = false;
        try {
          const bytes = await file.read(offset, want);
          const result = answer(uri.href, row.id, which, mimeType, file.size, offset, bytes, !!range, step);
          holdUntilTaken(whenTaken(ctx.mcpReq.id, ctx.mcpReq.signal), ctx.mcpReq.signal, release);
          held = true;
          return result;
        } finally {
          if (!held) release();
        }
      } finally {
        await file.close();
      }
    },
  );
}

function parseRange(vars: Variables): { offset: number; length?: number } | undefined {
  const num = (name: string): number | undefined => {
    const v = vars[name];
    if (v === undefined) return undefined;
    const s = String(v);
    if (!/^\d{1,15}$/.test(s))
      throw new ProtocolError(
        ProtocolErrorCode.InvalidParams,
        `${name} must be a whole number of bytes, not "${s}".`,
      );
    return Number(s);
  };
  const offset = num('offset');
  const length = num('length');
  // A longer length is answered with what one read holds, and `next` (as an HTTP Range is).
  if (length !== undefined && length < 1)
    throw new ProtocolError(ProtocolErrorCode.InvalidParams, 'length must be at least 1 byte.');
  if (offset === undefined && length === undefined) return undefined;
  return { offset: offset ?? 0, ...(length !== undefined ? { length } : {}) };
}

/** Opens a local task's result (inside the output folder) or input video (inside the input folders). */
async function openMedia(app: MediaApp, row: TaskRow, which: string): Promise<MediaFile> {
  const none = () =>
    new ProtocolError(RESOURCE_NOT_FOUND, `Task ${row.id} has no local ${which} video to show.`);
  if (row.provider !== 'local') throw none();
  let path: string | undefined;
  let dirs: string[] = [];
  if (which === 'result') {
    const url = row.status === 'success' ? row.snapshot?.resultUrl : undefined;
    if (url?.startsWith('file:')) path = fileURLToPath(url);
    dirs = [app.config.outputDir];
  } else if (which === 'original') {
    const video = (row.request.inputs as { video?: { type?: string; path?: string } } | undefined)?.video;
    if (video?.type === 'file' && video.path) path = video.path;
    dirs = app.config.inputDirs;
  }
  if (!path) throw none();
  const refuse: Refuse = (message, hint) =>
    new ProtocolError(RESOURCE_NOT_FOUND, `The ${which} video of task ${row.id}: ${message} ${hint}`, {
      code: 'invalid_input',
      hint,
    });
  const cap = which === 'original' ? app.config.maxInputBytes : Number.MAX_SAFE_INTEGER;
  // The input checks load with the first media read, not at start-up (cold-start test).
  const { openMediaFile } = await import('../media/media-file.js');
  const file = await openMediaFile(path, dirs, cap, refuse);
  if (!VIDEO_TYPES[extname(file.path).toLowerCase()]) {
    await file.close();
    throw none();
  }
  return file;
}

function answer(
  uri: string,
  id: string,
  which: string,
  mimeType: string,
  size: number,
  offset: number,
  bytes: Buffer,
  ranged: boolean,
  step: number,
): ReadResourceResult {
  const end = offset + bytes.length;
  const meta = {
    [META_KEY]: {
      size,
      offset,
      length: bytes.length,
      ...(end < size ? { next: mediaUri(id, which, { offset: end, length: step }) } : {}),
    },
  };
  const content = { uri, mimeType, blob: bytes.toString('base64'), ...(ranged ? { _meta: meta } : {}) };
  return { contents: [content], ...(ranged ? { _meta: meta } : {}) };
}

/** A file larger than one range: where to get it, never its bytes. */
function describe(
  uri: string,
  id: string,
  which: string,
  file: MediaFile,
  mimeType: string,
  step: number,
): ReadResourceResult {
  const ranges: string[] = [];
  for (let o = 0; o < file.size; o += step)
    ranges.push(mediaUri(id, which, { offset: o, length: Math.min(step, file.size - o) }));
  const doc = {
    task_id: id,
    which,
    mime_type: mimeType,
    size: file.size,
    range_bytes: step,
    message:
      `This video is ${(file.size / 1048576).toFixed(1)} MiB, more than one read answers (${(step / 1048576).toFixed(1)} MiB). Read the ranges below in order and join their bytes` +
      (which === 'result' ? ', or save it with download_result.' : '; it is the input file at input_path.'),
    ranges,
    // A local result is already saved in the output folder; download_result copies it where you name.
    ...(which === 'result'
      ? { download: { tool: 'download_result', arguments: { task_id: id } }, saved_path: file.path }
      : { input_path: file.path }),
  };
  return { contents: [{ uri, mimeType: 'application/json', text: JSON.stringify(doc, null, 2) }] };
}

/** Releases the bytes once the answer is taken, or when the request is cancelled (no answer is sent). */
function holdUntilTaken(taken: Promise<void>, signal: AbortSignal, release: () => void): void {
  const done = () => {
    signal.removeEventListener('abort', done);
    release();
  };
  signal.addEventListener('abort', done, { once: true });
  taken.then(done, done);
}

/**
 * For transports whose send() resolves when the message is written out (stdio waits for stdout to
 * drain; in-memory at once): wraps the connected transport's send once, and resolves `taken(id)` when
 * the response to `id` has been sent, or when the transport closes.
 */
function sendTracker(server: McpServer): TakenHook {
  const waiting = new Map<RequestId, () => void>();
  let wrapped: object | undefined;
  return (id, signal) => {
    const transport = server.server.transport;
    if (!transport) return Promise.resolve();
    if (wrapped !== transport) {
      wrapped = transport;
      const send = transport.send.bind(transport);
      transport.send = async (message, options) => {
        try {
          await send(message, options);
        } finally {
          if ('id' in message && !('method' in message) && message.id !== undefined)
            waiting.get(message.id)?.();
        }
      };
      const onclose = transport.onclose;
      transport.onclose = () => {
        for (const done of waiting.values()) done();
        onclose?.();
      };
    }
    return new Promise<void>((resolve) => {
      const done = () => {
        waiting.delete(id);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      waiting.set(id, done);
      // A cancelled request gets no answer: forget it.
      signal?.addEventListener('abort', done, { once: true });
    });
  };
}
