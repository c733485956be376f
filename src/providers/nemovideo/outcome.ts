/**
 * What a NemoVideo chat job (lip sync, edit) has produced, judged from the session state. The stream
 * closing is not a result: a lip sync is done only when its generated video is in the state, an edit
 * when the draft changed (or the agent answered). Until then the job is `processing`, and past a
 * ceiling it is `failed` with advice. The paid message is never sent again to find out.
 */
import type { ExistingTask, JsonObject, Snapshot } from '../provider.js';
import { plainWords } from './gui-words.js';
import {
  describeChanges,
  describeSummary,
  newestVideo,
  type SessionState,
  sameSummary,
  summarize,
  summaryFromJson,
  summaryJson,
} from './state.js';

const MINUTE = 60_000;
/** After the stream closed cleanly, how long the result may take to appear in the session state. */
export const AFTER_CLOSE_MS = 10 * MINUTE;
/** Without a clean close (stream dropped): the stream's own 15-minute ceiling, plus the same margin. */
export const AFTER_START_MS = 25 * MINUTE;
/** Longest agent reply kept in the operation handle (quoted when the job fails). */
const MAX_REPLY = 500;

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function mediaBefore(operation: JsonObject): string[] {
  return Array.isArray(operation.media_before)
    ? operation.media_before.filter((u): u is string => typeof u === 'string')
    : [];
}

/** When waiting for the result stops: after a clean close, or else after the request was sent. */
function deadline(operation: JsonObject): number | undefined {
  const closed = num(operation.closed_at);
  if (closed !== undefined) return closed + AFTER_CLOSE_MS;
  const started = num(operation.started_at);
  return started === undefined ? undefined : started + AFTER_START_MS;
}

/**
 * One judgement of a chat job from its session state. `agentText` is the reply of a stream that just
 * closed (an edit the agent answered in words is done, even when the draft did not change).
 */
export function judge(operation: JsonObject, state: SessionState, now: number, reply = ''): Snapshot {
  const sessionId = String(operation.session_id);
  const summary = summarize(state);
  const extra: JsonObject = { session_id: sessionId, state: summaryJson(summary) };
  const url = newestVideo(state, mediaBefore(operation));
  const agentText = plainWords(reply, { sessionId, rendered: Boolean(url) });
  const isEdit = operation.kind === 'edit';
  const before = summaryFromJson(operation.before);
  if (url) {
    const message =
      agentText || (isEdit ? describeChanges(before, summary) : 'NemoVideo finished the lip sync.');
    return { status: 'success', providerStatus: 'done', resultUrl: url, extra, message };
  }
  // For an edit, a changed draft is the evidence the edit was applied (export_render renders it).
  if (isEdit && ((before && !sameSummary(before, summary)) || agentText)) {
    return {
      status: 'success',
      providerStatus: 'done',
      extra,
      message: agentText || describeChanges(before, summary),
    };
  }
  const until = deadline(operation);
  if (until !== undefined && now >= until) return gaveUp(operation, summary, extra);
  const segments = summary.tracks.reduce((n, t) => n + t.segments, 0);
  const closed = num(operation.closed_at) !== undefined;
  const what = isEdit ? 'the edit to show in the draft' : 'the lip-synced video';
  return {
    status: 'processing',
    providerStatus: `${closed ? 'closed ' : ''}tracks=${summary.tracks.length} segments=${segments} media=${summary.generated}`,
    extra,
    message: closed
      ? `${agentText ? `${agentText}\n\n` : ''}NemoVideo's agent has finished; waiting for ${what} to appear in session ${sessionId} (nothing is sent again).`
      : `NemoVideo is still working; the draft has ${describeSummary(summary)}.`,
  };
}

/** Past the ceiling: a clear failure that says where the work is and that asking again is free. */
function gaveUp(operation: JsonObject, summary: ReturnType<typeof summarize>, extra: JsonObject): Snapshot {
  const sessionId = String(operation.session_id);
  const closed = num(operation.closed_at) !== undefined;
  const minutes = Math.round((closed ? AFTER_CLOSE_MS : AFTER_START_MS) / MINUTE);
  const reply =
    typeof operation.reply === 'string' && operation.reply ? ` Its reply: "${operation.reply}"` : '';
  const head =
    operation.kind === 'edit'
      ? `NemoVideo's agent ended without applying the edit in session ${sessionId}: the draft did not change`
      : `NemoVideo's agent ended without a lip-synced video in session ${sessionId}: none appeared`;
  const message =
    `${head} within ${minutes} minutes ${closed ? 'after it finished' : 'of the request'} (the draft has ${describeSummary(summary)}).${reply} ` +
    `The message was not sent again, and asking again with the same inputs returns this task and does not pay again. ` +
    `To render what the session holds, call export_render with session_id "${sessionId}" (free); ` +
    `to ask the agent again in the same session, call edit_video with session_id "${sessionId}" (a new paid message).`;
  return {
    status: 'failed',
    providerStatus: 'no_result',
    extra,
    message,
    error: { message, code: 'provider_failed' },
  };
}

/** The stream closed normally: record when (and the reply), then judge from the state. */
export function closedSnapshot(
  operation: JsonObject,
  state: SessionState,
  agentText: string,
  now: number,
): Snapshot {
  const closed: JsonObject = { ...operation, closed_at: now };
  const said = plainWords(agentText, {
    sessionId: String(operation.session_id),
    rendered: Boolean(newestVideo(state, mediaBefore(operation))),
  });
  if (said) closed.reply = said.length > MAX_REPLY ? `${said.slice(0, MAX_REPLY)}…` : said;
  return { ...judge(closed, state, now, agentText), operation: closed };
}

/**
 * Reconciling a message whose answer was lost: the session named in `prepared` is read, and a task is
 * reported only when its state proves the job was done (the video, or for an edit a changed draft).
 */
export function existingFromState(
  prepared: JsonObject,
  state: SessionState,
  now: number,
): ExistingTask | null {
  const sessionId = String(prepared.session_id);
  const operation: JsonObject = { session_id: sessionId, kind: String(prepared.kind) };
  if (prepared.kind === 'edit') {
    operation.before = prepared.before ?? null;
    operation.media_before = prepared.media_before ?? [];
  }
  const snapshot = judge(operation, state, now);
  if (snapshot.status !== 'success') return null;
  return { operation, providerTaskId: sessionId, snapshot };
}
