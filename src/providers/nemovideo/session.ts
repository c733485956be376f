/**
 * NemoVideo sessions: create one, upload into one, read its state. All free calls (no credits).
 */
import { openAsBlob } from 'node:fs';
import { AppError } from '../../errors.js';
import { FormData } from '../../http/client.js';
import { checkTaskId } from '../ids.js';
import type { InputRole, JsonObject, ResolvedInput, UploadResult } from '../provider.js';
import type { NemoApi } from './api.js';
import { NEMO_CODE } from './errors.js';
import { sessionSchema, uploadedFileSchema, uploadSchema } from './schemas.js';
import { parseState, type SessionState } from './state.js';

/** Upload requests get this much time per MB on top of a base, so big files are not cut off. */
const UPLOAD_BASE_MS = 60_000;
const UPLOAD_MS_PER_MB = 1_000;
/** A URL upload makes NemoVideo fetch the file; give it time. */
const URL_UPLOAD_MS = 120_000;

export class NemoSessions {
  constructor(private readonly api: NemoApi) {}

  /** `POST /api/tasks/me/with-session/nemo_agent` -> session id. */
  async create(signal?: AbortSignal): Promise<string> {
    const { data } = await this.api.call({
      method: 'POST',
      path: '/api/tasks/me/with-session/nemo_agent',
      json: { task_name: 'project', language: 'en' },
      action: 'creating a session',
      signal,
    });
    const session = sessionSchema.safeParse(data);
    if (!session.success) {
      throw new AppError('provider_failed', 'NemoVideo created a session but did not return its id.', {
        hint: 'Try again later; if it repeats, NemoVideo may have changed its API.',
      });
    }
    return session.data.session_id;
  }

  /** Session state; a vanished session becomes a `not_found` error that names it. */
  async state(sessionId: string, signal?: AbortSignal): Promise<SessionState> {
    try {
      const { data } = await this.api.call({
        method: 'GET',
        path: `/api/state/nemo_agent/me/${encodeURIComponent(checkTaskId(sessionId, 'NemoVideo session id'))}/latest`,
        action: 'reading the session state',
        signal,
      });
      return parseState(data);
    } catch (err) {
      throw isSessionGone(err) ? sessionGoneError(sessionId, err) : err;
    }
  }

  /** Uploads a local file (streamed from disk) or registers a URL in the session. */
  async upload(
    input: ResolvedInput,
    role: InputRole,
    sessionId: string,
    signal?: AbortSignal,
  ): Promise<UploadResult> {
    const path = `/api/upload-video/nemo_agent/me/${encodeURIComponent(checkTaskId(sessionId, 'NemoVideo session id'))}`;
    const action = `uploading the ${role} "${input.filename}"`;
    const { data } =
      input.type === 'file'
        ? await this.api.call({
            method: 'POST',
            path,
            // openAsBlob reads lazily from disk: the file is streamed, never held in memory.
            form: async () => {
              const form = new FormData();
              form.append('files', await openAsBlob(input.path, { type: input.mime }), input.filename);
              return form;
            },
            action,
            filename: input.filename,
            signal,
            timeoutMs: UPLOAD_BASE_MS + Math.ceil(input.size / 1_000_000) * UPLOAD_MS_PER_MB,
          })
        : await this.api.call({
            method: 'POST',
            path,
            json: { urls: [input.url], source_type: 'url' },
            action,
            filename: input.filename,
            signal,
            timeoutMs: URL_UPLOAD_MS,
          });
    return uploadResult(data, input.filename);
  }

  /** Re-registers an already uploaded CDN URL in another session (after the first one vanished). */
  async registerUrl(url: string, role: InputRole, sessionId: string, signal?: AbortSignal): Promise<string> {
    const filename = url.split(/[?#]/)[0]?.split('/').pop() || role;
    const res = await this.upload(
      { type: 'url', url, filename, mime: 'application/octet-stream' },
      role,
      sessionId,
      signal,
    );
    return res.url;
  }
}

function uploadResult(data: unknown, filename: string): UploadResult {
  const files = uploadSchema.safeParse(data);
  const first = uploadedFileSchema.safeParse(files.success ? files.data.files[0] : undefined);
  const url = first.success ? (first.data.cdn_url ?? first.data.url) : undefined;
  if (!first.success || !url) {
    throw new AppError(
      'provider_failed',
      `NemoVideo accepted the upload of "${filename}" but returned no file URL.`,
      {
        hint: 'Try again; if it repeats, check the file plays locally and is in a supported format.',
      },
    );
  }
  const meta: JsonObject = {};
  for (const k of ['duration', 'width', 'height', 'fps'] as const) {
    const v = first.data[k];
    if (v !== undefined && v !== null) meta[k] = v;
  }
  return { url, meta };
}

export function isSessionGone(err: unknown): boolean {
  return err instanceof AppError && err.details?.provider_code === NEMO_CODE.sessionNotFound;
}

export function sessionGoneError(sessionId: string, cause: unknown): AppError {
  return new AppError('not_found', `NemoVideo session ${sessionId} no longer exists.`, {
    hint: 'Sessions expire: start again without session_id (pass the video again) to work in a new session.',
    details: { provider_code: NEMO_CODE.sessionNotFound, session_id: sessionId },
    cause,
  });
}
