/**
 * NemoVideo's chat route (`POST /run_sse`): lip sync and free-form edits are natural-language requests
 * to its agent. Sending a message is the paid step, so it is sent exactly once: if the stream drops we
 * end the live events quietly and the JobService reads the session state through `status()` — a
 * resend would be charged again.
 */
import type { Clock } from '../../clock.js';
import { AppError, provesNoTask } from '../../errors.js';
import { readSseJson } from '../../http/sse.js';
import type { Logger } from '../../logger.js';
import type {
  ExistingTask,
  JobRequest,
  JsonObject,
  PrepareContext,
  Snapshot,
  StartContext,
  StartResult,
} from '../provider.js';
import type { NemoApi } from './api.js';
import { SERVICE } from './errors.js';
import { TextCollector, toolActivity } from './events.js';
import { plainWords } from './gui-words.js';
import { closedSnapshot, existingFromState, judge } from './outcome.js';
import { isSessionGone, type NemoSessions, sessionGoneError } from './session.js';
import { mediaUrls, summarize, summaryJson } from './state.js';

export interface ChatDeps {
  api: NemoApi;
  sessions: NemoSessions;
  clock: Clock;
  log: Logger;
  /** Timer for the stream's idle/ceiling limits (a real clock in production). */
  sseTimer: Clock | undefined;
  sseIdleTimeoutMs: number | undefined;
}

/** Headers must arrive within this; the body is then bounded by the SSE idle/ceiling limits. */
const RUN_SSE_TIMEOUT_MS = 180_000;

export function lipSyncInstruction(
  visualRole: 'video' | 'image',
  visualUrl: string,
  audioUrl: string,
): string {
  const keep =
    'Keep the full length, framing and resolution; do not add music, captions, titles, transitions or any other edit. ' +
    'When it is done, generate the final lip-synced video file.';
  return visualRole === 'video'
    ? `Lip-sync the uploaded video ${visualUrl} to the uploaded audio ${audioUrl}: replace the video's audio with this audio and re-time the speaker's mouth movements to match it. ${keep}`
    : `Animate the uploaded image ${visualUrl} as a talking head lip-synced to the uploaded audio ${audioUrl}: the face must speak this audio with matching mouth movements, and the video must last as long as the audio. ${keep}`;
}

function editInstruction(instruction: string, videoUrl: string | undefined): string {
  return videoUrl ? `${instruction}\n\n(Work on the uploaded video ${videoUrl}.)` : instruction;
}

export async function prepareLipSync(
  request: JobRequest,
  ctx: PrepareContext,
  deps: ChatDeps,
): Promise<JsonObject> {
  const visualRole = request.inputs.video ? 'video' : 'image';
  const visual = request.inputs.video ?? request.inputs.image;
  const audio = request.inputs.audio;
  if (!visual || !audio) {
    throw new AppError(
      'invalid_input',
      'NemoVideo lip sync needs a video (or a still image) and an audio input.',
      {
        hint: 'Pass both `video` and `audio` (a local path or an http(s) URL).',
      },
    );
  }
  ctx.progress('Connecting to NemoVideo...');
  const sessionId = await deps.sessions.create(ctx.signal);
  ctx.progress(`Uploading the ${visualRole} and the audio to NemoVideo...`);
  const visualUrl = await ctx.asset(visual, visualRole, sessionId);
  const audioUrl = await ctx.asset(audio, 'audio', sessionId);
  return {
    kind: 'lip_sync',
    session_id: sessionId,
    [`${visualRole}_url`]: visualUrl,
    audio_url: audioUrl,
    instruction: lipSyncInstruction(visualRole, visualUrl, audioUrl),
  };
}

export async function prepareEdit(
  request: JobRequest,
  ctx: PrepareContext,
  deps: ChatDeps,
): Promise<JsonObject> {
  const instruction = typeof request.params.instruction === 'string' ? request.params.instruction.trim() : '';
  if (!instruction) {
    throw new AppError('invalid_input', 'An edit needs an instruction (what to change in the video).', {
      hint: 'Pass `instruction`, e.g. "add lo-fi background music at 35% volume".',
    });
  }
  const given =
    typeof request.params.session_id === 'string' && request.params.session_id
      ? request.params.session_id
      : undefined;
  const video = request.inputs.video;
  if (!given && !video) {
    throw new AppError(
      'invalid_input',
      'An edit needs either a session_id from an earlier NemoVideo job or a video to start from.',
      {
        hint: 'Pass `session_id` (from a previous NemoVideo task) or `video` (a local path or URL).',
      },
    );
  }
  ctx.progress('Connecting to NemoVideo...');
  const sessionId = given ?? (await deps.sessions.create(ctx.signal));
  if (given) await deps.sessions.state(given, ctx.signal); // fails early and clearly when it vanished
  const videoUrl = video ? await ctx.asset(video, 'video', sessionId) : undefined;
  // "Before" is read after the upload, so the upload itself is not reported as the edit's change.
  const before = await deps.sessions.state(sessionId, ctx.signal);
  const prepared: JsonObject = {
    kind: 'edit',
    session_id: sessionId,
    user_instruction: instruction,
    instruction: editInstruction(instruction, videoUrl),
    before: summaryJson(summarize(before)),
    media_before: mediaUrls(before),
  };
  if (videoUrl) prepared.video_url = videoUrl;
  return prepared;
}

