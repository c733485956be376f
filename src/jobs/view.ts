import type { UserError } from '../errors.js';
import type { JsonObject, Provider, TaskKind, TaskStatus } from '../providers/provider.js';
import type { TaskRow } from './store.js';

/** What tools and the CLI show for a task. `status` uses the public vocabulary only. */
export interface TaskView {
  task_id: string;
  provider: string;
  kind: TaskKind;
  status: TaskStatus;
  /** Finer detail while pending: `submitting` (uploads / create in flight). */
  stage?: string;
  completed: boolean;
  provider_task_id?: string;
  result_url?: string;
  cover_url?: string;
  duration_seconds?: number;
  progress?: number;
  message?: string;
  stalled?: boolean;
  gave_up?: boolean;
  error?: UserError;
  warnings: string[];
  extra?: JsonObject;
  created_at: string;
  completed_at?: string;
  next_poll_seconds?: number;
  next_step: string;
}

export function toView(row: TaskRow, provider: Provider | undefined, now: number): TaskView {
  const snap = row.snapshot;
  const status: TaskStatus = row.status === 'submitting' ? 'pending' : row.status;
  const timing = provider?.timing(row.kind);
  const stalled = !!timing?.stallPolls && row.unchangedPolls >= timing.stallPolls && !isDone(status);
  const gaveUp = !!timing?.giveUpAfterMs && !isDone(status) && now - row.createdAt > timing.giveUpAfterMs;
  const view: TaskView = {
    task_id: row.id,
    provider: row.provider,
    kind: row.kind,
    status,
    completed: isDone(status),
    warnings: row.warnings,
    created_at: new Date(row.createdAt).toISOString(),
    next_step: '',
  };
  if (row.status === 'submitting') view.stage = row.phase === 'sent' ? 'submitting' : 'preparing';
  if (row.providerTaskId) view.provider_task_id = row.providerTaskId;
  if (snap?.resultUrl) view.result_url = snap.resultUrl;
  if (snap?.coverUrl) view.cover_url = snap.coverUrl;
  if (snap?.durationSeconds !== undefined) view.duration_seconds = snap.durationSeconds;
  if (snap?.progress !== undefined && !isDone(status)) view.progress = snap.progress;
  if (snap?.message) view.message = snap.message;
  if (snap?.extra && Object.keys(snap.extra).length) view.extra = snap.extra;
  if (row.error) view.error = row.error;
  if (row.completedAt && isDone(status)) view.completed_at = new Date(row.completedAt).toISOString();
  if (stalled) view.stalled = true;
  if (gaveUp) view.gave_up = true;
  if (!isDone(status) && status !== 'unknown')
    view.next_poll_seconds = Math.round((timing?.pollIntervalMs ?? 10_000) / 1000);
  view.next_step = nextStep(view, provider);
  return view;
}

/**
 * A claim whose instance stopped before sending anything, left because the files it names are on
 * another machine (`host`): what happened and what to do, without those paths.
 */
export function noteFilesElsewhere(view: TaskView, host: string, provider: Provider | undefined): void {
  const name = provider?.displayName ?? view.provider;
  view.message = `The server on ${host} that started this task stopped before sending it to ${name} (nothing was paid), and the input files it named are on that machine, not here.`;
  view.next_step = `Call ${CREATE_TOOL[view.kind]} again with the same inputs (this server's copies of the files): it continues this task (task_id "${view.task_id}") and pays for it once.`;
}

function isDone(s: TaskStatus): boolean {
  return s === 'success' || s === 'failed';
}

/** The tool that creates each kind of task (named in next steps). */
const CREATE_TOOL: Record<TaskKind, string> = {
  lip_sync: 'create_lip_sync',
  generate_video: 'generate_video',
  edit: 'edit_video',
  render: 'export_render',
  image: 'generate_image',
  audio: 'generate_audio',
  transcript: 'transcribe',
  post: 'edit_video',
};

/** What a finished task of each kind gives the user (for the next step). */
const RESULT_WORD: Partial<Record<TaskKind, string>> = {
  image: 'image',
  audio: 'audio',
  transcript: 'transcript file',
};

function nextStep(v: TaskView, provider: Provider | undefined): string {
  const name = provider?.displayName ?? v.provider;
  const tool = CREATE_TOOL[v.kind];
  switch (v.status) {
    case 'success':
      if (v.kind === 'transcript' && v.extra?.srt !== undefined)
        return `Done. The transcript is in extra.text (segments with timings in extra.segments; subtitles in extra.srt and extra.vtt).`;
      return v.result_url
        ? `Done. Call download_result with task_id "${v.task_id}" to save the ${RESULT_WORD[v.kind] ?? 'video'} locally, or share result_url.`
        : 'Done.';
    case 'failed':
      if (v.kind === 'render')
        return `The render failed${v.error ? `: ${v.error.message}` : ''}. Fix the cause, then call export_render again (renders are free).`;
      if (provider && !provider.capabilities.paid)
        return `The job failed${v.error ? `: ${v.error.message.replace(/\.$/, '')}` : ''}. Fix the cause if it is in the inputs, then call ${tool} again with the same inputs: a failed ${name} job runs again, for free.`;
      return `The job failed${v.error ? `: ${v.error.message}` : ''}. It will not be re-run automatically; fix the cause, then call ${tool} again with force_recreate: true to pay for a new attempt.`;
    case 'unknown':
      return provider?.findExisting
        ? `The create request was sent to ${name} but its answer was lost (the process sending it may have stopped), so this task may or may not exist (and may have been charged). Call get_task_status again in a minute to reconcile; only if it stays unknown and ${name}'s dashboard shows no task, call ${tool} with force_recreate: true.`
        : `The create request was sent to ${name} but its answer was lost (the process sending it may have stopped), so this task may or may not exist (and may have been charged). ${name} cannot look a task up by its inputs, so this one cannot be followed; calling ${tool} again with the same inputs returns this task and does not pay again. Only if ${name}'s history shows no new video after a few minutes, call ${tool} with force_recreate: true.`;
    default:
      if (v.gave_up) {
        const options =
          v.provider === 'director' && v.kind === 'generate_video'
            ? `retry (force_recreate: true), go cheaper (quality: "cheap"), or pick another model (model: "veo3", "sora2" or "sora2 pro")`
            : `retry with force_recreate: true`;
        return `Still not finished after the usual time, so waiting stopped. The job may still finish at ${name}: check again later with get_task_status, or ${options}.`;
      }
      if (v.stalled) {
        return `The status has not changed for a long time (stalled). Keep checking with get_task_status, or retry with another model if it stays stuck.`;
      }
      return `Call get_task_status with task_id "${v.task_id}" and wait_seconds: 50 until status is success or failed. Do not create the task again.`;
  }
}
