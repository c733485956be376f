import { z } from 'zod';
import type { JsonObject } from '../src/json.js';
import { ASPECT_RATIOS, PLATFORMS } from '../src/names.js';
import { defineTool } from './define.js';
import { choice, mediaInput, waitSecondsInput } from './schemas.js';
import { createOrDryRunShape, dryRunInput, dryRunText } from './spend-report.js';
import { taskResult } from './summary.js';

export const generateVideo = defineTool({
  name: 'generate_video',
  title: 'Generate video (The Director)',
  description:
    'Make a new AI video with The Director from a text prompt, optionally starting from an image, a source clip (extend templates) or an audio track (music video template), as http(s) URLs (local paths too when LIPSYNC_PUBLIC_BASE_URL is set). ' +
    'No model named -> the auto model (Seedance 2.0); "veo3", "sora2" or "sora2 pro" pick that model; a template (story, extend, kids, podcast single/dual, music video) uses that template. ' +
    'Name the platform (tiktok, reels, shorts, youtube, instagram, twitter, product_demo, podcast) or an aspect_ratio. Answers at once with a task_id; identical requests reuse the same task. ' +
    'Then call get_task_status with wait_seconds: 50 until success (videos take a few minutes), and download_result. ' +
    "Each video counts against the daily quota of the user's plan: dry_run: true tells the cost first without paying.",
  input: {
    prompt: z.string().min(1).max(4000).describe('What the video should show.'),
    image: z
      .string()
      .min(1)
      .max(4096)
      .optional()
      .describe(
        'Optional starting image (image-to-video): an http(s) URL, or a local path when LIPSYNC_PUBLIC_BASE_URL is set.',
      ),
    video: mediaInput('Optional source clip (for the extend templates, or to build on)').optional(),
    audio: mediaInput('Optional audio track (for the music video template: the song)').optional(),
    model: z
      .string()
      .max(40)
      .optional()
      .describe('auto (default), veo3, sora2 or "sora2 pro". Leave out unless the user names one.'),
    template: z
      .string()
      .max(40)
      .optional()
      .describe(
        'story, veo3 story, sora2 story, extend, veo3 extend, sora2 extend, kids, podcast single, podcast dual, music video.',
      ),
    quality: choice(['quality', 'cheap']).optional().describe('quality (default) or cheap.'),
    aspect_ratio: choice(ASPECT_RATIOS)
      .optional()
      .describe('4:5 (Instagram feed portrait) only with the auto model.'),
    platform: choice(PLATFORMS)
      .optional()
      .describe("Sets the aspect ratio when aspect_ratio is not given, and the auto model's target length."),
    duration: z.literal([5, 10]).optional().describe('Sora2 only: 5 or 10 seconds.'),
    force_recreate: z
      .boolean()
      .optional()
      .describe('Only when the user explicitly asks to make it again. Pays again.'),
    wait_seconds: waitSecondsInput,
    dry_run: dryRunInput,
  },
  output: createOrDryRunShape,
  paid: true,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  async handle(args, ctx, call) {
    const params: JsonObject = { prompt: args.prompt.trim() };
    for (const k of ['model', 'template', 'quality', 'aspect_ratio', 'platform', 'duration'] as const) {
      const v = args[k];
      // Spellings ("Veo3", "sora2-pro") are made canonical by the provider, before the fingerprint.
      if (v !== undefined) params[k] = v;
    }
    const req = {
      provider: 'director',
      kind: 'generate_video' as const,
      inputs: { image: args.image, video: args.video, audio: args.audio },
      params,
      forceRecreate: args.force_recreate,
      waitSeconds: args.wait_seconds,
    };
    if (args.dry_run) {
      const d = await ctx.jobs.estimate(req, call);
      return { structured: d, text: dryRunText(d) };
    }
    const res = await ctx.jobs.create(req, call);
    return taskResult(res);
  },
});
