/**
 * Maps a query answer (gateway or direct envelope) to the project's {@link Snapshot}.
 *
 * Status codes [S]: 1 done, -1 failed, 0 queued, 2 processing; `success: false` at the top level is a
 * failure. Sources disagree on 2, so every unknown value counts as "still in progress" — the JobService's
 * stall detection (same `providerStatus` for 20 polls) and give-up limit bound the wait either way.
 *
 * Never success without a URL: status 1 with no URL anywhere stays `processing` with providerStatus
 * `done-no-url`. The gateway normalises the URL into `data.video_url`, but a result that lands a moment
 * after the status flips (or in a place we don't know) must not be reported as a finished video nobody
 * can download. If it never appears, the unchanged providerStatus makes the job `stalled` after 20 polls
 * and the user is told — honest, and nothing is charged again.
 */
import type { JsonObject, Snapshot, TaskStatus } from '../provider.js';
import { bodyMessage, isObj, SERVICE, scrub } from './text.js';

const HTTP_URL = /^https?:\/\/\S+$/i;

function firstUrl(v: unknown): string | undefined {
  if (typeof v === 'string') return HTTP_URL.test(v.trim()) ? v.trim() : undefined;
  if (Array.isArray(v)) {
    for (const item of v) {
      const found = firstUrl(item) ?? (isObj(item) ? firstUrl(item.url ?? item.video_url) : undefined);
      if (found) return found;
    }
  }
  return undefined;
}

/** The video URL, in the order of trust: the gateway's normalised field, then the raw shapes. */
export function findVideoUrl(data: Record<string, unknown>): string | undefined {
  const output = isObj(data.output) ? data.output : {};
  const direct = firstUrl(data.video_url) ?? firstUrl(data.output_urls) ?? firstUrl(output.video_url);
  if (direct) return direct;
  if (Array.isArray(data.tool_results)) {
    for (const r of data.tool_results) {
      if (!isObj(r)) continue;
      const found = firstUrl(r.result) ?? firstUrl(r.video_url) ?? firstUrl(r.url);
      if (found) return found;
    }
  }
  // [I] Seen in other tool answers; harmless to accept.
  return firstUrl(data.result_url) ?? firstUrl(output.url) ?? firstUrl(output.urls);
}

function findCoverUrl(data: Record<string, unknown>): string | undefined {
  const output = isObj(data.output) ? data.output : {};
  return firstUrl(data.cover_url) ?? firstUrl(data.thumbnail_url) ?? firstUrl(output.cover_url);
}

/** Normalises the raw status to a string key: '1', '-1', '0', '2', or the backend's own word. */
export function rawStatus(data: Record<string, unknown>): string {
  const s = data.status;
  if (typeof s === 'number') return String(s);
  if (typeof s === 'string' && s.trim()) return s.trim().toLowerCase();
  return 'missing';
}

const WORDS: Record<string, TaskStatus> = {
  '1': 'success',
  completed: 'success',
  complete: 'success',
  success: 'success',
  succeeded: 'success',
  done: 'success',
  '-1': 'failed',
  failed: 'failed',
  failure: 'failed',
  error: 'failed',
  cancelled: 'failed',
  canceled: 'failed',
  '0': 'pending',
  queued: 'pending',
  pending: 'pending',
  waiting: 'pending',
  '2': 'processing',
  processing: 'processing',
  running: 'processing',
  in_progress: 'processing',
};

function progressOf(data: Record<string, unknown>): number | undefined {
  const p = typeof data.progress === 'number' ? data.progress : Number(data.progress);
  if (!Number.isFinite(p) || p < 0) return undefined;
  return p > 1 ? Math.min(1, p / 100) : p;
}

/** Turns one query answer into a snapshot. `extra` (model, fallback note...) is added to every snapshot. */
export function toSnapshot(body: unknown, extra: JsonObject): Snapshot {
  if (!isObj(body)) {
    return { status: 'processing', providerStatus: 'unreadable', extra };
  }
  const data = isObj(body.data) ? body.data : {};
  if (body.success === false) {
    const reason = bodyMessage(body);
    return {
      status: 'failed',
      providerStatus: 'success-false',
      extra,
      error: {
        message: `${SERVICE} reported the generation as failed${reason ? `: ${reason}` : ''}.`,
        code: 'provider_failed',
      },
    };
  }
  const raw = rawStatus(data);
  const mapped = WORDS[raw] ?? 'processing';
  const snap: Snapshot = { status: mapped, providerStatus: raw, extra };
  const progress = progressOf(data);
  if (progress !== undefined) snap.progress = progress;
  if (mapped === 'failed') {
    const reason = bodyMessage({ data });
    snap.error = {
      message: `${SERVICE} could not generate the video${reason ? `: ${reason}` : ''}.`,
      code: 'provider_failed',
    };
    return snap;
  }
  if (mapped === 'success') {
    const url = findVideoUrl(data);
    if (!url) {
      snap.status = 'processing';
      snap.providerStatus = 'done-no-url';
      snap.message = `${SERVICE} reports the video as done but has not given its address yet; still checking.`;
      return snap;
    }
    snap.resultUrl = url;
    const cover = findCoverUrl(data);
    if (cover) snap.coverUrl = cover;
    const duration = Number(data.duration ?? data.duration_seconds);
    if (Number.isFinite(duration) && duration > 0) snap.durationSeconds = duration;
  }
  const note =
    typeof data.message === 'string' && mapped === 'success' ? scrub(data.message, 500) : undefined;
  if (note) snap.message = note;
  return snap;
}
