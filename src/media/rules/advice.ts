/**
 * Advice rules: problems that make a worse result, not a failed job. Each returns its warning, or
 * undefined when the inputs are fine (or it cannot tell).
 */

import type { ProbeResult } from '../probe.js';
import type { InputRole, ResolvedInput } from '../types.js';
import type { ProviderView } from './format.js';

export interface PairView {
  inputs: Partial<Record<InputRole, ResolvedInput>>;
  probes: Partial<Record<InputRole, ProbeResult>>;
  provider: ProviderView;
  /** The playback type asked for: one that already extends the video needs no advice to use it. */
  playbackType?: string;
}

export type AdviceRule = (v: PairView) => string | undefined;

const fmt = (s: number) => `${s.toFixed(1)} s`;

/** Faces in a source below 480p come out blurry where the mouth is redrawn; elsewhere the picture is kept. */
export const lowResolution: AdviceRule = ({ inputs, probes, provider }) => {
  const video = probes.video?.video ?? probes.image?.video;
  const visual = inputs.video ?? inputs.image;
  if (!video || !visual) return undefined;
  const short = Math.min(video.width, video.height);
  if (short <= 0 || short >= 480) return undefined;
  const size = `${visual.filename} is ${video.width}x${video.height}, below 480p`;
  if (provider.capabilities.redrawsLips === false)
    return `${size}: ${provider.displayName} keeps the picture as it is (it aligns the audio and does not redraw lips), so the result is as sharp as this source; a provider that redraws the mouth would give a blurry result from faces this small.`;
  return `${size}: faces this small give a blurry, less convincing lip sync. Use a 720p or larger source if you have one.`;
};

/** Audio not at 44.1 or 48 kHz gets resampled. */
export const unusualSampleRate: AdviceRule = ({ inputs, probes }) => {
  const audio = probes.audio?.audio;
  const input = inputs.audio;
  if (!audio || !input || !audio.sampleRate) return undefined;
  if (audio.sampleRate === 44_100 || audio.sampleRate === 48_000) return undefined;
  const khz = (audio.sampleRate / 1000).toFixed(audio.sampleRate % 1000 ? 2 : 0);
  return `${input.filename} is sampled at ${khz} kHz, not 44.1 or 48 kHz: it will be resampled and may sound duller. Export the voice at 44.1 or 48 kHz if you can.`;
};

/** Audio duration as probed (stream, else container). */
export function audioSeconds(probes: PairView['probes']): number | undefined {
  return probes.audio?.audio?.durationSeconds ?? probes.audio?.durationSeconds;
}

/** Audio and video lengths more than 10 % apart. */
export const durationMismatch: AdviceRule = ({ inputs, probes, provider, playbackType }) => {
  if (!probes.audio?.audio || !inputs.audio) return undefined;
  const v = probes.video?.video?.durationSeconds ?? probes.video?.durationSeconds;
  const a = audioSeconds(probes);
  if (!v || !a || Math.abs(a - v) <= 0.1 * v) return undefined;
  // Longer audio with a playback type that already extends the video: nothing to advise.
  if (a > v && playbackType && playbackType !== 'normal') return undefined;
  const longer = a > v ? 'longer' : 'shorter';
  const pct = Math.round((Math.abs(a - v) / v) * 100);
  const types = provider.capabilities.playbackTypes?.filter((t) => t !== 'normal') ?? [];
  const extend =
    a > v && types.length > 0
      ? `, or use playback_type ${types.join(' / ')} to extend the video to the audio`
      : '';
  return `The audio (${fmt(a)}) is ${pct}% ${longer} than the video (${fmt(v)}): lip sync suffers when the lengths differ. Trim or stretch one of them${extend}.`;
};

/** The advice rules, in the order their warnings are shown. */
export const ADVICE_RULES: AdviceRule[] = [lowResolution, unusualSampleRate, durationMismatch];
