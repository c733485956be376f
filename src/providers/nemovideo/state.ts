/**
 * Reading a NemoVideo session state (`GET /api/state/nemo_agent/me/{sid}/latest`). The draft uses short
 * keys — `t` tracks, `tt` type (0 video, 1 audio, 7 text), `sg` segments, `d` duration in ms — which we
 * turn into a small summary a person (or model) can read, instead of passing raw draft JSON around.
 * `generated_media` has no documented shape, so results are found by looking for URL-ish fields.
 */
import type { JsonObject } from '../provider.js';
import { isObj, type Obj } from './api.js';
import { FORMATS } from './errors.js';
import { draftSchema, segmentSchema, stateSchema, type Track, trackSchema } from './schemas.js';

export type TrackType = 'video' | 'audio' | 'text' | 'other';

export interface TrackSummary {
  type: TrackType;
  segments: number;
  duration_s: number;
}

export interface StateSummary {
  tracks: TrackSummary[];
  duration_s: number;
  /** How many generated media items the session holds. */
  generated: number;
}

export interface SessionState {
  state: Obj;
  draft: Obj | undefined;
}

/** Accepts `data.state` or a bare state; a draft sent as a JSON string is parsed. */
export function parseState(data: unknown): SessionState {
  const outer = stateSchema.safeParse(data);
  const state = outer.success ? (outer.data.state ?? (isObj(data) ? data : {})) : {};
  const draft = draftSchema.safeParse(state.draft);
  return { state, draft: draft.success ? draft.data : undefined };
}

const TRACK_TYPES: Record<number, TrackType> = { 0: 'video', 1: 'audio', 7: 'text' };

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function tracksOf(draft: Obj | undefined): Track[] {
  const d = draftSchema.safeParse(draft);
  const list = d.success ? (d.data.t ?? d.data.tracks ?? []) : [];
  return list.flatMap((t) => {
    const parsed = trackSchema.safeParse(t);
    return parsed.success ? [parsed.data] : [];
  });
}

function segmentsOf(track: Track): unknown[] {
  return track.sg ?? track.segments ?? [];
}

function segmentMs(seg: unknown): number {
  const s = segmentSchema.safeParse(seg);
  return (s.success ? s.data.d : undefined) ?? 0;
}

const round1 = (ms: number) => Math.round(ms / 100) / 10;

export function summarize(s: SessionState): StateSummary {
  const tracks = tracksOf(s.draft).map((track): TrackSummary => {
    const sg = segmentsOf(track);
    const ms = track.d ?? sg.reduce<number>((sum, seg) => sum + segmentMs(seg), 0);
    const tt = track.tt ?? undefined;
    return {
      type: (tt !== undefined ? TRACK_TYPES[tt] : undefined) ?? 'other',
      segments: sg.length,
      duration_s: round1(ms),
    };
  });
  const parsedDraft = draftSchema.safeParse(s.draft);
  const draftMs = parsedDraft.success ? (parsedDraft.data.d ?? undefined) : undefined;
  return {
    tracks,
    duration_s: draftMs !== undefined ? round1(draftMs) : Math.max(0, ...tracks.map((t) => t.duration_s)),
    generated: mediaItems(s.state).length,
  };
}

/** Exportable when some track has segments (the vendor's rule). */
export function isExportable(s: SessionState): boolean {
  return tracksOf(s.draft).some((t) => segmentsOf(t).length > 0);
}

export function describeSummary(sum: StateSummary): string {
  if (sum.tracks.length === 0) return 'the draft is empty (no tracks)';
  const parts = sum.tracks.map(
    (t) => `${t.type} ${t.duration_s.toFixed(1)} s (${plural(t.segments, 'segment')})`,
  );
  return `${plural(sum.tracks.length, 'track')}: ${parts.join(', ')}; total ${sum.duration_s.toFixed(1)} s`;
}

/** What changed between two summaries, in words; never empty. */
export function describeChanges(before: StateSummary | undefined, after: StateSummary): string {
  if (!before) return `The edit was applied; the draft now has ${describeSummary(after)}.`;
  const changes: string[] = [];
  for (const type of ['video', 'audio', 'text', 'other'] as TrackType[]) {
    const a = before.tracks.filter((t) => t.type === type);
    const b = after.tracks.filter((t) => t.type === type);
    for (const t of b.slice(a.length))
      changes.push(
        `added ${an(type)} track (${t.duration_s.toFixed(1)} s, ${plural(t.segments, 'segment')})`,
      );
    for (const t of a.slice(b.length))
      changes.push(`removed ${an(type)} track (${t.duration_s.toFixed(1)} s)`);
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      const x = a[i]!;
      const y = b[i]!;
      const label = `${type} track ${i + 1}`;
      if (x.segments !== y.segments)
        changes.push(`${label}: ${x.segments} → ${plural(y.segments, 'segment')}`);
      if (Math.abs(x.duration_s - y.duration_s) >= 0.1) {
        changes.push(`${label}: ${x.duration_s.toFixed(1)} s → ${y.duration_s.toFixed(1)} s`);
      }
    }
  }
  if (Math.abs(before.duration_s - after.duration_s) >= 0.1) {
    changes.push(`total length ${before.duration_s.toFixed(1)} s → ${after.duration_s.toFixed(1)} s`);
  }
  if (after.generated > before.generated)
    changes.push(`${plural(after.generated - before.generated, 'new generated media item')}`);
  if (changes.length === 0) {
    return `NemoVideo sent no reply text and the draft shows no change yet (${describeSummary(after)}).`;
  }
  return `NemoVideo sent no reply text; the draft changed: ${changes.join('; ')}. Now: ${describeSummary(after)}.`;
}

