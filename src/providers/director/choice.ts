/**
 * Pure request mapping for The Director: which model, which API (agent or tool), which template, which
 * aspect ratio. No I/O here, so the rules can be tested and documented on their own.
 *
 * Rules (providers.md §3, seed 002):
 * - No model named -> the agent API (auto model, Seedance 2.0), falling back to Veo3 then Sora2 when a
 *   create fails outright. An image without a named model starts at Veo3 image-to-video, because the
 *   seed says image-to-video needs the tool API; Sora2 image-to-video is then its fallback.
 * - A named model never falls back: the user asked for that model.
 * - Templates exist only on the agent API, so a template request has no fallback either.
 */
import { AppError } from '../../errors.js';
import type { JsonObject } from '../provider.js';
import {
  type AspectRatio,
  PLATFORM_FORMATS,
  type Platform,
  parsePlatform,
  readPlatform,
  SHAPES,
} from './platform.js';

export { type AspectRatio, aspectFromPlatform, type Platform, parsePlatform } from './platform.js';

export type ModelId = 'auto' | 'veo3' | 'sora2' | 'sora2 pro';
export type Quality = 'quality' | 'cheap';
export type TemplateName =
  | 'veo3 story'
  | 'sora2 story'
  | 'veo3 extend'
  | 'sora2 extend'
  | 'kids'
  | 'podcast single'
  | 'podcast dual'
  | 'music video';

/** What users see as the model that ran. */
export const MODEL_LABELS: Record<ModelId, string> = {
  auto: 'Seedance 2.0 (auto)',
  veo3: 'Veo3',
  sora2: 'Sora2',
  'sora2 pro': 'Sora2 Pro',
};

/** Agent template ids (providers.md §3). */
export const TEMPLATE_IDS: Record<TemplateName, string> = {
  'veo3 story': '9b371ec6-09a2-43d5-97c2-0aea79a12371',
  'sora2 story': 'de733710-fc66-4a2b-b53c-27b52c6c6f5e',
  'sora2 extend': 'd5db7e33-4ef6-4c6f-96be-b7e0a98f0706',
  'veo3 extend': '1de0cc26-6bf9-4eed-a5a2-c62fe88aef52',
  kids: '788acc9a-866b-4688-849e-7c7cfffaff54',
  'podcast single': '071b3487-d689-4e9e-9125-f280fdb85e7a',
  'podcast dual': '5d0cbc88-41d7-471a-88b3-7df276016de1',
  'music video': '57a003c8-ea94-44a8-8e32-d2ec53ea780b',
};

/** What users see when a template ran (the template picks its own models). */
export const TEMPLATE_LABELS: Record<TemplateName, string> = {
  'veo3 story': 'Veo3 Story template',
  'sora2 story': 'Sora2 Story template',
  'veo3 extend': 'Veo3 Extend template',
  'sora2 extend': 'Sora2 Extend template',
  kids: 'Kids Short Video template',
  'podcast single': 'Single Podcast template',
  'podcast dual': 'Dual Podcast template',
  'music video': 'Music Video template',
};

export const TOOL_TYPES = {
  veo3Text: 'veo3-text-to-video-fast-api',
  veo3Image: 'veo3-image-to-video-fast-api',
  sora2Text: 'sora2-text-to-video-api',
  sora2Image: 'sora2-image-to-video-api',
  imageLipSync: 'image-lipsync-api',
} as const;

export interface ModelChoice {
  /** The model the user asked for ('auto' when none). */
  model: ModelId;
  /** Whether the user named a model (then there is no fallback). */
  named: boolean;
  /** Models to try in order; more than one only for auto without a template. */
  chain: ModelId[];
  template?: TemplateName;
  templateId?: string;
  quality: Quality;
  /** Explicit aspect ratio, else the platform's, else undefined (the model's default). */
  aspectRatio?: AspectRatio;
  platform?: Platform;
  /** The platform's usual length in words, when no duration was given (the agent reads it). */
  length?: string;
  /** Sora2 only: 5 or 10 seconds. */
  duration?: 5 | 10;
  /** Things the user should know about how the request was read (shown in results). */
  notes: string[];
}

