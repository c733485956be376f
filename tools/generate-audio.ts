import { z } from 'zod';
import { AppError } from '../src/errors.js';
import type { JsonObject } from '../src/json.js';
import { defineTool } from './define.js';
import { choice, createShape, waitSecondsInput } from './schemas.js';
import { taskResult } from './summary.js';

export const generateAudio = defineTool({
  name: 'generate_audio',
  title: 'Generate speech, music or a sound effect (The Director)',
  description:
    'Make audio with The Director: kind "speech" speaks `text` (text to speech, e.g. a translated line for dubbing; optional voice and language), ' +
    'kind "music" makes background music and kind "effect" a sound effect from a `prompt` (optional style and duration). ' +
    'Answers at once with a task_id; identical requests reuse the same task and never pay twice. Then call get_task_status with wait_seconds: 50 until success, ' +
    'and download_result — or pass result_url straight to create_lip_sync as the audio. Audio counts against the daily image+audio limit.',
  input: {
    kind: choice(['speech', 'music', 'effect']).describe(
      'speech (needs text), music or effect (need prompt).',
    ),
    text: z.string().min(1).max(5000).optional().describe('speech: the exact words to speak.'),
    prompt: z.string().min(1).max(2000).optional().describe('music / effect: what it should sound like.'),
    voice: z.string().min(1).max(100).optional().describe('speech: a voice description or name.'),
    language: z.string().min(2).max(40).optional().describe('speech: the language of the text.'),
    style: z.string().min(1).max(200).optional().describe('music / effect: genre, mood or style.'),
    duration: z.number().min(1).max(600).optional().describe('Target length in seconds.'),
    force_recreate: z
      .boolean()
      .optional()
      .describe('Only when the user explicitly asks to make it again. Pays again.'),
    wait_seconds: waitSecondsInput,
  },
  output: createShape,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  async handle(args, ctx, call) {
    const speech = args.kind === 'speech';
    if (speech ? !args.text : !args.prompt) {
      throw new AppError('invalid_input', `kind "${args.kind}" needs ${speech ? 'text' : 'a prompt'}.`, {
        hint: speech ? 'Pass text: the exact words to speak.' : 'Pass prompt: what it should sound like.',
      });
    }
    const params: JsonObject = { kind: args.kind };
    for (const k of ['text', 'prompt', 'voice', 'language', 'style', 'duration'] as const) {
      const v = args[k];
      if (v !== undefined) params[k] = typeof v === 'string' ? v.trim() : v;
    }
    const res = await ctx.jobs.create(
      {
        provider: 'director',
        kind: 'audio',
        inputs: {},
        params,
        forceRecreate: args.force_recreate,
        waitSeconds: args.wait_seconds,
      },
      call,
    );
    return taskResult(res);
  },
});
