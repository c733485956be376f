import { z } from 'zod';
import { AppError } from '../src/errors.js';
import type { CreateRequest } from '../src/jobs/service.js';
import type { JsonObject } from '../src/json.js';
import { defineTool } from './define.js';
import { choice, createShape, mediaInput, waitSecondsInput } from './schemas.js';
import { taskResult } from './summary.js';

const OPERATIONS = ['subtitles', 'upscale', 'trim', 'compose', 'extract_frame'] as const;

export const editVideo = defineTool({
  name: 'edit_video',
  title: 'Edit video (NemoVideo or The Director)',
  description:
    'Two ways to edit. (1) NemoVideo: a free-form instruction on a session ("add background music", "trim the first 2 seconds"); give session_id to edit an existing session ' +
    "(from an earlier NemoVideo task's extra.session_id) or a video to start a new one; then export_render renders it to an mp4. " +
    '(2) The Director post-production: give operation (subtitles, upscale, trim, compose, extract_frame) with a video URL — or clips (URLs, in order) and optional music for compose; ' +
    'start_seconds/end_seconds for trim, at_seconds for extract_frame, resolution for upscale, language for subtitles. The result is a new video (an image for extract_frame). ' +
    'Answers at once with a task_id; get_task_status follows it. The same edit on the same input is never sent (or paid) twice.',
  input: {
    instruction: z
      .string()
      .min(1)
      .max(4000)
      .optional()
      .describe('NemoVideo: the edit. The Director: extra detail.'),
    provider: choice(['nemovideo', 'director'])
      .optional()
      .describe('nemovideo (default without operation) or director (default with operation).'),
    session_id: z.string().min(1).max(200).optional(),
    video: mediaInput('Video to edit').optional(),
    operation: choice(OPERATIONS).optional().describe('The Director post-production step.'),
    clips: z
      .array(z.url().max(4096))
      .min(1)
      .max(20)
      .optional()
      .describe('compose: clip URLs in order (after video, if both are given).'),
    music: mediaInput('compose/any: background music to mix in').optional(),
    start_seconds: z.number().min(0).max(36_000).optional(),
    end_seconds: z.number().min(0).max(36_000).optional(),
    at_seconds: z.number().min(0).max(36_000).optional(),
    resolution: choice(['1080p', '2k', '4k']).optional().describe('upscale target (default 4k).'),
    language: z.string().min(2).max(40).optional().describe('subtitles: language of the subtitles.'),
    force_recreate: z.boolean().optional().describe('Send the same edit again (charges again).'),
    wait_seconds: waitSecondsInput,
  },
  output: createShape,
  paid: true,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  async handle(args, ctx, call) {
    const director = args.provider ? args.provider === 'director' : !!args.operation;
    let req: CreateRequest;
    if (director) {
      if (!args.operation)
        throw new AppError('invalid_input', 'The Director post-production needs an operation.', {
          hint: `Pass operation: one of ${OPERATIONS.join(', ')}.`,
        });
      const params: JsonObject = { operation: args.operation };
      if (args.instruction) params.instruction = args.instruction.trim();
      if (args.clips) params.clips = args.clips;
      for (const k of ['start_seconds', 'end_seconds', 'at_seconds', 'resolution', 'language'] as const) {
        const v = args[k];
        if (v !== undefined) params[k] = v;
      }
      const inputs: CreateRequest['inputs'] = {};
      if (args.video) inputs.video = args.video;
      if (args.music) inputs.audio = args.music;
      req = { provider: 'director', kind: 'post', inputs, params };
    } else {
      if (!args.instruction)
        throw new AppError('invalid_input', 'A NemoVideo edit needs an instruction.', {
          hint: 'Pass instruction: the edit in words (or operation for The Director).',
        });
      const params: JsonObject = { instruction: args.instruction.trim() };
      if (args.session_id) params.session_id = args.session_id;
      req = { provider: 'nemovideo', kind: 'edit', inputs: args.video ? { video: args.video } : {}, params };
    }
    const res = await ctx.jobs.create(
      { ...req, forceRecreate: args.force_recreate, waitSeconds: args.wait_seconds },
      call,
    );
    return taskResult(res, { created: 'Sent', reused: 'Reused existing task' });
  },
});