function bad(message: string, hint: string): AppError {
  return new AppError('invalid_input', message, { hint });
}

function str(params: JsonObject, key: string): string | undefined {
  const v = params[key];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw bad(`The Director's "${key}" must be text.`, `Pass "${key}" as a string.`);
  return v.trim();
}

/** Normalises "Sora2 pro", "sora2-pro", "SORA 2 PRO", "veo 3", "Auto" to a {@link ModelId}. */
export function parseModel(raw: string | undefined): ModelId | undefined {
  if (raw === undefined) return undefined;
  const key = raw.toLowerCase().replace(/[\s_-]+/g, '');
  const table: Record<string, ModelId> = {
    auto: 'auto',
    seedance: 'auto',
    seedance2: 'auto',
    'seedance2.0': 'auto',
    veo3: 'veo3',
    sora2: 'sora2',
    sora2pro: 'sora2 pro',
  };
  const found = table[key];
  if (!found) {
    throw bad(
      `The Director has no model called "${raw}".`,
      'Use one of: auto (Seedance 2.0), veo3, sora2, "sora2 pro" — or leave the model out for auto.',
    );
  }
  return found;
}

function parseTemplate(raw: string | undefined, model: ModelId): TemplateName | undefined {
  if (raw === undefined) return undefined;
  const key = raw
    .toLowerCase()
    .replace(/[\s_-]+/g, ' ')
    .trim();
  // Bare "story"/"extend" pick the variant of the named model; Veo3 (live action) when none.
  const family = model === 'sora2' || model === 'sora2 pro' ? 'sora2' : 'veo3';
  const aliases: Record<string, TemplateName> = {
    story: `${family} story`,
    extend: `${family} extend`,
    'veo3 story': 'veo3 story',
    'sora2 story': 'sora2 story',
    'veo3 extend': 'veo3 extend',
    'sora2 extend': 'sora2 extend',
    kids: 'kids',
    'kids short': 'kids',
    'podcast single': 'podcast single',
    'single podcast': 'podcast single',
    'podcast dual': 'podcast dual',
    'dual podcast': 'podcast dual',
    'music video': 'music video',
  };
  const found = aliases[key];
  if (!found) {
    throw bad(
      `The Director has no template called "${raw}".`,
      'Use one of: story, veo3 story, sora2 story, extend, veo3 extend, sora2 extend, kids, podcast single, podcast dual, music video.',
    );
  }
  const templateFamily = found.startsWith('sora2') ? 'sora2' : found.startsWith('veo3') ? 'veo3' : undefined;
  if (templateFamily && model !== 'auto' && templateFamily !== family) {
    throw bad(
      `The template "${raw}" is made for ${templateFamily === 'veo3' ? 'Veo3' : 'Sora2'}, but the model asked for is ${MODEL_LABELS[model]}.`,
      'Drop the model (the template picks it), or use the template variant of that model.',
    );
  }
  return found;
}

function oneOf<T extends string>(
  value: string | undefined,
  allowed: readonly T[],
  name: string,
): T | undefined {
  if (value === undefined) return undefined;
  const v = value.toLowerCase() as T;
  if (!allowed.includes(v))
    throw bad(`The Director's ${name} "${value}" is not supported.`, `Use one of: ${allowed.join(', ')}.`);
  return v;
}

/** Choice params that are words: one spelling each, so spellings of a choice fingerprint as one job. */
const WORD_PARAMS = ['template', 'quality', 'aspect_ratio', 'platform'] as const;

/**
 * Canonical generate_video params, applied before the fingerprint: words trimmed and lower-cased, and
 * the model as its {@link ModelId} ("Sora2-Pro", "SORA2 PRO" -> "sora2 pro"). Canonical spellings map
 * to themselves, so tasks already in a ledger keep their fingerprint. Throws `invalid_input` (nothing
 * spent) for a model it can't read.
 */
