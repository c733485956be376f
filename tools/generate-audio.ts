import { z } from 'zod';
import { AppError } from '../src/errors.js';
import type { JsonObject } from '../src/json.js';
import { defineTool, type ToolContext } from './define.js';
import { choice, createShape, waitSecondsInput } from './schemas.js';
import { taskResult } from './summary.js';

const AUDIO_PROVIDERS = ['director', 'local'] as const;
type AudioProvider = (typeof AUDIO_PROVIDERS)[number];

/**
 * The provider when the call names none: LIPSYNC_DEFAULT_PROVIDER when it can make this audio, else The
 * Director when it is configured (as before local speech existed), else offline speech, else The
 * Director (which then says how to configure it).
 */
function defaultProvider(kind: string, ctx: ToolContext): AudioProvider {
  const offering = ctx.jobs.providersFor('audio');
  const canSpeakLocally = kind === 'speech' && offering.includes('local');
  const wanted = ctx.config.defaultProvider;
  if (wanted === 'director' && offering.includes('director')) return 'director';
  if (wanted === 'local' && canSpeakLocally) return 'local';
  if (!canSpeakLocally) return 'director';
  return ctx.jobs.providers.get('director')?.credentials().configured ? 'director' : 'local';
}

/** A named provider that cannot make this audio here, said in words a person can act on. */
function refuseUnavailable(provider: AudioProvider, kind: string, ctx: ToolContext): void {
  if (provider !== 'local') return;
  if (kind !== 'speech') {
    throw new AppError('unsupported', `The local engine only makes speech, not ${kind}.`, {
      hint: 'Use provider "director" for music and sound effects.',
    });
  }
  if (!ctx.jobs.providersFor('audio').includes('local')) {
    throw new AppError(
      'unavailable',
      'Offline speech (provider "local") needs espeak-ng, which was not found.',
      {
        hint: 'Install espeak-ng (`sudo apt-get install espeak-ng`, `brew install espeak-ng`, or the Windows installer) and restart the server; `lipsync-mcp doctor` shows what was found. Or use provider "director".',
      },
    );
  }
}

export const generateAudio = defineTool({
  name: 'generate_audio',
  title: 'Generate speech, music or a sound effect (The Director, or offline speech)',
  description:
    'Make audio with The Director: kind "speech" speaks `text` (text to speech, e.g. a translated line for dubbing; optional voice and language), ' +
    'kind "music" makes background music and kind "effect" a sound effect from a `prompt` (optional style and duration). ' +
    'Where espeak-ng is installed, provider "local" speaks text offline and free (kind "speech" only; voice is an espeak-ng voice name such as en, en-us, de; at most 5000 characters); its result is a WAV file. ' +
    'Answers at once with a task_id; identical requests reuse the same task and never pay twice. Then call get_task_status with wait_seconds: 50 until success, ' +
    "and download_result — The Director's result_url can go straight to create_lip_sync as the audio; a local result is a file: download it and pass its path. The Director's audio counts against its daily image+audio limit.",
  input: {
    kind: choice(['speech', 'music', 'effect']).describe(
      'speech (needs text), music or effect (need prompt).',
    ),
    text: z.string().min(1).max(5000).optional().describe('speech: the exact words to speak.'),
    prompt: z.string().min(1).max(2000).optional().describe('music / effect: what it should sound like.'),
    voice: z
      .string()
      .min(1)
      .max(100)
      .optional()
      .describe(
        'speech: a voice description or name (local: an espeak-ng voice such as en, en-us, de, mb-en1).',
      ),
    language: z
      .string()
      .min(2)
      .max(40)
      .optional()
      .describe('speech: the language of the text (local: used as the voice when voice is not given).'),
    style: z.string().min(1).max(200).optional().describe('music / effect: genre, mood or style.'),
    duration: z.number().min(1).max(600).optional().describe('Target length in seconds.'),
    force_recreate: z
      .boolean()
      .optional()
      .describe('Only when the user explicitly asks to make it again. Pays again.'),
    provider: choice(AUDIO_PROVIDERS)
      .optional()
      .describe(
        '"director" (speech, music, effects; needs its key) or "local" (offline speech with espeak-ng, where installed; no account). Default: LIPSYNC_DEFAULT_PROVIDER when it can, else The Director when configured, else local for speech.',
      ),
    wait_seconds: waitSecondsInput,
  },
  output: createShape,
  paid: true,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  async handle(args, ctx, call) {
    const speech = args.kind === 'speech';
    if (speech ? !args.text : !args.prompt) {
      throw new AppError('invalid_input', `kind "${args.kind}" needs ${speech ? 'text' : 'a prompt'}.`, {
        hint: speech ? 'Pass text: the exact words to speak.' : 'Pass prompt: what it should sound like.',
      });
    }
    const provider = args.provider ?? defaultProvider(args.kind, ctx);
    refuseUnavailable(provider, args.kind, ctx);
    const params: JsonObject = { kind: args.kind };
    for (const k of ['text', 'prompt', 'voice', 'language', 'style', 'duration'] as const) {
      const v = args[k];
      if (v !== undefined) params[k] = typeof v === 'string' ? v.trim() : v;
    }
    const res = await ctx.jobs.create(
      {
        provider,
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
