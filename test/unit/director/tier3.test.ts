import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppError } from '../../../src/errors.js';
import { findResultUrl, toSnapshot } from '../../../src/providers/director/snapshot.js';
import {
  buildAudioSpec,
  buildImageSpec,
  buildPostSpec,
  buildTranscriptSpec,
  normalizeTier3Params,
} from '../../../src/providers/director/tier3.js';
import { parseCues, readTranscript, toSrt, toVtt } from '../../../src/providers/director/transcript.js';
import { readEnvelope } from '../../../src/providers/director/wire.js';

const message = (spec: object) => (spec as { message?: string }).message ?? '';
const invalid = (fn: () => unknown, re: RegExp) =>
  assert.throws(
    fn,
    (e: unknown) => e instanceof AppError && e.code === 'invalid_input' && re.test(e.message),
  );

describe('Tier 3 request mapping', () => {
  it('image: model spellings are one model; an edit names its source image', () => {
    for (const raw of ['Nano Banana Pro', 'nano-banana-pro', 'NANO_BANANA PRO'])
      assert.equal(normalizeTier3Params('image', { prompt: 'x', model: raw }).model, 'nano banana pro');
    invalid(() => normalizeTier3Params('image', { model: 'dalle' }), /no image model/);
    const gen = buildImageSpec({ prompt: 'a fox', model: 'seedream 4.5', aspect_ratio: '1:1' }, {});
    assert.equal(gen.api, 'agent');
    assert.match(
      message(gen),
      /^Task type: image generation\.\nModel: Seedream 4\.5\.\nPrompt: a fox\nAspect ratio: 1:1\./,
    );
    const edit = buildImageSpec({ prompt: 'make it night' }, { image: 'https://x.test/a.png' });
    assert.match(
      message(edit),
      /Task type: AI image edit\.[\s\S]*Source image to edit: https:\/\/x\.test\/a\.png\nEdit: make it night/,
    );
    invalid(() => buildImageSpec({}, {}), /prompt/);
  });

  it('audio: speech quotes the text exactly; music/effect need a prompt', () => {
    const s = buildAudioSpec({
      kind: 'speech',
      text: 'Hola "amigos"',
      voice: 'deep',
      language: 'es',
      duration: 4,
    });
    assert.match(
      message(s),
      /Task type: text to speech \(TTS\)\.\nText to speak, exactly as written: "Hola \\"amigos\\""\nVoice: deep\.\nLanguage: es\./,
    );
    assert.match(message(s), /Duration: about 4 seconds/);
    assert.match(
      message(buildAudioSpec({ kind: 'music', prompt: 'lofi', style: 'calm' })),
      /Task type: background music\.\nPrompt: lofi\nStyle: calm\./,
    );
    assert.match(message(buildAudioSpec({ kind: 'effect', prompt: 'door slam' })), /sound effect \(SFX\)/);
    invalid(() => buildAudioSpec({ kind: 'speech', prompt: 'x' }), /text to speak/);
    invalid(() => buildAudioSpec({ kind: 'music' }), /prompt/);
    invalid(() => buildAudioSpec({ kind: 'podcast', text: 'x' }), /Unknown audio kind/);
    invalid(() => buildAudioSpec({ kind: 'speech', text: 'x', duration: 9999 }), /duration/);
  });

  it('transcript and post-production messages', () => {
    invalid(() => buildTranscriptSpec({}, {}), /audio or video/);
    assert.match(
      message(buildTranscriptSpec({ language: 'en' }, { video: 'https://x.test/v.mp4' })),
      /Source video: https:\/\/x\.test\/v\.mp4\nSpoken language: en\./,
    );
    const trim = buildPostSpec(
      { operation: 'trim', start_seconds: 2, end_seconds: 7.5 },
      { video: 'https://x.test/v.mp4' },
    );
    assert.match(message(trim), /Trim: keep from 2 s to 7\.5 s/);
    invalid(
      () =>
        buildPostSpec(
          { operation: 'trim', start_seconds: 5, end_seconds: 2 },
          { video: 'https://x.test/v.mp4' },
        ),
      /after/,
    );
    const compose = buildPostSpec(
      { operation: 'compose', clips: ['https://x.test/b.mp4'] },
      { video: 'https://x.test/a.mp4', audio: 'https://x.test/m.mp3' },
    );
    assert.match(message(compose), /Clip 1: https:\/\/x\.test\/a\.mp4\nClip 2: https:\/\/x\.test\/b\.mp4/);
    assert.match(message(compose), /Background music: https:\/\/x\.test\/m\.mp3/);
    invalid(() => buildPostSpec({ operation: 'compose' }, { video: 'https://x.test/a.mp4' }), /two clips/);
    invalid(() => buildPostSpec({ operation: 'explode' }, { video: 'https://x.test/a.mp4' }), /operation/);
    assert.match(
      message(
        buildPostSpec({ operation: 'extract_frame', at_seconds: 3 }, { video: 'https://x.test/a.mp4' }),
      ),
      /still frame at 3 s[\s\S]*Output: one image/,
    );
  });
});