export function normalizeGenerateParams(params: JsonObject): JsonObject {
  const out: JsonObject = { ...params };
  for (const key of WORD_PARAMS) {
    const v = out[key];
    if (typeof v === 'string') out[key] = v.trim().toLowerCase();
  }
  const model = str(params, 'model');
  if (model !== undefined) out.model = parseModel(model) ?? model;
  const platform = parsePlatform(str(params, 'platform'));
  if (platform) out.platform = platform;
  return out;
}

/**
 * Reads the user's model/template/quality/format choices from request params. Throws `invalid_input`
 * with the accepted values when something can't be understood, before anything is spent.
 */
export function resolveModelChoice(
  params: JsonObject,
  opts: { hasImage?: boolean; hasOtherMedia?: boolean } = {},
): ModelChoice {
  const requested = parseModel(str(params, 'model'));
  const model: ModelId = requested ?? 'auto';
  const named = model !== 'auto';
  const template = parseTemplate(str(params, 'template'), model);
  const quality = oneOf(str(params, 'quality'), ['quality', 'cheap'] as const, 'quality') ?? 'quality';
  const explicitAspect = oneOf(
    str(params, 'aspect_ratio'),
    ['9:16', '16:9', '1:1', '4:5'] as const,
    'aspect ratio',
  );
  const platform = readPlatform(str(params, 'platform'));
  const notes: string[] = [];

  let duration: 5 | 10 | undefined;
  const rawDuration = params.duration;
  if (rawDuration !== undefined && rawDuration !== null) {
    const n = typeof rawDuration === 'string' ? Number(rawDuration.replace(/s$/i, '')) : rawDuration;
    if (n !== 5 && n !== 10)
      throw bad('The Director accepts a duration of 5 or 10 seconds.', 'Pass duration: 5 or 10.');
    duration = n;
    if (model === 'veo3') notes.push('Veo3 clips are a fixed 8 seconds; the duration was not used.');
  }

  if (opts.hasOtherMedia && named && !template) {
    throw bad(
      `${MODEL_LABELS[model]} takes a prompt and optionally an image, not a video or audio input.`,
      'Leave the model out (the auto model can use a clip or audio track), or drop the extra input.',
    );
  }
  // [I] Veo3 and Sora2 make 16:9, 9:16 (and 1:1); a 4:5 picture is asked of the agent only.
  const portrait = explicitAspect === '4:5';
  if (portrait && named) {
    throw bad(
      `${MODEL_LABELS[model]} does not make 4:5 videos.`,
      'Leave the model out (the auto model makes 4:5), or use aspect_ratio 1:1 or 9:16.',
    );
  }
  let chain: ModelId[];
  // A clip or audio track only makes sense to the agent, so tool models can't stand in for it.
  if (template || opts.hasOtherMedia) chain = ['auto'];
  else if (portrait) {
    chain = ['auto'];
    notes.push('A 4:5 video is made by the auto model only, so there is no Veo3/Sora2 fallback.');
  } else if (named) chain = [model];
  else chain = opts.hasImage ? ['veo3', 'sora2'] : ['auto', 'veo3', 'sora2'];

  const choice: ModelChoice = { model, named, chain, quality, notes };
  if (template) {
    choice.template = template;
    choice.templateId = TEMPLATE_IDS[template];
  }
  const aspect = explicitAspect ?? (platform ? PLATFORM_FORMATS[platform].aspect : undefined);
  if (aspect) choice.aspectRatio = aspect;
  if (platform) choice.platform = platform;
  if (duration) choice.duration = duration;
  else if (platform) choice.length = PLATFORM_FORMATS[platform].length;
  return choice;
}

/** One paid create, fully described (stored in the prepared JSON so `start` needs nothing else). */
export type CreateSpec = {
  /** 'studio' is a Tier 3 agent job (image, audio, transcript, post-production). */
  model: ModelId | 'lip sync' | 'studio';
  /** What users see as the model. */
  label: string;
} & (
  | { api: 'agent'; message: string; template_id?: string; quality: Quality }
  | { api: 'tool'; tool_type: string; input: JsonObject }
);

