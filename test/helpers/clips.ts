import { join } from 'node:path';
import { makeAudio, makeSpeechLike, makeVideo } from './media.js';

/** A small valid video + audio pair whose content depends on `seed` (so fingerprints differ per test). */
export async function makePair(
  dir: string,
  seed: number,
  names = { video: 'talk.mp4', audio: 'dub.wav' },
): Promise<{ video: string; audio: string }> {
  const video = await makeVideo({
    file: join(dir, names.video),
    seconds: 1 + (seed % 5) * 0.2,
    width: 160,
    height: 120,
    fps: 10,
  });
  const audio = await makeAudio({
    file: join(dir, names.audio),
    pcm: makeSpeechLike(seed, 1.2),
    sampleRate: 16_000,
  });
  return { video, audio };
}
