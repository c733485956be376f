/**
 * The input types: media/ owns them (it resolves, hashes and probes inputs); providers import them from
 * here. media/ knows no vendor and imports nothing from providers/.
 */
/** A checked input: a local file (confined, hashed) or a URL (http/https, no credentials). */
export type ResolvedInput =
  | {
      type: 'file';
      /** Real path (symlinks resolved). Never sent to a provider; used to stream the bytes. */
      path: string;
      filename: string;
      mime: string;
      size: number;
      sha256: string;
    }
  | { type: 'url'; url: string; filename: string; mime: string };

/** Input roles a request may carry. */
export type InputRole = 'video' | 'audio' | 'image';

/** What media checks need to know of a provider: accepted formats per role, playback types. */
export interface MediaCapabilities {
  /** File extensions (lower case, no dot) accepted per input role; used by preflight. */
  formats: Partial<Record<InputRole, string[]>>;
  /** Valid `playback_type` values for lip sync, if the provider has the notion. */
  playbackTypes?: string[];
  /** False for a provider that keeps the picture as is (the local engine aligns audio, draws no lips). */
  redrawsLips?: boolean;
}
