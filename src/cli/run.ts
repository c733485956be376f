/**
 * `lipsync-mcp run`: the Jogg runner's contract, for shells and OpenClaw skills. stdout carries exactly
 * one JSON object; progress lines go to stderr; failures are JSON on stderr with exit 1.
 */
import { type App, createApp } from '../app.js';
import { loadConfig, PLAYBACK_TYPES } from '../config.js';
import type { TaskView } from '../jobs/view.js';
import { PROVIDER_NAMES } from '../names.js';
import type { Redactor } from '../redact.js';
import { failJson, printJson } from './output.js';
import {
  appOptionsForCli,
  CLI_DEFAULTS,
  type Command,
  oneOf,
  parseCommand,
  setting,
  UsageError,
} from './shared.js';

export const RUN: Command = {
  name: 'run',
  synopsis: [
    'run --video V --audio A [--provider P] [--playback-type T] [--align auto|off]',
    '    [--force-recreate] [--confirm] [--poll | --no-poll] [--poll-interval-seconds N] [--max-wait-seconds N]',
    'run --task-id ID [--provider P] [--poll]',
  ],
  summary:
    'Creates (or reuses) a lip-sync task, or follows one by id. stdout: exactly one JSON object;\n' +
    'progress on stderr; a failure is JSON on stderr (exit 1; exit 2 for a usage error).',
  flags: {
    video: { type: 'string', value: 'V', help: 'video file or http(s) URL' },
    image: { type: 'string', value: 'I', help: 'image instead of a video (provider director)' },
    audio: { type: 'string', value: 'A', help: 'audio file or http(s) URL' },
    provider: { type: 'string', value: 'P', help: PROVIDER_NAMES.join(' | '), check: oneOf(PROVIDER_NAMES) },
    'playback-type': {
      type: 'string',
      value: 'T',
      help: PLAYBACK_TYPES.join(' | '),
      check: oneOf(PLAYBACK_TYPES),
    },
    align: {
      type: 'string',
      value: 'auto|off',
      help: 'align re-recorded audio (local)',
      check: oneOf(['auto', 'off']),
    },
    'force-recreate': { type: 'boolean', help: 'create a new task even if one exists (pays again)' },
    confirm: {
      type: 'boolean',
      help: 'the user agrees to pay for a new paid job (needed when LIPSYNC_CONFIRM_PAID is on)',
    },
    poll: { type: 'boolean', help: 'wait until the task finishes (default for a create)' },
    'no-poll': { type: 'boolean', help: 'answer as soon as the task exists' },
    'poll-interval-seconds': {
      type: 'string',
      value: 'N',
      help: 'seconds between polls',
      check: setting('JOGG_LIP_SYNC_DEFAULT_POLL_INTERVAL_SECONDS'),
    },
    'max-wait-seconds': {
      type: 'string',
      value: 'N',
      help: 'stop waiting after N seconds',
      check: setting('JOGG_LIP_SYNC_DEFAULT_MAX_WAIT_SECONDS'),
    },
    'task-id': {
      type: 'string',
      value: 'ID',
      help: "follow a task: our task_id, or a provider's own id (--provider P says whose)",
    },
  },
};

export async function runCommand(argv: string[]): Promise<void> {
  let redactor: Redactor | undefined;
  try {
    const values = parseCommand(RUN, argv) as RunValues | undefined;
    if (!values) return;
    checkCombination(values);
    const config = loadConfig({
      defaults: CLI_DEFAULTS,
      overrides: {
        JOGG_LIP_SYNC_DEFAULT_POLL_INTERVAL_SECONDS: values['poll-interval-seconds'],
        JOGG_LIP_SYNC_DEFAULT_MAX_WAIT_SECONDS: values['max-wait-seconds'],
      },
    });
    const app = await createApp(config, appOptionsForCli(config));
    redactor = app.redactor;
    try {
      const out = await execute(app, values, config.jogg.maxWaitSeconds * 1000);
      printJson(out, app.redactor);
    } finally {
      await app.close(30_000);
    }
  } catch (err) {
    failJson(err, redactor);
  }
}

interface RunValues {
  video?: string;
  image?: string;
  audio?: string;
  provider?: string;
  'playback-type'?: string;
  align?: 'auto' | 'off';
  'force-recreate'?: boolean;
  confirm?: boolean;
  poll?: boolean;
  'no-poll'?: boolean;
  'poll-interval-seconds'?: string;
  'max-wait-seconds'?: string;
  'task-id'?: string;
}

