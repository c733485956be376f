/**
 * Tier 3 of The Director (seed 002): images, audio, transcripts and post-production, all through the
 * agent API. Its detailed reference is not public, so every request is a precise, structured
 * instruction the agent can follow (and a person can read in the logs); each one starts with a
 * `Task type:` line naming the job, and asks for exactly one output. [I] The agent reads natural
 * language; the field names in these messages are our own convention, not a documented API.
 *
 * Pure: no I/O, so the mapping can be tested on its own. Throws `invalid_input` before anything is spent.
 */
import { AppError } from '../../errors.js';
import type { JsonObject, TaskKind } from '../provider.js';
import type { CreateSpec, Quality } from './choice.js';

export type Tier3Kind = 'image' | 'audio' | 'transcript' | 'post';
export const TIER3_KINDS: readonly Tier3Kind[] = ['image', 'audio', 'transcript', 'post'];

export function isTier3(kind: TaskKind): kind is Tier3Kind {
  return (TIER3_KINDS as readonly string[]).includes(kind);
}

/** What a kind produces (words for messages; the daily limit it counts against). */
export const MEDIA_OF: Record<Tier3Kind, 'image' | 'audio' | 'transcript' | 'video'> = {
  image: 'image',
  audio: 'audio',
  transcript: 'transcript',
  post: 'video',
};

/** Seed 002's daily limits count images and audio apart from videos. Speech-to-text is audio work. */
export type LimitBucket = 'video' | 'image_audio';
export function bucketOf(kind: TaskKind): LimitBucket {
  return kind === 'image' || kind === 'audio' || kind === 'transcript' ? 'image_audio' : 'video';
}

export const IMAGE_MODELS = {
  'nano banana': 'Nano Banana',
  'nano banana pro': 'Nano Banana Pro',
  'seedream 4.5': 'Seedream 4.5',
} as const;
export type ImageModel = keyof typeof IMAGE_MODELS;

export const AUDIO_KINDS = ['speech', 'music', 'effect'] as const;
export type AudioKind = (typeof AUDIO_KINDS)[number];

export const POST_OPERATIONS = ['subtitles', 'upscale', 'trim', 'compose', 'extract_frame'] as const;
export type PostOperation = (typeof POST_OPERATIONS)[number];

function bad(message: string, hint: string): AppError {
  return new AppError('invalid_input', message, { hint });
}

