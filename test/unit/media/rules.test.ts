import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ProbeResult } from '../../../src/media/probe.js';
import {
  ADVICE_RULES,
  durationMismatch,
  lowResolution,
  unusualSampleRate,
} from '../../../src/media/rules/advice.js';
import { acceptedFormat, type ProviderView, roleSupported } from '../../../src/media/rules/format.js';
import { mostlySilent, readSilenceLine } from '../../../src/media/rules/silence.js';
import { requiredStream } from '../../../src/media/rules/streams.js';
import type { ResolvedInput } from '../../../src/providers/provider.js';

const P: ProviderView = {
  displayName: 'Prov',
  capabilities: {
    formats: { video: ['mp4', 'mov'], audio: ['wav', 'mp3'], image: ['jpeg', 'png'] },
    playbackTypes: ['normal', 'normal_reverse'],
  },
};
const NO_IMAGE: ProviderView = { ...P, capabilities: { ...P.capabilities, formats: { video: ['mp4'] } } };

const file = (filename: string): ResolvedInput => ({
  type: 'file',
  path: `/x/${filename}`,
  filename,
  mime: 'application/octet-stream',
  size: 1,
  sha256: 'h',
});
const url = (filename: string): ResolvedInput => ({
  type: 'url',
  url: `https://cdn.example.com/${filename}`,
  filename,
  mime: 'x',
});
const video = (w: number, h: number, d = 10): ProbeResult => ({
  formatName: 'mov,mp4,m4a,3gp,3g2,mj2',
  durationSeconds: d,
  video: {
    codec: 'h264',
    width: w,
    height: h,
    fps: 25,
    frameRate: '25/1',
    durationSeconds: d,
    pixFmt: 'yuv420p',
  },
});
const audio = (rate: number, d = 10): ProbeResult => ({
  formatName: 'wav',
  durationSeconds: d,
  audio: { codec: 'pcm_s16le', sampleRate: rate, channels: 1, durationSeconds: d },
});

describe('preflight rules', () => {
  test('format: accepted extension; jpg for jpeg; refused with a conversion hint', () => {
    acceptedFormat('video', file('a.MP4'), P);
    acceptedFormat('image', file('a.jpg'), P);
    assert.throws(
      () => acceptedFormat('video', file('a.avi'), P),
      /a\.avi is a \.avi file; Prov accepts video as mp4, mov\./,
    );
  });

  test('format: a URL without a media extension passes; one with an unaccepted media extension does not', () => {
    acceptedFormat('video', url('signed?token=1'), P);
    assert.throws(() => acceptedFormat('video', url('a.flv'), P), /a\.flv is a \.flv file/);
  });

  test('format: a local file with an odd extension is judged by its probed container', () => {
    acceptedFormat('video', file('take.bin'), P, video(640, 480));
    assert.throws(
      () => acceptedFormat('video', file('take.bin'), P, { ...video(640, 480), formatName: 'avi' }),
      /Prov accepts video/,
    );
  });

  test('format: a role the provider does not take is refused', () => {
    assert.throws(
      () => roleSupported('image', file('a.png'), NO_IMAGE),
      /Prov does not take an image input \(a\.png\)/,
    );
  });

  test('streams: video and image need a picture, audio a soundtrack', () => {
    requiredStream('video', file('v.mp4'), video(640, 480));
    assert.throws(
      () => requiredStream('video', file('a.mp4'), audio(48_000)),
      /a\.mp4 has no video stream, so it cannot be used as the video/,
    );
    assert.throws(() => requiredStream('image', file('a.png'), audio(48_000)), /cannot be used as an image/);
    assert.throws(
      () => requiredStream('audio', file('v.mp4'), video(640, 480)),
      /v\.mp4 has no audio stream/,
    );
  });

  test('advice: below 480p warns, 480p and up does not', () => {
    const inputs = { video: file('v.mp4') };
    assert.match(
      lowResolution({ inputs, probes: { video: video(320, 240) }, provider: P }) ?? '',
      /v\.mp4 is 320x240, below 480p/,
    );
    assert.equal(lowResolution({ inputs, probes: { video: video(854, 480) }, provider: P }), undefined);
  });

  test('advice: below 480p on a provider that does not redraw lips (local) says what is true there', () => {
    const local: ProviderView = { ...P, capabilities: { ...P.capabilities, redrawsLips: false } };
    const w = lowResolution({
      inputs: { video: file('v.mp4') },
      probes: { video: video(320, 240) },
      provider: local,
    });
    assert.match(w ?? '', /v\.mp4 is 320x240, below 480p/);
    assert.doesNotMatch(w ?? '', /blurry, less convincing lip sync/);
    assert.match(w ?? '', /does not redraw lips/);
  });

  test('advice: sample rates other than 44.1 / 48 kHz warn', () => {
    const inputs = { audio: file('a.wav') };
    assert.match(
      unusualSampleRate({ inputs, probes: { audio: audio(22_050) }, provider: P }) ?? '',
      /sampled at 22\.05 kHz/,
    );
    assert.match(
      unusualSampleRate({ inputs, probes: { audio: audio(16_000) }, provider: P }) ?? '',
      /sampled at 16 kHz/,
    );
    assert.equal(unusualSampleRate({ inputs, probes: { audio: audio(44_100) }, provider: P }), undefined);
  });

  test('advice: lengths more than 10 % apart warn, naming the playback types that extend the video', () => {
    const inputs = { video: file('v.mp4'), audio: file('a.wav') };
    const longer = durationMismatch({
      inputs,
      probes: { video: video(640, 480, 10), audio: audio(48_000, 15) },
      provider: P,
    });
    assert.match(
      longer ?? '',
      /The audio \(15\.0 s\) is 50% longer than the video \(10\.0 s\).*playback_type normal_reverse/,
    );
    const shorter = durationMismatch({
      inputs,
      probes: { video: video(640, 480, 10), audio: audio(48_000, 5) },
      provider: P,
    });
    assert.match(shorter ?? '', /50% shorter/);
    assert.doesNotMatch(shorter ?? '', /playback_type/);
    assert.equal(
      durationMismatch({
        inputs,
        probes: { video: video(640, 480, 10), audio: audio(48_000, 10.9) },
        provider: P,
      }),
      undefined,
    );
  });

  test('advice rules run in the order their warnings are shown', () => {
    assert.deepEqual(ADVICE_RULES, [lowResolution, unusualSampleRate, durationMismatch]);
  });

  test('silence: silencedetect lines add up; an ffmpeg that cannot run gives no warning', async () => {
    const acc = { silent: 0, openStart: undefined as number | undefined };
    for (const line of [
      '[silencedetect] silence_start: 0.5',
      '[silencedetect] silence_end: 2.5 | silence_duration: 2',
      '[silencedetect] silence_start: 8',
    ])
      readSilenceLine(line, acc);
    assert.deepEqual(acc, { silent: 2, openStart: 8 });
    assert.equal(await mostlySilent('/nonexistent/ffmpeg', '/x/a.wav', 'a.wav', 10), undefined);
    assert.equal(await mostlySilent('/nonexistent/ffmpeg', '/x/a.wav', 'a.wav', undefined), undefined);
  });
});
