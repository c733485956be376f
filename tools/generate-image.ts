import { z } from 'zod';
import type { JsonObject } from '../src/json.js';
import { defineTool } from './define.js';
import { choice, createShape, mediaInput, waitSecondsInput } from './schemas.js';
import { taskResult } from './summary.js';

export const generateImage = defineTool({
  name: 'generate_image',
  title: 'Generate or edit an image (The Director)',
  description:
    'Make a still image with The Director from a text prompt, or edit a source image (give image: an http(s) URL, or a local path when LIPSYNC_PUBLIC_BASE_URL is set) following the prompt. ' +
    'Models: nano banana, nano banana pro, seedream 4.5 (leave out to let The Director pick). Answers at once with a task_id; identical requests reuse the same task and never pay twice. ' +
    'Then call get_task_status with wait_seconds: 50 until success (images take under 5 minutes), and download_result. ' +
    'Images count against the daily image+audio limit, not the video one.',
  input: {
    prompt: z.string().min(1).max(4000).describe('What the image should show, or the edit to make.'),
    image: mediaInput('Optional source image to edit').optional(),
    model: z
      .string()
      .max(40)
      .optional()
      .describe('nano banana, nano banana pro or seedream 4.5. Leave out unless the user names one.'),
    aspect_ratio: choice(['1:1', '4:5', '9:16', '16:9', '3:4', '4:3']).optional(),
    quality: choice(['quality', 'cheap']).optional().describe('quality (default) or cheap.'),
    force_recreate: z
      .boolean()
      .optional()
      .describe('Only when the user explicitly asks to make it again. Pays again.'),
    wait_seconds: waitSecondsInput,
  },
  output: createShape,
  paid: true,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  async handle(args, ctx, call) {
    const params: JsonObject = { prompt: args.prompt.trim() };
    for (const k of ['model', 'aspect_ratio', 'quality'] as const) {
      const v = args[k];
      if (v !== undefined) params[k] = v;
    }
    const res = await ctx.jobs.create(
      {
        provider: 'director',
        kind: 'image',
        inputs: args.image ? { image: args.image } : {},
        params,
        forceRecreate: args.force_recreate,
        waitSeconds: args.wait_seconds,
      },
      call,
    );
    return taskResult(res);
  },
});
