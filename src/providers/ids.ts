/**
 * Provider task ids come from outside (a caller's `provider_task_id`, a session id the user passes, a
 * stored operation) and end up in URL paths (Jogg, NemoVideo) or JSON bodies (The Director). Every id
 * the providers hand out is short and made of letters, digits and a few separators (UUIDs, `jt_…`,
 * `render_…`, `sess_…`, `chat-1`), so anything else is refused before a request is built: a path
 * (`/`, `\`, `..`), a query or fragment (`?`, `#`), an escape (`%`), whitespace, control or format
 * characters, or an over-long id. Ids that pass are still encoded where they go into a path.
 */
import { AppError } from '../errors.js';

/** Longest id accepted (UUIDs are 36; the longest id of ours, a render id, stays under 80). */
export const MAX_TASK_ID_LENGTH = 128;

/** A letter or digit first, then letters, digits, `_`, `-`, `.` and `:`; no `.` or `:` last. */
const ID_SHAPE = /^[A-Za-z0-9](?:[A-Za-z0-9_.:-]*[A-Za-z0-9_-])?$/;

/** Whether `id` has the shape of a provider id (see the module comment). */
export function isTaskIdShape(id: string): boolean {
  return id.length <= MAX_TASK_ID_LENGTH && ID_SHAPE.test(id) && !id.includes('..');
}

/**
 * Throws `invalid_input` unless `id` has the shape of a provider id. `what` names it for the user
 * ("Jogg task id", "NemoVideo session id").
 */
export function checkTaskId(id: unknown, what: string): string {
  if (typeof id === 'string' && isTaskIdShape(id)) return id;
  const shown =
    typeof id === 'string' ? JSON.stringify(id.slice(0, 40)) + (id.length > 40 ? '…' : '') : 'none';
  throw new AppError('invalid_input', `That is not a valid ${what}: ${shown}.`, {
    hint: `A ${what} is up to ${MAX_TASK_ID_LENGTH} letters, digits, "_", "-", "." or ":" (no "/", "..", "?", "#", "%", spaces or control characters). Copy it exactly as a tool returned it (provider_task_id), or use list_tasks.`,
  });
}
