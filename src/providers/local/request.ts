/** What the local engine accepts (lip sync; speech where espeak-ng is installed), checked before anything runs. */
import { AppError } from '../../errors.js';
import type { JobRequest, JsonObject } from '../provider.js';
import type { AlignMode } from './engine.js';
import type { PlaybackType } from './plan.js';
import { speechParams } from './speech.js';

export const LOCAL_PLAYBACK_TYPES: PlaybackType[] = ['normal', 'normal_reverse', 'normal_reverse_by_audio'];

export interface PreparedLipSync {
  video: string;
  audio: string;
  playback_type: PlaybackType;
  align: AlignMode;
}

/** Speech (espeak-ng): already canonical (speechParams ran before the fingerprint). */
export interface PreparedSpeech {
  job: 'speech';
  text: string;
  voice: string;
}

/** A lip-sync record has no `job` field (records written before speech existed read the same). */
export type Prepared = PreparedLipSync | PreparedSpeech;

export const isSpeech = (p: Prepared): p is PreparedSpeech => 'job' in p && p.job === 'speech';

export function parseRequest(request: JobRequest, speech: boolean): JsonObject {
  if (request.kind === 'audio' && speech) {
    const { text, voice } = speechParams(request.params);
    return { job: 'speech', text, voice } as JsonObject;
  }
  if (request.kind !== 'lip_sync') {
    throw new AppError(
      'unsupported',
      `The local engine only does lip sync${speech ? ' and speech' : ''}, not ${request.kind}.`,
      {
        hint: 'Pick a cloud provider for this kind of job.',
      },
    );
  }
  const { video, audio, image } = request.inputs;
  if (image && !video) {
    throw new AppError('unsupported', 'The local engine needs a video; it cannot animate a still image.', {
      hint: 'Pass a video, or use The Director (image + audio -> talking video).',
    });
  }
  if (!video || !audio) {
    throw new AppError('invalid_input', 'The local engine needs both a video and an audio input.', {
      hint: 'Pass video and audio (local paths).',
    });
  }
  for (const input of [video, audio]) {
    if (input.type !== 'file') {
      throw new AppError('invalid_input', `The local engine needs local files; ${input.filename} is a URL.`, {
        hint: 'Download it first and pass the local path, or use a cloud provider for URLs.',
      });
    }
  }
  const playback = request.params.playback_type ?? 'normal';
  if (typeof playback !== 'string' || !LOCAL_PLAYBACK_TYPES.includes(playback as PlaybackType)) {
    throw new AppError(
      'invalid_input',
      `playback_type ${JSON.stringify(playback)} is not one the local engine knows.`,
      {
        hint: `Use one of ${LOCAL_PLAYBACK_TYPES.join(', ')}.`,
      },
    );
  }
  const alignRaw = request.params.align ?? 'auto';
  const align: AlignMode = alignRaw === 'off' || alignRaw === false ? 'off' : 'auto';
  if (alignRaw !== 'auto' && alignRaw !== true && align !== 'off') {
    throw new AppError('invalid_input', `align ${JSON.stringify(alignRaw)} is not valid.`, {
      hint: 'Use "auto" or "off".',
    });
  }
  return {
    video: video.type === 'file' ? video.path : '',
    audio: audio.type === 'file' ? audio.path : '',
    playback_type: playback,
    align,
  };
}

const incomplete = () =>
  new AppError('invalid_input', 'The local job description is incomplete.', {
    hint: 'Send the same request again: the local engine runs it again, for free.',
    noTaskCreated: true,
  });

export function parsePrepared(p: JsonObject): Prepared {
  if (p.job === 'speech') {
    if (typeof p.text !== 'string' || typeof p.voice !== 'string') throw incomplete();
    return { job: 'speech', text: p.text, voice: p.voice };
  }
  const { video, audio, playback_type, align } = p;
  if (
    typeof video !== 'string' ||
    typeof audio !== 'string' ||
    typeof playback_type !== 'string' ||
    !LOCAL_PLAYBACK_TYPES.includes(playback_type as PlaybackType)
  ) {
    throw incomplete();
  }
  return {
    video,
    audio,
    playback_type: playback_type as PlaybackType,
    align: align === 'off' ? 'off' : 'auto',
  };
}
