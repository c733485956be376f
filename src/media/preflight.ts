/**
 * Preflight: look at the inputs before anything is uploaded or paid for. Problems that would make the
 * job fail are errors (AppError 'invalid_input' naming the file); problems that make a worse result
 * are warnings the tool shows next to the task. Only local files are probed; URLs get the extension
 * check alone (downloading them here would cost time and bandwidth).
 *
 * The checks themselves are small rules under rules/: refusals (format, streams) run per input;
 * advice (resolution, sample rate, durations, silence) runs on the probed pair.
 */

import { type ProbeResult, probe } from './probe.js';
import { ADVICE_RULES, audioSeconds } from './rules/advice.js';
import { acceptedFormat } from './rules/format.js';
import { mostlySilent } from './rules/silence.js';
import { requiredStream } from './rules/streams.js';
import type { InputRole, MediaCapabilities, ResolvedInput } from './types.js';

export interface PreflightOptions {
  inputs: Partial<Record<InputRole, ResolvedInput>>;
  provider: { displayName: string; capabilities: MediaCapabilities };
  ffprobePath?: string;
  /** Enables the "mostly silent audio" check. */
  ffmpegPath?: string;
  signal?: AbortSignal;
  /** The playback type asked for: one that already extends the video needs no advice to use it. */
  playbackType?: string;
}

export interface PreflightResult {
  warnings: string[];
  probes: Partial<Record<InputRole, ProbeResult>>;
}

export const PREFLIGHT_SKIPPED =
  'preflight skipped: ffprobe not found, so the files were not checked before sending. Install ffmpeg ' +
  '(it includes ffprobe), set FFPROBE_PATH, or reinstall lipsync-mcp with optional dependencies.';

/** Checks the inputs for `provider`. Throws AppError('invalid_input'); returns warnings. */
export async function preflight(opts: PreflightOptions): Promise<PreflightResult> {
  const { inputs, provider } = opts;
  const probes: Partial<Record<InputRole, ProbeResult>> = {};
  const entries = Object.entries(inputs) as [InputRole, ResolvedInput][];

  // Extension checks need no ffprobe; a clear refusal beats a provider's opaque one.
  for (const [role, input] of entries) {
    if (input.type === 'url' || !opts.ffprobePath) acceptedFormat(role, input, provider);
  }
  if (!opts.ffprobePath) {
    const warnings = entries.some(([, i]) => i.type === 'file') ? [PREFLIGHT_SKIPPED] : [];
    return { warnings, probes };
  }
  const ffprobePath = opts.ffprobePath;
  await Promise.all(
    entries.map(async ([role, input]) => {
      if (input.type === 'file') probes[role] = await probe(ffprobePath, input.path, opts.signal);
    }),
  );
  for (const [role, input] of entries) {
    const p = probes[role];
    if (!p || input.type !== 'file') continue;
    acceptedFormat(role, input, provider, p);
    requiredStream(role, input, p);
  }
  const warnings = ADVICE_RULES.map((rule) =>
    rule({ inputs, probes, provider, playbackType: opts.playbackType }),
  ).filter((w): w is string => w !== undefined);
  const audio = inputs.audio;
  if (opts.ffmpegPath && probes.audio?.audio && audio?.type === 'file') {
    const silent = await mostlySilent(
      opts.ffmpegPath,
      audio.path,
      audio.filename,
      audioSeconds(probes),
      opts.signal,
    );
    if (silent) warnings.push(silent);
  }
  return { warnings, probes };
}
