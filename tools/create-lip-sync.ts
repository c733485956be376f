import { z } from 'zod';
import { PLAYBACK_TYPES } from '../src/config.js';
import { defineTool } from './define.js';
import { choice, mediaInput, providerInput, waitSecondsInput } from './schemas.js';
import { createOrDryRunShape, dryRunInput, dryRunText } from './spend-report.js';
import { taskResult } from './summary.js';

export const createLipSync = defineTool({
  name: 'create_lip_sync',
  title: 'Create lip-sync job',
  description:
    'Start (or reuse) a lip-sync job: a video (or, with provider "director", an image) plus an audio track. ' +
    'Answers at once with a task_id; identical inputs — even copied to another path — return the same task (reused: true) and are never paid twice. ' +
    'Then call get_task_status with wait_seconds: 50 until status is success or failed, and download_result to save the video. ' +
    'Never call this again for a task that is pending or processing. A failed task is returned as is unless force_recreate is true (which pays again). ' +
    'dry_run: true tells the expected cost first without paying anything.',
  input: {
    video: mediaInput('Video to lip-sync').optional(),
    image: mediaInput('Still face image (provider "director" only)').optional(),
    audio: mediaInput('Speech audio to sync to'),
    provider: providerInput,
    playback_type: choice(PLAYBACK_TYPES)
      .optional()
      .describe(
        'How the video is fitted to the audio: normal (play once), normal_reverse (forward/backward), normal_reverse_by_audio (extend to the audio). Default normal.',
      ),
    align: choice(['auto', 'off'])
      .optional()
      .describe(
        'Local engine only: shift the audio to match the speech already in the video (default auto).',
      ),
    quality: choice(['quality', 'cheap'])
      .optional()
      .describe('Provider "director" only: quality (default) or cheap (faster, fewer credits).'),
    force_recreate: z
      .boolean()
      .optional()
      .describe('Only when the user explicitly asks to regenerate a finished or failed task. Pays again.'),
    wait_seconds: waitSecondsInput,
    dry_run: dryRunInput,
  },
  output: createOrDryRunShape,
  paid: true,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  async handle(args, ctx, call) {
    const req = {
      provider: args.provider,
      video: args.video,
      image: args.image,
      audio: args.audio,
      playbackType: args.playback_type,
      align: args.align,
      quality: args.quality,
      forceRecreate: args.force_recreate,
      waitSeconds: args.wait_seconds,
    };
    if (args.dry_run) {
      const d = await ctx.jobs.estimateLipSync(req, call);
      return { structured: d, text: dryRunText(d) };
    }
    const res = await ctx.jobs.createLipSync(req, call);
    return taskResult(res);
  },
});
