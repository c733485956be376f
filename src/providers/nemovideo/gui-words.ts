/**
 * NemoVideo's agent writes for its own web GUI ("Click the Export button to download it"). The user here
 * has no such button, so seed 001's rule applies: GUI wording never reaches the user as is. Each sentence
 * that names a GUI action (the seed's list: click [button] / 点击, open [panel] / 打开, drag/drop / 拖拽,
 * preview in timeline, Export button / 导出) is replaced by the tool call that does the same thing.
 */

export interface GuiContext {
  sessionId: string;
  /** Whether this task already has a video (then download_result saves it; no render needed). */
  rendered: boolean;
}

interface Rule {
  test: RegExp;
  say: (c: GuiContext) => string;
}

const exportCall = (c: GuiContext) =>
  c.rendered
    ? "To save the video, call download_result with this task's task_id."
    : `To get the video, call export_render with session_id "${c.sessionId}" (free), then download_result with the task_id it returns.`;

/** First match wins; the export rule comes first because "click Export" is an export, not any click. */
const RULES: Rule[] = [
  { test: /\bexport\b|\bdownload\b.*\bbutton\b|导出|下载/i, say: exportCall },
  {
    test: /\bdrag\b|\bdrop\b|拖拽|拖动/i,
    say: (c) =>
      `To move or change something, call edit_video with session_id "${c.sessionId}" and say it in words.`,
  },
  {
    test: /\btimeline\b|\bpanel\b|\bopen\b.*\b(tab|menu|editor|sidebar|settings)\b|打开|面板|时间线/i,
    say: () => "get_task_status shows the session's tracks (extra.state).",
  },
  {
    test: /\b(click|tap|press)\b|\bbutton\b|点击|按钮/i,
    say: (c) =>
      `Here that is a tool call: edit_video with session_id "${c.sessionId}" changes the draft, export_render renders it, download_result saves the video.`,
  },
];

/** Sentences, each with its closing punctuation and the space after it. */
function sentences(text: string): string[] {
  return text.match(/[^.!?。！？\n]+(?:[.!?。！？]+|\n|$)\s*/g) ?? [text];
}

/** The agent's reply with every GUI sentence said as the tool to call (each instruction said once). */
export function plainWords(text: string, ctx: GuiContext): string {
  if (!RULES.some((r) => r.test.test(text))) return text;
  const said = new Set<string>();
  const out: string[] = [];
  for (const s of sentences(text)) {
    const rule = RULES.find((r) => r.test.test(s));
    if (!rule) {
      out.push(s);
      continue;
    }
    const line = rule.say(ctx);
    if (said.has(line)) continue;
    said.add(line);
    out.push(`${line}${s.match(/\s*$/)?.[0] || ' '}`);
  }
  return out.join('').trim();
}
