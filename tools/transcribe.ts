import { z } from 'zod';
import { AppError } from '../src/errors.js';
import type { JsonObject } from '../src/json.js';
import { defineTool } from './define.js';
import { createShape, mediaInput, waitSecondsInput } from './schemas.js';
import { taskResult } from './summary.js';

export const transcribe = defineTool({
  name: 'transcribe',
  title: 'Transcribe speech (The Director)',
  description:
    'Speech to text with The Director: give an audio or a video (http(s) URL, or a local path when LIPSYNC_PUBLIC_BASE_URL is set). Answers at once with a task_id; the same file is never transcribed (or paid) twice. ' +
    'Call get_task_status with wait_seconds: 50 until success: extra.text holds the transcript, extra.segments the timings (seconds), extra.srt and extra.vtt ready-made subtitles. ' +
    'For dubbing: translate extra.text, then generate_audio kind "speech", then create_lip_sync with the new audio.',
  input: {
    audio: mediaInput('Audio with speech').optional(),
    video: mediaInput('Video with speech').optional(),
    language: z.string().min(2).max(40).optional().describe('Spoken language, if known (else detected).'),
    force_recreate: z
      .boolean()
      .optional()
      .describe('Only when the user explicitly asks to transcribe again. Pays again.'),
    wait_seconds: waitSecondsInput,
  },
  output: createShape,
  paid: true,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  async handle(args, ctx, call) {
    if (!args.audio === !args.video) {
      throw new AppError('invalid_input', 'Pass either an audio or a video to transcribe (one of them).', {
        hint: 'Use audio for a sound file, video for a clip with speech.',
      });
    }
    const params: JsonObject = {};
    if (args.language) params.language = args.language.trim();
    const res = await ctx.jobs.create(
      {
        provider: 'director',
        kind: 'transcript',
        inputs: args.audio ? { audio: args.audio } : { video: args.video },
        params,
        forceRecreate: args.force_recreate,
        waitSeconds: args.wait_seconds,
      },
      call,
    );
    const transcript = typeof res.extra?.text === 'string' ? ` Transcript: ${res.extra.text}` : '';
    return taskResult(res, undefined, transcript);
  },
});