function text(params: JsonObject, key: string): string | undefined {
  const v = params[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw bad(`The Director's "${key}" must be text.`, `Pass "${key}" as a string.`);
  return v.trim() || undefined;
}

function num(params: JsonObject, key: string, min: number, max: number): number | undefined {
  const v = params[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max)
    throw bad(`The Director's "${key}" must be a number from ${min} to ${max}.`, `Pass "${key}" in range.`);
  return v;
}

/** "Nano-Banana PRO", "seedream4.5" -> the canonical key. */
export function parseImageModel(raw: string | undefined): ImageModel | undefined {
  if (raw === undefined) return undefined;
  const key = raw.toLowerCase().replace(/[\s_-]+/g, '');
  const table: Record<string, ImageModel> = {
    nanobanana: 'nano banana',
    nanobananapro: 'nano banana pro',
    seedream: 'seedream 4.5',
    seedream45: 'seedream 4.5',
    'seedream4.5': 'seedream 4.5',
  };
  const found = table[key];
  if (!found)
    throw bad(
      `The Director has no image model called "${raw}".`,
      'Use one of: nano banana, nano banana pro, seedream 4.5 — or leave the model out.',
    );
  return found;
}

/** Canonical Tier 3 params (before the fingerprint): words lower-cased, model names one spelling. */
export function normalizeTier3Params(kind: Tier3Kind, params: JsonObject): JsonObject {
  const out: JsonObject = { ...params };
  for (const key of ['kind', 'operation', 'quality', 'aspect_ratio'] as const) {
    const v = out[key];
    if (typeof v === 'string') out[key] = v.trim().toLowerCase();
  }
  if (kind === 'image') {
    const model = parseImageModel(text(params, 'model'));
    if (model) out.model = model;
  }
  return out;
}

export interface Tier3Media {
  image?: string;
  video?: string;
  audio?: string;
}

const ONE_OUTPUT = 'Return exactly one output file and its URL. Do not ask follow-up questions.';

function agent(label: string, lines: string[], quality: Quality): CreateSpec {
  return { api: 'agent', model: 'studio', label, message: lines.join('\n'), quality };
}

function qualityOf(params: JsonObject): Quality {
  return text(params, 'quality') === 'cheap' ? 'cheap' : 'quality';
}

export function buildImageSpec(params: JsonObject, media: Tier3Media): CreateSpec {
  const prompt = text(params, 'prompt');
  if (!prompt)
    throw bad('The Director needs a prompt describing the image.', 'Pass prompt: what the image shows.');
  const model = parseImageModel(text(params, 'model'));
  const aspect = text(params, 'aspect_ratio');
  const lines = [media.image ? 'Task type: AI image edit.' : 'Task type: image generation.'];
  if (model) lines.push(`Model: ${IMAGE_MODELS[model]}.`);
  if (media.image) lines.push(`Source image to edit: ${media.image}`, `Edit: ${prompt}`);
  else lines.push(`Prompt: ${prompt}`);
  if (aspect) lines.push(`Aspect ratio: ${aspect}.`);
  lines.push('Output: one image (PNG or JPEG).', ONE_OUTPUT);
  const label = `${media.image ? 'AI image edit' : 'Image'}${model ? ` (${IMAGE_MODELS[model]})` : ''}`;
  return agent(label, lines, qualityOf(params));
}

export function buildAudioSpec(params: JsonObject): CreateSpec {
  const kind = (text(params, 'kind') ?? 'speech') as AudioKind;
  if (!AUDIO_KINDS.includes(kind))
    throw bad(`Unknown audio kind "${kind}".`, `Use one of: ${AUDIO_KINDS.join(', ')}.`);
  const words = kind === 'speech' ? text(params, 'text') : text(params, 'prompt');
  if (!words) {
    throw bad(
      kind === 'speech'
        ? 'Speech needs the text to speak.'
        : `A ${kind === 'music' ? 'music track' : 'sound effect'} needs a prompt describing it.`,
      kind === 'speech' ? 'Pass text: the exact words.' : 'Pass prompt: mood, genre or the sound wanted.',
    );
  }
  const duration = num(params, 'duration', 1, 600);
  const lines: string[] = [];
  if (kind === 'speech') {
    lines.push(
      'Task type: text to speech (TTS).',
      `Text to speak, exactly as written: ${JSON.stringify(words)}`,
    );
    const voice = text(params, 'voice');
    const language = text(params, 'language');
    if (voice) lines.push(`Voice: ${voice}.`);
    if (language) lines.push(`Language: ${language}.`);
    lines.push('Do not add music, effects or extra words.');
  } else {
    lines.push(
      kind === 'music' ? 'Task type: background music.' : 'Task type: sound effect (SFX).',
      `Prompt: ${words}`,
    );
    const style = text(params, 'style');
    if (style) lines.push(`Style: ${style}.`);
    if (kind === 'music') lines.push('Instrumental, no vocals unless the prompt asks for them.');
  }
  if (duration) lines.push(`Duration: about ${duration} seconds.`);
  lines.push('Output: one audio file (MP3 or WAV).', ONE_OUTPUT);
  const label = kind === 'speech' ? 'Text to speech' : kind === 'music' ? 'Background music' : 'Sound effect';
  return agent(label, lines, 'quality');
}

export function buildTranscriptSpec(params: JsonObject, media: Tier3Media): CreateSpec {
  const source = media.audio ?? media.video;
  if (!source)
    throw bad('Transcription needs an audio or video file.', 'Pass audio or video (an http(s) URL).');
  const language = text(params, 'language');
  const lines = [
    'Task type: speech to text (transcription).',
    `Source ${media.audio ? 'audio' : 'video'}: ${source}`,
    language ? `Spoken language: ${language}.` : 'Detect the spoken language.',
    'Transcribe every spoken word verbatim. Return the transcript with timings as segments',
    '(start and end in seconds, text), and as an SRT subtitle file if you can. Do not translate or summarise.',
  ];
  return agent('Speech to text', lines, 'quality');
}

export function buildPostSpec(params: JsonObject, media: Tier3Media): CreateSpec {
  const op = text(params, 'operation') as PostOperation | undefined;
  if (!op || !POST_OPERATIONS.includes(op))
    throw bad('Post-production needs an operation.', `Use one of: ${POST_OPERATIONS.join(', ')}.`);
  const clips = Array.isArray(params.clips)
    ? params.clips.filter((c): c is string => typeof c === 'string')
    : [];
  const videos = [...(media.video ? [media.video] : []), ...clips];
  if (videos.length === 0)
    throw bad('Post-production needs a video.', 'Pass video (an http(s) URL), or clips to compose.');
  if (op === 'compose' && videos.length < 2 && !media.audio)
    throw bad(
      'Compose needs at least two clips, or a clip and music.',
      'Pass clips (URLs, in order) and/or music.',
    );
  const lines = [`Task type: post-production (${op.replace('_', ' ')}).`];
  for (const [i, v] of videos.entries())
    lines.push(`${videos.length > 1 ? `Clip ${i + 1}` : 'Source video'}: ${v}`);
  const instruction = text(params, 'instruction');
  if (op === 'subtitles') {
    const lang = text(params, 'language');
    lines.push(`Add burned-in subtitles of the speech${lang ? ` in ${lang}` : ''}, timed to the audio.`);
    const style = text(params, 'style');
    if (style) lines.push(`Subtitle style: ${style}.`);
  } else if (op === 'upscale') {
    lines.push(
      `Upscale the video to ${text(params, 'resolution') ?? '4k'}; keep content, timing and audio unchanged.`,
    );
  } else if (op === 'trim') {
    const start = num(params, 'start_seconds', 0, 36_000) ?? 0;
    const end = num(params, 'end_seconds', 0, 36_000);
    if (end !== undefined && end <= start)
      throw bad('end_seconds must be after start_seconds.', 'Pass a start before the end.');
    lines.push(
      `Trim: keep from ${start} s to ${end === undefined ? 'the end' : `${end} s`}; cut everything else.`,
    );
  } else if (op === 'extract_frame') {
    const at = num(params, 'at_seconds', 0, 36_000) ?? 0;
    lines.push(`Extract one still frame at ${at} s as a PNG image.`);
  } else {
    lines.push('Compose the clips in this order into one video (ffmpeg_full_compose), with simple cuts.');
  }
  if (media.audio) lines.push(`Background music: ${media.audio} — mix it under the original audio.`);
  if (instruction) lines.push(`Additional instruction: ${instruction}`);
  lines.push(op === 'extract_frame' ? 'Output: one image.' : 'Output: one mp4 video.', ONE_OUTPUT);
  const label = `Post-production (${op.replace('_', ' ')})`;
  return agent(label, lines, qualityOf(params));
}

export function buildTier3Spec(kind: Tier3Kind, params: JsonObject, media: Tier3Media): CreateSpec {
  if (kind === 'image') return buildImageSpec(params, media);
  if (kind === 'audio') return buildAudioSpec(params);
  if (kind === 'transcript') return buildTranscriptSpec(params, media);
  return buildPostSpec(params, media);
}
