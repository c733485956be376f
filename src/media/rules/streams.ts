/** Stream rule: a video or image input needs a picture, an audio input a soundtrack. */
import { AppError } from '../../errors.js';
import type { ProbeResult } from '../probe.js';
import type { InputRole, ResolvedInput } from '../types.js';

function streamError(input: ResolvedInput, role: InputRole, missing: 'video' | 'audio'): AppError {
  const as = role === 'image' ? 'an image' : `the ${role}`;
  return new AppError(
    'invalid_input',
    `${input.filename} has no ${missing} stream, so it cannot be used as ${as}.`,
    {
      hint:
        missing === 'video'
          ? `Check you passed the right file as ${role}; an audio-only file belongs in "audio".`
          : 'Check you passed the right file as audio; a silent video has no soundtrack to use.',
      details: { file: input.filename, role },
    },
  );
}

/** Throws when the probed file lacks the stream its role needs. */
export function requiredStream(role: InputRole, input: ResolvedInput, probed: ProbeResult): void {
  if ((role === 'video' || role === 'image') && !probed.video) throw streamError(input, role, 'video');
  if (role === 'audio' && !probed.audio) throw streamError(input, role, 'audio');
}
