import { z } from 'zod';
import { AppError } from '../src/errors.js';
import { defineTool } from './define.js';
import { VIEWER_META } from './mcp-apps.js';
import { choice, PROVIDERS, taskViewShape, waitSecondsInput } from './schemas.js';
import { summarize } from './summary.js';

export const getTaskStatus = defineTool({
  name: 'get_task_status',
  title: 'Get task status',
  description:
    'Check a task by task_id (or provider + provider_task_id). With wait_seconds (up to 50) it waits for the task to finish, sending progress notifications, and always answers before your client times out. ' +
    'Repeat with wait_seconds: 50 while status is pending or processing; on success, call download_result. Cancelling this call stops the wait, not the job.',
  input: {
    task_id: z
      .string()
      .min(1)
      .max(200)
      .optional()
      .describe('The task_id returned by create_lip_sync / generate_video / export_render / edit_video.'),
    provider: choice(PROVIDERS).optional(),
    provider_task_id: z
      .string()
      .min(1)
      .max(500)
      .optional()
      .describe("The provider's own task id (with provider)."),
    wait_seconds: waitSecondsInput,
  },
  output: taskViewShape,
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  meta: VIEWER_META,
  async handle(args, ctx, call) {
    let ref: { taskId: string } | { provider: string; providerTaskId: string };
    if (args.task_id) ref = { taskId: args.task_id };
    else if (args.provider && args.provider_task_id)
      ref = { provider: args.provider, providerTaskId: args.provider_task_id };
    else
      throw new AppError('invalid_input', 'Pass task_id, or provider together with provider_task_id.', {
        hint: 'list_tasks shows recent tasks and their ids.',
      });
    const view = await ctx.jobs.status(ref, args.wait_seconds ?? 0, call);
    return { structured: view, text: summarize(view) };
  },
});
