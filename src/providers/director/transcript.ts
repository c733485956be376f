/**
 * Transcripts from The Director's speech-to-text. [I] The answer's shape is not documented, so this reads
 * every form a transcript plausibly takes — `segments[]` (seconds or `*_ms`), `transcript` (text or an
 * object with segments), `text`, an SRT or VTT body (`srt`, `vtt`, `subtitles`), or JSON inside the
 * agent's reply — and builds SRT and VTT itself when the answer has only text with timings.
 */
import type { Json, JsonObject } from '../provider.js';
import { isObj } from './text.js';

export interface Segment {
  start: number;
  end: number;
  text: string;
}

export interface Transcript {
  text: string;
  segments: Segment[];
  srt: string;
  vtt: string;
  language?: string;
}

const MAX_SEGMENTS = 5000;

function numberOf(v: unknown): number | undefined {
  const n = typeof v === 'string' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) && n >= 0 ? n : undefined;
}

/** One segment from `{start,end,text}`, `{start_ms,end_ms,text}`, `{from,to,content}`... */
function segmentOf(v: unknown): Segment | undefined {
  if (!isObj(v)) return undefined;
  const words = [v.text, v.content, v.sentence].find((t) => typeof t === 'string') as string | undefined;
  if (!words?.trim()) return undefined;
  const ms = (k: string) => (numberOf(v[k]) !== undefined ? (numberOf(v[k]) as number) / 1000 : undefined);
  const start = numberOf(v.start) ?? numberOf(v.from) ?? ms('start_ms') ?? ms('begin_ms');
  const end = numberOf(v.end) ?? numberOf(v.to) ?? ms('end_ms');
  if (start === undefined || end === undefined || end < start) return undefined;
  return { start, end, text: words.trim().replace(/\s+/g, ' ') };
}

function segmentsOf(list: unknown): Segment[] {
  if (!Array.isArray(list)) return [];
  const out: Segment[] = [];
  for (const item of list.slice(0, MAX_SEGMENTS)) {
    const s = segmentOf(item);
    if (s) out.push(s);
  }
  return out.sort((a, b) => a.start - b.start);
}

const CUE_TIME = /(\d{1,2}):(\d{2}):(\d{2})[,.](\d{3})|(\d{2}):(\d{2})[.](\d{3})/;

function cueSeconds(t: string): number | undefined {
  const m = CUE_TIME.exec(t);
  if (!m) return undefined;
  if (m[1] !== undefined) return Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]) + Number(m[4]) / 1000;
  return Number(m[5]) * 60 + Number(m[6]) + Number(m[7]) / 1000;
}

/** Segments from an SRT or WebVTT body. */
export function parseCues(body: string): Segment[] {
  const out: Segment[] = [];
  for (const block of body.replace(/\r/g, '').split(/\n{2,}/)) {
    const lines = block.split('\n').filter((l) => l.trim());
    const at = lines.findIndex((l) => l.includes('-->'));
    if (at < 0) continue;
    const [a, b] = (lines[at] as string).split('-->');
    const start = cueSeconds(a ?? '');
    const end = cueSeconds(b ?? '');
    const words = lines
      .slice(at + 1)
      .join(' ')
      .trim();
    if (start !== undefined && end !== undefined && words) out.push({ start, end, text: words });
    if (out.length >= MAX_SEGMENTS) break;
  }
  return out;
}

function stamp(seconds: number, sep: ',' | '.'): string {
  const ms = Math.round(seconds * 1000);
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = Math.floor((ms % 60_000) / 1000);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(h)}:${pad(m)}:${pad(s)}${sep}${pad(ms % 1000, 3)}`;
}

export function toSrt(segments: Segment[]): string {
  return segments
    .map((s, i) => `${i + 1}\n${stamp(s.start, ',')} --> ${stamp(s.end, ',')}\n${s.text}\n`)
    .join('\n');
}

export function toVtt(segments: Segment[]): string {
  const cues = segments.map((s) => `${stamp(s.start, '.')} --> ${stamp(s.end, '.')}\n${s.text}\n`);
  return ['WEBVTT\n', ...cues].join('\n');
}

/** JSON inside the agent's reply (a fenced block or the whole message). */
function jsonInText(v: unknown): unknown {
  if (typeof v !== 'string') return undefined;
  const fenced = /```(?:json)?\s*([\s\S]*?)```/.exec(v)?.[1] ?? v;
  try {
    return JSON.parse(fenced.trim());
  } catch {
    return undefined;
  }
}

/** [I] The transcript in a query answer's `data`, or undefined when there is none yet. */
export function readTranscript(data: Record<string, unknown>): Transcript | undefined {
  const nested = isObj(data.transcript) ? data.transcript : isObj(data.result) ? data.result : undefined;
  const fromMessage = jsonInText(data.message);
  const holders = [data, nested, isObj(fromMessage) ? fromMessage : undefined].filter(isObj);
  let segments: Segment[] = [];
  for (const h of holders) {
    segments = segmentsOf(h.segments ?? h.sentences ?? h.utterances);
    if (segments.length) break;
  }
  if (!segments.length && Array.isArray(fromMessage)) segments = segmentsOf(fromMessage);
  if (!segments.length) {
    for (const h of holders) {
      const body = [h.srt, h.vtt, h.subtitles].find((t) => typeof t === 'string' && t.includes('-->'));
      if (typeof body === 'string') segments = parseCues(body);
      if (segments.length) break;
    }
  }
  const plain = [data.transcript, nested?.text, data.text].find((t) => typeof t === 'string' && t.trim()) as
    | string
    | undefined;
  if (!segments.length && !plain) return undefined;
  const text = segments.length ? segments.map((s) => s.text).join(' ') : (plain as string).trim();
  const language = [data.language, nested?.language].find((l) => typeof l === 'string') as string | undefined;
  const t: Transcript = { text, segments, srt: toSrt(segments), vtt: toVtt(segments) };
  if (language) t.language = language;
  return t;
}

/** The transcript as snapshot extras (JSON). */
export function transcriptExtra(t: Transcript): JsonObject {
  const out: JsonObject = {
    text: t.text,
    segments: t.segments.map((s) => ({ start: s.start, end: s.end, text: s.text })) as Json,
    srt: t.srt,
    vtt: t.vtt,
  };
  if (!t.segments.length) out.timings = 'The backend returned text without timings; srt and vtt are empty.';
  if (t.language) out.language = t.language;
  return out;
}