/** Describes format and length in words for the agent, which reads a message rather than fields. */
function formatWords(choice: ModelChoice): string {
  const parts: string[] = [];
  if (choice.aspectRatio) {
    const shape = SHAPES[choice.aspectRatio];
    const where = choice.platform ? ` for ${PLATFORM_FORMATS[choice.platform].words}` : '';
    parts.push(`Format: ${shape} ${choice.aspectRatio} video${where}.`);
  }
  if (choice.duration) parts.push(`Target length: about ${choice.duration} seconds.`);
  else if (choice.length) parts.push(`Target length: ${choice.length}.`);
  return parts.join(' ');
}

/** URLs that go with a generation: a start image, and for agent templates a clip or an audio track. */
export interface GenerateMedia {
  image?: string;
  video?: string;
  audio?: string;
}

/** The create request for one model of the chain. */
export function buildGenerateSpec(
  model: ModelId,
  choice: ModelChoice,
  prompt: string,
  media: GenerateMedia = {},
): CreateSpec {
  if (model === 'auto') {
    const lines = [prompt];
    if (media.image) lines.push(`Use this image as the starting frame: ${media.image}`);
    if (media.video) lines.push(`Source clip: ${media.video}`);
    if (media.audio) lines.push(`Audio track: ${media.audio}`);
    const words = formatWords(choice);
    if (words) lines.push(words);
    const label = choice.template ? TEMPLATE_LABELS[choice.template] : MODEL_LABELS.auto;
    const spec: CreateSpec = {
      api: 'agent',
      model,
      label,
      message: lines.join('\n\n'),
      quality: choice.quality,
    };
    if (choice.templateId) spec.template_id = choice.templateId;
    return spec;
  }
  const input: JsonObject = { prompt, aspect_ratio: choice.aspectRatio ?? '16:9' };
  if (media.image) input.image_url = media.image;
  const label = MODEL_LABELS[model];
  if (model === 'veo3') {
    return {
      api: 'tool',
      model,
      label,
      tool_type: media.image ? TOOL_TYPES.veo3Image : TOOL_TYPES.veo3Text,
      input,
    };
  }
  if (model === 'sora2 pro') input.mode = 'pro';
  if (choice.duration) input.duration = choice.duration;
  return {
    api: 'tool',
    model,
    label,
    tool_type: media.image ? TOOL_TYPES.sora2Image : TOOL_TYPES.sora2Text,
    input,
  };
}

/** Still image + speech -> talking video uses the dedicated tool. */
export function buildImageLipSyncSpec(imageUrl: string, audioUrl: string): CreateSpec {
  return {
    api: 'tool',
    model: 'lip sync',
    label: 'Lip sync (still image)',
    tool_type: TOOL_TYPES.imageLipSync,
    input: { image_url: imageUrl, audio_url: audioUrl },
  };
}

/**
 * Video-to-video lip sync exists only inside the agent, so the job is spelled out precisely: keep the
 * picture, replace only the mouth movement, use the audio as the soundtrack, no other edits.
 */
export function buildVideoLipSyncSpec(
  videoUrl: string,
  audioUrl: string,
  quality: Quality,
  extra?: string,
): CreateSpec {
  const message = [
    'Lip sync task. Re-animate the mouth of the speaking person in the source video so it matches the speech in the audio track exactly.',
    `Source video: ${videoUrl}`,
    `Audio track: ${audioUrl}`,
    'Keep the original framing, face, background, lighting and camera motion; change only the lip and jaw movement.',
    'Use the audio track as the final soundtrack. Do not add music, subtitles, captions, transitions or new shots.',
    'If the audio is longer than the video, extend the video naturally to the length of the audio.',
    'Output one mp4 video.',
  ];
  if (extra) message.push(`Additional instruction: ${extra}`);
  return { api: 'agent', model: 'lip sync', label: 'Lip sync (video)', message: message.join('\n'), quality };
}
