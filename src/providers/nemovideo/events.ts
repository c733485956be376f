/**
 * Interpreting `/run_sse` events. The vendor documents `{type: "text"|"tool_call"|"tool_result", ...}`;
 * the request body is Google ADK's `/run_sse` shape, whose events carry `content.parts[]` with `text`,
 * `functionCall` or `functionResponse` and a `partial` flag. We accept both.
 */
import type { z } from 'zod';
import type { Obj } from './api.js';
import { partSchema, type SseEvent, sseEventSchema } from './schemas.js';

/** Longest agent reply kept (it ends up in the ledger and in tool results). */
const MAX_TEXT = 8_000;

function parse(ev: Obj): SseEvent | undefined {
  const parsed = sseEventSchema.safeParse(ev);
  return parsed.success ? parsed.data : undefined;
}

function parts(ev: SseEvent): z.infer<typeof partSchema>[] {
  const content = ev.content;
  const list = content && typeof content === 'object' ? (content.parts ?? []) : [];
  return list.flatMap((p) => {
    const parsed = partSchema.safeParse(p);
    return parsed.success ? [parsed.data] : [];
  });
}

function textOf(raw: Obj): string | undefined {
  const ev = parse(raw);
  if (!ev) return undefined;
  if (ev.type && ev.type !== 'text' && ev.type !== 'message') return undefined;
  const direct =
    ev.text ?? (typeof ev.content === 'string' ? ev.content : undefined) ?? ev.delta ?? ev.message;
  if (direct) return direct;
  // ADK: skip the model's "thought" parts; they are not addressed to the user.
  const t = parts(ev)
    .filter((p) => p.thought !== true)
    .map((p) => p.text ?? '')
    .join('');
  return t || undefined;
}

/** Accumulates the agent's reply; ADK repeats a streamed reply in full in its final event. */
export class TextCollector {
  private committed = '';
  private partial = '';

  /** Returns true when the event carried text. */
  add(ev: Obj): boolean {
    const t = textOf(ev);
    if (t === undefined) return false;
    if (ev.partial === true) this.partial += t;
    else if (this.partial) {
      // The final event repeats the streamed pieces in full: keep it instead of the pieces.
      this.committed += t;
      this.partial = '';
    } else this.committed += t;
    return true;
  }

  text(): string {
    const all = (this.committed + this.partial).trim();
    return all.length > MAX_TEXT ? `${all.slice(0, MAX_TEXT)}…` : all;
  }
}

/** "running <tool>" / "finished <tool>" for tool events, else undefined. */
export function toolActivity(raw: Obj): string | undefined {
  const ev = parse(raw);
  if (!ev) return undefined;
  const fnName = (key: 'functionCall' | 'functionResponse') =>
    parts(ev)
      .map((p) => p[key]?.name ?? undefined)
      .find(Boolean);
  const named = (): string =>
    ev.name ?? ev.tool ?? ev.tool_name ?? ev.function?.name ?? ev.tool_call?.name ?? 'a tool';
  if (ev.type === 'tool_call') return `running ${named()}`;
  if (ev.type === 'tool_result') return `finished ${named()}`;
  const call = fnName('functionCall');
  if (call) return `running ${call}`;
  const done = fnName('functionResponse');
  if (done) return `finished ${done}`;
  return undefined;
}
