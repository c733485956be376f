import { z } from 'zod';
import type { JsonObject } from '../src/json.js';
import { defineTool } from './define.js';
import { createShape, mediaInput, waitSecondsInput } from './schemas.js';
import { summarize } from './summary.js';

export const editVideo = defineTool({
  name: 'edit_video',
  title: 'Edit video (NemoVideo)',
  description:
    'Send a free-form editing instruction to a NemoVideo session ("add background music", "trim the first 2 seconds", "add subtitles"). ' +
    "Give session_id to edit an existing session (from an earlier NemoVideo task's extra.session_id), or a video to start a new one. " +
    "Answers at once with a task_id; get_task_status returns the agent's reply, or a summary of what changed when it sent no text. " +
    'Then export_render renders the session to an mp4. The same instruction on the same session is not sent twice.',
  input: {
    instruction: z.string().min(1).max(4000),
    session_id: z.string().min(1).max(200).optional(),
    video: mediaInput('Video for a new session').optional(),
    force_recreate: z.boolean().optional().describe('Send the same instruction again (charges again).'),
    wait_seconds: waitSecondsInput,
  },
  output: createShape,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  async handle(args, ctx, call) {
    const params: JsonObject = { instruction: args.instruction.trim() };
    if (args.session_id) params.session_id = args.session_id;
    const res = await ctx.jobs.create(
      {
        provider: 'nemovideo',
        kind: 'edit',
        inputs: args.video ? { video: args.video } : {},
        params,
        forceRecreate: args.force_recreate,
        waitSeconds: args.wait_seconds,
      },
      call,
    );
    return { structured: res, text: `${res.reused ? 'Reused existing task' : 'Sent'} — ${summarize(res)}` };
  },
});
