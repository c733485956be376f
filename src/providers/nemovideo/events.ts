/**
 * Interpreting `/run_sse` events. The vendor documents `{type: "text"|"tool_call"|"tool_result", ...}`;
 * the request body is Google ADK's `/run_sse` shape, whose events carry `content.parts[]` with `text`,
 * `functionCall` or `functionResponse` and a `partial` flag. We accept both.
 */
import { isObj, type Obj } from './api.js';

/** Longest agent reply kept (it ends up in the ledger and in tool results). */
const MAX_TEXT = 8_000;

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

function parts(ev: Obj): Obj[] {
  const content = ev.content;
  return isObj(content) && Array.isArray(content.parts) ? content.parts.filter(isObj) : [];
}

function textOf(ev: Obj): string | undefined {
  const type = str(ev.type);
  if (type && type !== 'text' && type !== 'message') return undefined;
  const direct = str(ev.text) ?? str(ev.content) ?? str(ev.delta) ?? str(ev.message);
  if (direct) return direct;
  // ADK: skip the model's "thought" parts; they are not addressed to the user.
  const t = parts(ev)
    .filter((p) => p.thought !== true)
    .map((p) => str(p.text) ?? '')
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
export function toolActivity(ev: Obj): string | undefined {
  const type = str(ev.type);
  const fnName = (key: string) =>
    parts(ev)
      .map((p) => (isObj(p[key]) ? str((p[key] as Obj).name) : undefined))
      .find(Boolean);
  const named = (): string =>
    str(ev.name) ??
    str(ev.tool) ??
    str(ev.tool_name) ??
    (isObj(ev.function) ? str(ev.function.name) : undefined) ??
    (isObj(ev.tool_call) ? str(ev.tool_call.name) : undefined) ??
    'a tool';
  if (type === 'tool_call') return `running ${named()}`;
  if (type === 'tool_result') return `finished ${named()}`;
  const call = fnName('functionCall');
  if (call) return `running ${call}`;
  const done = fnName('functionResponse');
  if (done) return `finished ${done}`;
  return undefined;
}