describe('Tier 3 answers', () => {
  const data = (d: Record<string, unknown>) => readEnvelope({ data: d })!.data!;
  it('[I] image and audio URL fields are accepted, media-specific first', () => {
    assert.equal(findResultUrl(data({ image_url: 'https://c.test/i.png' }), 'image'), 'https://c.test/i.png');
    assert.equal(
      findResultUrl(data({ output: { audio_url: 'https://c.test/a.mp3' } }), 'audio'),
      'https://c.test/a.mp3',
    );
    assert.equal(
      findResultUrl(data({ tool_results: [{ image_url: ['x', 'https://c.test/t.png'] }] }), 'image'),
      'https://c.test/t.png',
    );
    assert.equal(findResultUrl(data({ video_url: 'https://c.test/v.mp3' }), 'audio'), 'https://c.test/v.mp3');
    assert.equal(
      findResultUrl(data({ output_urls: ['https://c.test/o.png'] }), 'image'),
      'https://c.test/o.png',
    );
    const snap = toSnapshot({ data: { status: 1, image_url: 'https://c.test/i.png' } }, {}, 'image');
    assert.equal(snap.status, 'success');
    assert.equal(snap.resultUrl, 'https://c.test/i.png');
    const none = toSnapshot({ data: { status: 1 } }, {}, 'audio');
    assert.equal(none.status, 'processing');
    assert.match(none.message ?? '', /audio as done/);
  });

  it('transcripts: segments (s or ms), an SRT body, JSON in the reply, or text without timings', () => {
    const segs = [
      { start_ms: 0, end_ms: 1200, text: ' Hi  there ' },
      { start: 1.2, end: 62.005, text: 'Bye' },
    ];
    const t = readTranscript({ segments: segs })!;
    assert.equal(t.text, 'Hi there Bye');
    assert.equal(
      t.srt,
      '1\n00:00:00,000 --> 00:00:01,200\nHi there\n\n2\n00:00:01,200 --> 00:01:02,005\nBye\n',
    );
    assert.equal(
      t.vtt,
      'WEBVTT\n\n00:00:00.000 --> 00:00:01.200\nHi there\n\n00:00:01.200 --> 00:01:02.005\nBye\n',
    );
    assert.deepEqual(parseCues(t.srt), parseCues(t.vtt));
    assert.deepEqual(readTranscript({ srt: t.srt })?.segments, parseCues(t.vtt));
    const fenced = readTranscript({
      message: `Here you go:\n\`\`\`json\n${JSON.stringify({ segments: segs })}\n\`\`\``,
    });
    assert.equal(fenced?.text, 'Hi there Bye');
    const plain = readTranscript({ text: 'just words' })!;
    assert.equal(plain.text, 'just words');
    assert.equal(plain.srt, '');
    assert.equal(readTranscript({}), undefined);
    assert.equal(toSrt([]), '');
    assert.equal(toVtt([]), 'WEBVTT\n');
    const snap = toSnapshot({ data: { status: 1, segments: segs } }, { model: 'x' }, 'transcript');
    assert.equal(snap.status, 'success');
    assert.equal(snap.extra?.text, 'Hi there Bye');
    assert.equal(snap.extra?.model, 'x');
  });
});
