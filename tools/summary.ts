import type { TaskView } from '../src/jobs/view.js';

/** One line for the text content; the structured content carries everything. */
export function summarize(v: TaskView): string {
  const parts = [
    `${v.task_id} (${v.provider}) is ${v.stage && v.status === 'pending' ? `pending: ${v.stage}` : v.status}`,
  ];
  if (v.progress !== undefined) parts.push(`${Math.round(v.progress * 100)}%`);
  if (v.result_url) parts.push(`result: ${v.result_url}`);
  if (v.error) parts.push(`error: ${v.error.message}${v.error.hint ? ` (${v.error.hint})` : ''}`);
  if (v.stalled) parts.push('stalled');
  if (v.warnings.length) parts.push(`warnings: ${v.warnings.join('; ')}`);
  parts.push(`Next: ${v.next_step}`);
  return parts.join('. ');
}

/** The result of a tool that creates (or reuses) a task: the task as structured content, one line of text. */
export function taskResult<T extends TaskView & { reused: boolean }>(
  res: T,
  words: { created: string; reused: string } = { created: 'Created task', reused: 'Reused existing task' },
  extra = '',
): { structured: T; text: string } {
  return {
    structured: res,
    text: `${res.reused ? words.reused : words.created} — ${summarize(res)}${extra}`,
  };
}
