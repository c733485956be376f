/**
 * What the local engine is, without its implementation (index.ts and the engine, imported on first use
 * through lazy.ts). Kept equal to `createLocalProvider`'s answers by test/unit/providers/meta.test.ts.
 */
import { FFMPEG_FIX } from '../../media/ffmpeg.js';
import type { ProviderMeta } from '../lazy.js';
import type { CredentialState } from '../provider.js';
import { LOCAL_PLAYBACK_TYPES } from './request.js';
import { speechParams } from './speech.js';

export function localMeta(deps: {
  ffmpegPath?: string;
  ffprobePath?: string;
  ffmpegSource?: string;
  espeakPath?: string;
}): ProviderMeta {
  return {
    name: 'local',
    displayName: 'Local engine',
    capabilities: {
      kinds: deps.espeakPath ? ['lip_sync', 'audio'] : ['lip_sync'],
      formats: {
        video: ['mp4', 'mov', 'm4v', 'webm', 'mkv', 'avi'],
        audio: ['wav', 'mp3', 'm4a', 'aac', 'ogg', 'flac'],
      },
      playbackTypes: [...LOCAL_PLAYBACK_TYPES],
      redrawsLips: false,
      paid: false,
    },
    credentials(): CredentialState {
      if (deps.ffmpegPath && deps.ffprobePath)
        return { configured: true, source: deps.ffmpegSource ?? 'ffmpeg' };
      return {
        configured: false,
        source: 'none',
        fix: `The local engine needs ffmpeg and ffprobe. ${FFMPEG_FIX}`,
        missingKey: deps.ffmpegPath ? 'FFPROBE_PATH' : 'FFMPEG_PATH',
      };
    },
    // Speech takes a second or two; lip sync renders video.
    timing: (kind) => ({ pollIntervalMs: kind === 'audio' ? 500 : 2000 }),
    // The speech job's fingerprint is its canonical text and voice, so "voice: EN" and no voice are one job.
    normalizeParams: (kind, params) => (kind === 'audio' && deps.espeakPath ? speechParams(params) : params),
    // `stop`: a local job (its worker process) can be stopped; it is free, nothing is undone.
    optional: ['stop'],
  };
}
