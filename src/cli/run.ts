/**
 * `lipsync-mcp run`: the Jogg runner's contract, for shells and OpenClaw skills. stdout carries exactly
 * one JSON object; progress lines go to stderr; failures are JSON on stderr with exit 1.
 */
import { parseArgs } from 'node:util';
import { type App, createApp } from '../app.js';
import { loadConfig } from '../config.js';
import { AppError } from '../errors.js';
import type { TaskView } from '../jobs/view.js';
import { failJson, printJson } from './output.js';
import { appOptionsForCli, CLI_DEFAULTS } from './shared.js';

const OPTIONS = {
  video: { type: 'string' },
  image: { type: 'string' },
  audio: { type: 'string' },
  provider: { type: 'string' },
  'playback-type': { type: 'string' },
  align: { type: 'string' },
  'force-recreate': { type: 'boolean' },
  poll: { type: 'boolean' },
  'no-poll': { type: 'boolean' },
  'poll-interval-seconds': { type: 'string' },
  'max-wait-seconds': { type: 'string' },
  'task-id': { type: 'string' },
} as const;

export async function runCommand(argv: string[]): Promise<void> {
  let redactor: import('../redact.js').Redactor | undefined;
  try {
    const { values } = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false });
    const config = loadConfig({
      defaults: CLI_DEFAULTS,
      overrides: {
        JOGG_LIP_SYNC_DEFAULT_POLL_INTERVAL_SECONDS: values['poll-interval-seconds'],
        JOGG_LIP_SYNC_DEFAULT_MAX_WAIT_SECONDS: values['max-wait-seconds'],
      },
    });
    const app = await createApp(config, appOptionsForCli(config));
    redactor = app.redactor;
    const progress = (m: string) => process.stderr.write(`${app.redactor.redact(m)}\n`);
    const maxWaitMs = config.jogg.maxWaitSeconds * 1000;
    try {
      let view: TaskView;
      let action: string;
      let reused = false;
      if (values['task-id']) {
        if (values.video || values.audio || values.image)
          throw usage('Use either --task-id or --video/--audio, not both.');
        view = await app.jobs.status({ taskId: values['task-id'] }, 0, { onProgress: progress });
        action = 'queried_task';
        if (values.poll) view = await pollUntilDone(app, view, maxWaitMs, progress);
      } else {
        if (!values.audio || !(values.video || values.image))
          throw usage('Pass --video (or --image) and --audio, or --task-id.');
        if (values.poll && values['no-poll']) throw usage('Pass --poll or --no-poll, not both.');
        if (values.align !== undefined && values.align !== 'auto' && values.align !== 'off')
          throw usage('--align takes auto or off.');
        const res = await app.jobs.createLipSync(
          {
            provider: values.provider,
            video: values.video,
            image: values.image,
            audio: values.audio,
            playbackType: values['playback-type'],
            align: values.align as 'auto' | 'off' | undefined,
            forceRecreate: values['force-recreate'],
          },
          { onProgress: progress },
        );
        action = res.action;
        reused = res.reused;
        view = res;
        if (!values['no-poll']) view = await pollUntilDone(app, view, maxWaitMs, progress);
      }
      printJson(runOutput(action, reused, view), app.redactor);
    } finally {
      await app.close(30_000);
    }
  } catch (err) {
    failJson(err, redactor);
  }
}

async function pollUntilDone(
  app: App,
  first: TaskView,
  maxWaitMs: number,
  progress: (m: string) => void,
): Promise<TaskView> {
  let view = first;
  const until = app.clock.now() + maxWaitMs;
  while (!view.completed && view.status !== 'unknown' && app.clock.now() < until) {
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
  out.next_step = v.next_step;
  return out;
}

function usage(message: string): AppError {
  return new AppError('invalid_input', message, { hint: 'See `lipsync-mcp --help`.' });
}