/** The paid step: send the message once and hand back the live stream. */
export async function startChat(
  prepared: JsonObject,
  ctx: StartContext,
  deps: ChatDeps,
): Promise<StartResult> {
  let current = prepared;
  let opened: Awaited<ReturnType<NemoApi['stream']>>;
  try {
    opened = await send(current, ctx, deps);
  } catch (err) {
    if (!isSessionGone(err)) throw markNoTask(err);
    // 1002: the session vanished between prepare and start. The message was refused, so open a new
    // session, register the already uploaded files in it, and send once more.
    try {
      current = await reopen(current, ctx, deps);
    } catch (reopenErr) {
      throw markNoTask(reopenErr, true);
    }
    try {
      opened = await send(current, ctx, deps);
    } catch (err2) {
      throw markNoTask(err2);
    }
  }
  const sessionId = String(current.session_id);
  const operation: JsonObject = {
    session_id: sessionId,
    kind: String(current.kind),
    started_at: deps.clock.now(),
  };
  if (current.kind === 'edit') {
    operation.before = current.before ?? null;
    operation.media_before = current.media_before ?? [];
  }
  ctx.progress('NemoVideo is working on it...');
  const result: StartResult = {
    operation,
    providerTaskId: sessionId,
    snapshot: { status: 'processing', providerStatus: 'sent', extra: { session_id: sessionId } },
  };
  if ('stream' in opened) result.events = chatEvents(opened.stream.body, operation, ctx, deps);
  else deps.log.warn('run_sse answered without a stream; status() will read state');
  return result;
}

async function send(prepared: JsonObject, ctx: StartContext, deps: ChatDeps) {
  return deps.api.stream({
    method: 'POST',
    path: '/run_sse',
    json: {
      app_name: 'nemo_agent',
      user_id: 'me',
      session_id: prepared.session_id,
      new_message: { parts: [{ text: prepared.instruction }] },
    },
    action: 'sending the request to the NemoVideo agent',
    signal: ctx.signal,
    timeoutMs: RUN_SSE_TIMEOUT_MS,
  });
}

async function reopen(prepared: JsonObject, ctx: StartContext, deps: ChatDeps): Promise<JsonObject> {
  const url = (k: string) => (typeof prepared[k] === 'string' ? (prepared[k] as string) : undefined);
  if (prepared.kind === 'edit' && !url('video_url'))
    throw sessionGoneError(String(prepared.session_id), undefined);
  ctx.progress('The NemoVideo session expired; opening a new one...');
  const sid = await deps.sessions.create(ctx.signal);
  const next: JsonObject = { ...prepared, session_id: sid };
  for (const [key, role] of [
    ['video_url', 'video'],
    ['image_url', 'image'],
    ['audio_url', 'audio'],
  ] as const) {
    const u = url(key);
    if (u) next[key] = await deps.sessions.registerUrl(u, role, sid, ctx.signal);
  }
  if (prepared.kind === 'lip_sync') {
    const visualRole = next.video_url ? 'video' : 'image';
    next.instruction = lipSyncInstruction(
      visualRole,
      String(next[`${visualRole}_url`]),
      String(next.audio_url),
    );
  } else {
    next.instruction = editInstruction(
      String(prepared.user_instruction),
      url('video_url') && String(next.video_url),
    );
    const before = await deps.sessions.state(sid, ctx.signal);
    next.before = summaryJson(summarize(before));
    next.media_before = mediaUrls(before);
  }
  return next;
}

/** Marks an error from `start` as proof that no paid task exists, when it is. */
function markNoTask(err: unknown, always = false): unknown {
  if (!(err instanceof AppError)) return err;
  if (!always && !provesNoTask(err)) return err;
  return err.withNoTaskCreated({ cause: err });
}

async function* chatEvents(
  body: AsyncIterable<Uint8Array> & { destroy?: (err?: Error) => unknown },
  operation: JsonObject,
  ctx: StartContext,
  deps: ChatDeps,
): AsyncGenerator<Partial<Snapshot>> {
  const text = new TextCollector();
  let lastTextYield = Number.NEGATIVE_INFINITY;
  try {
    for await (const ev of readSseJson(body, {
      service: SERVICE,
      timer: deps.sseTimer,
      idleTimeoutMs: deps.sseIdleTimeoutMs,
      signal: ctx.signal,
      log: deps.log,
    })) {
      if (text.add(ev)) {
        // Streamed replies come in many small pieces; a partial snapshot every 2 s is plenty.
        const now = deps.clock.now();
        if (now - lastTextYield >= 2_000) {
          lastTextYield = now;
          const sessionId = String(operation.session_id);
          const message = plainWords(text.text(), { sessionId, rendered: false });
          yield { status: 'processing', providerStatus: 'replying', message };
        }
        continue;
      }
      const activity = toolActivity(ev);
      if (activity)
        yield {
          status: 'processing',
          providerStatus: activity,
          extra: { session_id: String(operation.session_id), activity },
        };
    }
  } catch (err) {
    // A broken stream is not a failed job: never resend; the JobService will call status().
    deps.log.warn(
      { reason: (err as AppError)?.message },
      'NemoVideo stream ended early; will read state instead',
    );
    return;
  }
  try {
    const state = await deps.sessions.state(String(operation.session_id), ctx.signal);
    yield closedSnapshot(operation, state, text.text(), deps.clock.now());
  } catch (err) {
    deps.log.warn({ reason: (err as AppError)?.message }, 'could not read NemoVideo state after the stream');
  }
}

/** One look at a chat job from the session state (after the stream, a drop, or a restart). */
export async function chatStatus(
  operation: JsonObject,
  signal: AbortSignal,
  deps: ChatDeps,
): Promise<Snapshot> {
  const state = await deps.sessions.state(String(operation.session_id), signal);
  return judge(operation, state, deps.clock.now());
}

/** Reconcile a lost answer: the prepared session's state says whether the job was done. */
export async function findChat(
  prepared: JsonObject,
  signal: AbortSignal,
  deps: ChatDeps,
): Promise<ExistingTask | null> {
  const state = await deps.sessions.state(String(prepared.session_id), signal);
  return existingFromState(prepared, state, deps.clock.now());
}
