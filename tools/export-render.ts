import { z } from 'zod';
import { defineTool } from './define.js';
import { createShape, waitSecondsInput } from './schemas.js';
import { taskResult } from './summary.js';

export const exportRender = defineTool({
  name: 'export_render',
  title: 'Export render (NemoVideo)',
  description:
    "Render a NemoVideo session's current draft to an mp4 (free, no credits). Answers at once with a task_id; " +
    'call get_task_status with wait_seconds: 50 until success, then download_result. While a render of the session is running, calling again returns it instead of starting another.',
  input: {
    session_id: z
      .string()
      .min(1)
      .max(200)
      .describe("The NemoVideo session (a NemoVideo task's extra.session_id)."),
    wait_seconds: waitSecondsInput,
  },
  output: createShape,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  async handle(args, ctx, call) {
    // Renders are free and the draft may have changed: a finished render is never reused, a running one is.
    const res = await ctx.jobs.create(
      {
        provider: 'nemovideo',
        kind: 'render',
        inputs: {},
        params: { session_id: args.session_id },
        forceRecreate: true,
        waitSeconds: args.wait_seconds,
      },
      call,
    );
    return taskResult(res, { created: 'Render started', reused: 'Render already running' });
  },
});