export function sameSummary(a: StateSummary | undefined, b: StateSummary): boolean {
  return !!a && JSON.stringify(a) === JSON.stringify(b);
}

interface MediaItem {
  url: string;
  kind: 'video' | 'other' | 'unknown';
  time: number | undefined;
  order: number;
}

const URL_KEYS = ['url', 'cdn_url', 'video_url', 'output_url', 'outputUrl', 'download_url'];
const TIME_KEYS = ['created_at', 'createdAt', 'create_time', 'timestamp', 'ts', 'updated_at'];

/** Every media item in `generated_media`, whatever its nesting (array, map, `{videos: [...]}`). */
function mediaItems(state: Obj): MediaItem[] {
  const out: MediaItem[] = [];
  const seen = new Set<string>();
  const visit = (v: unknown, depth: number) => {
    if (depth > 4) return;
    if (Array.isArray(v)) {
      for (const x of v) visit(x, depth + 1);
      return;
    }
    if (typeof v === 'string' && /^https?:\/\//.test(v)) {
      if (!seen.has(v)) out.push({ url: v, kind: kindOf(undefined, v), time: undefined, order: out.length });
      seen.add(v);
      return;
    }
    if (!isObj(v)) return;
    const url = URL_KEYS.map((k) => v[k]).find(
      (u): u is string => typeof u === 'string' && /^https?:\/\//.test(u),
    );
    if (url) {
      if (!seen.has(url)) out.push({ url, kind: kindOf(v, url), time: timeOf(v), order: out.length });
      seen.add(url);
      return;
    }
    for (const x of Object.values(v)) visit(x, depth + 1);
  };
  visit(state.generated_media, 0);
  return out;
}

function kindOf(item: Obj | undefined, url: string): MediaItem['kind'] {
  const declared = [item?.type, item?.media_type, item?.file_type, item?.mime, item?.mime_type]
    .filter((x): x is string => typeof x === 'string')
    .join(' ')
    .toLowerCase();
  if (declared.includes('video')) return 'video';
  if (/audio|image|picture|photo|text|subtitle/.test(declared)) return 'other';
  const ext = /\.([a-z0-9]{2,4})(?:$|[?#])/i.exec(url)?.[1]?.toLowerCase();
  if (ext && FORMATS.video.includes(ext)) return 'video';
  if (ext && (FORMATS.audio.includes(ext) || FORMATS.image.includes(ext) || ext === 'jpeg')) return 'other';
  return 'unknown';
}

function timeOf(item: Obj): number | undefined {
  for (const k of TIME_KEYS) {
    const v = item[k];
    if (typeof v === 'number' && Number.isFinite(v)) return v < 1e12 ? v * 1000 : v;
    if (typeof v === 'string') {
      const d = Date.parse(v);
      if (Number.isFinite(d)) return d;
    }
  }
  return undefined;
}

/** All generated media URLs (to remember what existed before a job). */
export function mediaUrls(s: SessionState): string[] {
  return mediaItems(s.state).map((m) => m.url);
}

/** The newest generated video not in `exclude`; falls back to an item of unknown type. */
export function newestVideo(s: SessionState, exclude: readonly string[] = []): string | undefined {
  const items = mediaItems(s.state).filter((m) => !exclude.includes(m.url));
  const newest = (list: MediaItem[]) =>
    list.sort((a, b) => (a.time ?? 0) - (b.time ?? 0) || a.order - b.order).at(-1)?.url;
  return newest(items.filter((m) => m.kind === 'video')) ?? newest(items.filter((m) => m.kind === 'unknown'));
}

export function summaryJson(sum: StateSummary): JsonObject {
  return {
    tracks: sum.tracks.map((t) => ({ type: t.type, segments: t.segments, duration_s: t.duration_s })),
    duration_s: sum.duration_s,
    generated: sum.generated,
  };
}

/** Reads a summary back from an operation handle (stored as JSON). */
export function summaryFromJson(v: unknown): StateSummary | undefined {
  if (!isObj(v) || !Array.isArray(v.tracks)) return undefined;
  const tracks = v.tracks.filter(isObj).map((t) => ({
    type: (['video', 'audio', 'text', 'other'].includes(String(t.type)) ? t.type : 'other') as TrackType,
    segments: num(t.segments) ?? 0,
    duration_s: num(t.duration_s) ?? 0,
  }));
  return { tracks, duration_s: num(v.duration_s) ?? 0, generated: num(v.generated) ?? 0 };
}

function an(type: TrackType): string {
  return `${/^[aeiou]/.test(type) ? 'an' : 'a'} ${type}`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
