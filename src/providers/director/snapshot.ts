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
import { SERVICE, scrub } from './text.js';
import { readTranscript, transcriptExtra } from './transcript.js';
import { type AnswerData, bodyMessage, dataOf, readEnvelope, type UrlList } from './wire.js';

const HTTP_URL = /^https?:\/\/\S+$/i;

/** The first http(s) URL of a URL field (a string, or a list of strings or `{url|video_url}`). */
function firstUrl(list: UrlList): string | undefined {
  for (const item of list ?? []) {
    const candidate = typeof item === 'string' ? item : (item?.url ?? item?.video_url);
    if (candidate && HTTP_URL.test(candidate.trim())) return candidate.trim();
  }
  return undefined;
}

/** What a task produces; picks the URL fields looked at first and the words of messages. */
export type ResultMedia = 'video' | 'image' | 'audio' | 'transcript';

/**
 * [I] Tier 3 answers: the gateway is documented to normalise into `data.video_url` for videos; an image
 * or audio answer may use `image_url` / `audio_url` (top level, under `output`, or in tool results), so
 * those are read first for their media, then every video shape.
 */
export function findResultUrl(data: AnswerData, media: ResultMedia): string | undefined {
  if (media === 'image') {
    const found =
      firstUrl(data.image_url) ??
      firstUrl(data.image_urls) ??
      firstUrl(data.output?.image_url) ??
      (data.tool_results ?? []).map((r) => firstUrl(r.image_url)).find(Boolean);
    if (found) return found;
  }
  if (media === 'audio') {
    const found =
      firstUrl(data.audio_url) ??
      firstUrl(data.output?.audio_url) ??
      (data.tool_results ?? []).map((r) => firstUrl(r.audio_url)).find(Boolean);
    if (found) return found;
  }
  return findVideoUrl(data) ?? firstUrl(data.image_url) ?? firstUrl(data.audio_url);
}

/** The video URL, in the order of trust: the gateway's normalised field, then the raw shapes. */
export function findVideoUrl(data: AnswerData): string | undefined {
  const direct = firstUrl(data.video_url) ?? firstUrl(data.output_urls) ?? firstUrl(data.output?.video_url);
  if (direct) return direct;
  for (const r of data.tool_results ?? []) {
    const found = firstUrl(r.result) ?? firstUrl(r.video_url) ?? firstUrl(r.url);
    if (found) return found;
  }
  // [I] Seen in other tool answers; harmless to accept.
  return firstUrl(data.result_url) ?? firstUrl(data.output?.url) ?? firstUrl(data.output?.urls);
}

function findCoverUrl(data: AnswerData): string | undefined {
  return firstUrl(data.cover_url) ?? firstUrl(data.thumbnail_url) ?? firstUrl(data.output?.cover_url);
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

function progressOf(data: AnswerData): number | undefined {
  const p = data.progress;
  if (p === undefined || p < 0) return undefined;
  return p > 1 ? Math.min(1, p / 100) : p;
}

/** Turns one query answer into a snapshot. `extra` (model, fallback note...) is added to every snapshot. */
export function toSnapshot(body: unknown, extra: JsonObject, media: ResultMedia = 'video'): Snapshot {
  const noun = media === 'transcript' ? 'transcript' : media;
  const env = readEnvelope(body);
  if (!env) return { status: 'processing', providerStatus: 'unreadable', extra };
  if (env.success === false) {
    const reason = bodyMessage(body);
    return {
      status: 'failed',
      providerStatus: 'success-false',
      extra,
      error: {
        message: `${SERVICE} reported the ${media === 'video' ? 'generation' : `${noun} job`} as failed${reason ? `: ${reason}` : ''}.`,
        code: 'provider_failed',
      },
    };
  }
  const data = dataOf(env);
  const raw = data.status ?? 'missing';
  const mapped = WORDS[raw] ?? 'processing';
  const snap: Snapshot = { status: mapped, providerStatus: raw, extra };
  const progress = progressOf(data);
  if (progress !== undefined) snap.progress = progress;
  if (mapped === 'failed') {
    const reason = bodyMessage({ data });
    snap.error = {
      message: `${SERVICE} could not ${media === 'video' ? 'generate' : 'make'} the ${noun}${reason ? `: ${reason}` : ''}.`,
      code: 'provider_failed',
    };
    return snap;
  }
  if (mapped === 'success') {
    const url = findResultUrl(data, media);
    const transcript = media === 'transcript' ? readTranscript(data) : undefined;
    if (transcript) snap.extra = { ...extra, ...transcriptExtra(transcript) };
    if (!url && !transcript) {
      snap.status = 'processing';
      snap.providerStatus = 'done-no-url';
      snap.message = `${SERVICE} reports the ${noun} as done but has not given its address yet; still checking.`;
      return snap;
    }
    if (url) snap.resultUrl = url;
    const cover = findCoverUrl(data);
    if (cover) snap.coverUrl = cover;
    const duration = data.duration ?? data.duration_seconds;
    if (duration !== undefined && duration > 0) snap.durationSeconds = duration;
    if (data.message) snap.message = scrub(data.message, 500);
  }
  return snap;
}
