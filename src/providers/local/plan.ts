/**
 * How the video's frames are laid out over the output for the bounce playback types, in whole frames
 * so the output lasts exactly as long as the audio. A segment plays frames of the source forward
 * (first, first+1, ...) or backward (first, first-1, ...). Turnaround frames are not repeated, so the
 * motion reverses without a visible hold.
 */
import type { Pause } from './activity.js';

export type PlaybackType = 'normal' | 'normal_reverse' | 'normal_reverse_by_audio';

export interface Segment {
  dir: 1 | -1;
  /** First source frame shown. */
  first: number;
  /** Number of frames. */
  count: number;
}

/** Shortest stretch between two turnarounds, as a share of the video (avoids jittery back-and-forth). */
const MIN_SEGMENT_SHARE = 0.3;

/**
 * Plain bounce: forward through the whole video, backward to the start, forward again... until
 * `outFrames` frames are filled.
 */
export function planBounce(videoFrames: number, outFrames: number): Segment[] {
  return planWithTurns(videoFrames, outFrames, () => undefined);
}

/**
 * Bounce whose turnarounds fall inside pauses of the audio where possible: while playing in one
 * direction, turn at the latest pause (at least MIN_SEGMENT_SHARE of the video in) before the video
 * runs out; with no pause in reach, turn at the end as plain bounce does.
 */
export function planBounceByAudio(
  videoFrames: number,
  outFrames: number,
  fps: number,
  pauses: Pause[],
): Segment[] {
  // Turn in the middle of a pause: the mouth is at rest there, so the reversal is least visible.
  const turns = pauses
    .map((p) => Math.round(((p.start + p.end) / 2) * fps))
    .filter((f) => f > 0 && f < outFrames);
  return planWithTurns(videoFrames, outFrames, (outPos, maxLen) => {
    const minLen = Math.max(2, Math.round(videoFrames * MIN_SEGMENT_SHARE));
    let best: number | undefined;
    for (const t of turns) {
      const len = t - outPos;
      if (len >= minLen && len <= maxLen) best = len;
      if (len > maxLen) break;
    }
    return best;
  });
}

/**
 * Core walker. `chooseLen(outPos, maxLen)` may pick an earlier turnaround than the end of the video
 * (a segment length in 1..maxLen); undefined means "play to the end".
 */
function planWithTurns(
  videoFrames: number,
  outFrames: number,
  chooseLen: (outPos: number, maxLen: number) => number | undefined,
): Segment[] {
  const segments: Segment[] = [];
  if (videoFrames <= 0 || outFrames <= 0) return segments;
  let out = 0;
  // The first segment starts on frame 0; later ones start one frame past the turnaround frame.
  let pos = 0;
  let dir: 1 | -1 = 1;
  while (out < outFrames) {
    const maxLen = dir === 1 ? videoFrames - pos : pos + 1;
    const len = Math.min(chooseLen(out, maxLen) ?? maxLen, maxLen, outFrames - out);
    segments.push({ dir, first: pos, count: len });
    out += len;
    const last = pos + dir * (len - 1);
    dir = dir === 1 ? -1 : 1;
    pos = last + dir;
    // Never step outside the video (a 1-frame turn at an edge).
    if (pos < 0 || pos >= videoFrames) pos = last;
  }
  return segments;
}

/** Total frames a plan shows (equals outFrames). */
export function planFrames(segments: Segment[]): number {
  return segments.reduce((n, s) => n + s.count, 0);
}