/** Combinations no single flag's check can see. */
function checkCombination(v: RunValues): void {
  if (v.poll && v['no-poll']) throw new UsageError(RUN, 'Pass --poll or --no-poll, not both.', '--no-poll');
  if (v['task-id']) {
    const extra = (['video', 'image', 'audio'] as const).find((k) => v[k] !== undefined);
    if (extra) throw new UsageError(RUN, `Use either --task-id or --${extra}, not both.`, `--${extra}`);
    return;
  }
  if (!v.audio) throw new UsageError(RUN, 'Pass --video (or --image) and --audio, or --task-id.', '--audio');
  if (!(v.video || v.image))
    throw new UsageError(RUN, 'Pass --video (or --image) and --audio, or --task-id.', '--video');
}

/** The refusal's hint, in CLI words (confirmation_required): a shell user cannot pass `confirm: true`. */
const CLI_CONFIRM_HOW = 'run the same `lipsync-mcp run` command again with --confirm';

async function execute(app: App, values: RunValues, maxWaitMs: number): Promise<Record<string, unknown>> {
  const progress = (m: string) => process.stderr.write(`${app.redactor.redact(m)}\n`);
  const taskId = values['task-id'];
  if (taskId) {
    let view = await app.jobs.statusByAnyId(taskId, values.provider, 0, { onProgress: progress });
    if (values.poll) view = await pollUntilDone(app, view, maxWaitMs, progress);
    return runOutput('queried_task', false, view);
  }
  const res = await app.jobs.createLipSync(
    {
      provider: values.provider,
      video: values.video,
      image: values.image,
      audio: values.audio ?? '',
      playbackType: values['playback-type'],
      align: values.align,
      forceRecreate: values['force-recreate'],
    },
    { onProgress: progress, confirmed: values.confirm === true, confirmHow: CLI_CONFIRM_HOW },
  );
  let view: TaskView = res;
  if (!values['no-poll']) view = await pollUntilDone(app, view, maxWaitMs, progress);
  return runOutput(res.action, res.reused, view);
}

async function pollUntilDone(
  app: App,
  first: TaskView,
  maxWaitMs: number,
  progress: (m: string) => void,
): Promise<TaskView> {
  let view = first;
  const until = app.clock.now() + maxWaitMs;
  // `unknown` is not final while the provider can still look the task up: keep following within the wait.
  while (!app.jobs.isSettled(view) && app.clock.now() < until) {
    const left = Math.ceil((until - app.clock.now()) / 1000);
    view = await app.jobs.status({ taskId: view.task_id }, Math.min(50, Math.max(1, left)), {
      onProgress: progress,
    });
  }
  return view;
}

function runOutput(action: string, reused: boolean, v: TaskView): Record<string, unknown> {
  const out: Record<string, unknown> = {
    action,
    reused,
    task_id: v.task_id,
    status: v.status,
    completed: v.completed,
    provider: v.provider,
  };
  if (v.provider_task_id) out.provider_task_id = v.provider_task_id;
  if (v.result_url) out.result_url = v.result_url;
  if (v.cover_url) out.cover_url = v.cover_url;
  if (v.duration_seconds !== undefined) out.duration_seconds = v.duration_seconds;
  if (v.error) out.error_message = v.error.message;
  if (v.stage) out.stage = v.stage;
  if (v.warnings.length) out.warnings = v.warnings;
  if (v.extra) out.extra = v.extra;
  out.created_at = v.created_at;
  if (v.completed_at) out.completed_at = v.completed_at;
  out.next_step = cliNextStep(v);
  return out;
}

/** What to do next, said in CLI commands (the view's own next_step names MCP tools). */
export function cliNextStep(v: TaskView): string {
  const follow = `lipsync-mcp run --task-id ${v.task_id} --poll`;
  const again =
    v.kind === 'lip_sync'
      ? 'run the same `lipsync-mcp run --video … --audio …` with --force-recreate'
      : 'create it again with force_recreate (this kind of task is made through the MCP tools)';
  switch (v.status) {
    case 'success':
      return v.result_url ? 'Done. The video is at result_url; download it from there.' : 'Done.';
    case 'failed':
      return `The job failed${v.error ? `: ${v.error.message}` : ''}. It will not be re-run automatically; fix the cause, then ${again} to pay for a new attempt.`;
    case 'unknown':
      return `The create request was sent but its answer was lost, so this task may or may not exist (and may have been charged). Run \`${follow}\` again in a minute to reconcile; only if it stays unknown and the provider's dashboard shows no task, ${again}.`;
    default:
      return `Run \`${follow}\` until status is success or failed. Do not create the task again.`;
  }
}
