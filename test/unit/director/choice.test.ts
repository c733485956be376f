import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppError } from '../../../src/errors.js';
import {
  aspectFromPlatform,
  buildGenerateSpec,
  buildImageLipSyncSpec,
  buildVideoLipSyncSpec,
  normalizeGenerateParams,
  parseModel,
  resolveModelChoice,
  TEMPLATE_IDS,
  TOOL_TYPES,
} from '../../../src/providers/director/choice.js';

const invalid = (fn: () => unknown) =>
  assert.throws(fn, (e: unknown) => e instanceof AppError && e.code === 'invalid_input');

describe('director model choice', () => {
  it('params are canonical before the fingerprint: one spelling per choice', () => {
    assert.deepEqual(
      normalizeGenerateParams({
        prompt: ' Keep My Case ',
        model: ' SORA2-Pro ',
        template: ' Kids Short ',
        quality: 'Cheap',
        platform: 'TikTok',
        duration: 5,
      }),
      {
        prompt: ' Keep My Case ',
        model: 'sora2 pro',
        template: 'kids short',
        quality: 'cheap',
        platform: 'tiktok',
        duration: 5,
      },
    );
    // Canonical spellings map to themselves, so tasks already in a ledger keep their fingerprint.
    for (const model of ['auto', 'veo3', 'sora2', 'sora2 pro']) {
      assert.equal(normalizeGenerateParams({ model }).model, model);
    }
    assert.deepEqual(normalizeGenerateParams({ prompt: 'p' }), { prompt: 'p' });
    invalid(() => normalizeGenerateParams({ model: 'myspace-9000' }));
  });

  it('no model: agent (auto) first, then Veo3, then Sora2', () => {
    const c = resolveModelChoice({ prompt: 'a sunset' });
    assert.equal(c.model, 'auto');
    assert.equal(c.named, false);
    assert.deepEqual(c.chain, ['auto', 'veo3', 'sora2']);
    assert.equal(c.quality, 'quality');
  });

  it('no model with an image starts at Veo3 image-to-video (tool API), Sora2 as fallback', () => {
    const c = resolveModelChoice({ prompt: 'animate' }, { hasImage: true });
    assert.deepEqual(c.chain, ['veo3', 'sora2']);
    const spec = buildGenerateSpec('veo3', c, 'animate', { image: 'https://x.test/a.png' });
    assert.equal(spec.api, 'tool');
    assert.equal(spec.api === 'tool' && spec.tool_type, TOOL_TYPES.veo3Image);
    assert.equal(spec.api === 'tool' && spec.input.image_url, 'https://x.test/a.png');
    const sora = buildGenerateSpec('sora2', c, 'animate', { image: 'https://x.test/a.png' });
    assert.equal(sora.api === 'tool' && sora.tool_type, TOOL_TYPES.sora2Image);
  });

  it('accepts model spellings case-insensitively', () => {
    assert.equal(parseModel('Sora2 pro'), 'sora2 pro');
    assert.equal(parseModel('sora2-pro'), 'sora2 pro');
    assert.equal(parseModel('SORA2_PRO'), 'sora2 pro');
    assert.equal(parseModel('Veo3'), 'veo3');
    assert.equal(parseModel('veo 3'), 'veo3');
    assert.equal(parseModel('AUTO'), 'auto');
    invalid(() => parseModel('gpt-video'));
  });

  it('a named model never falls back', () => {
    assert.deepEqual(resolveModelChoice({ model: 'veo3' }).chain, ['veo3']);
    const c = resolveModelChoice({ model: 'Sora2 pro', duration: 10 });
    assert.deepEqual(c.chain, ['sora2 pro']);
    const spec = buildGenerateSpec('sora2 pro', c, 'p');
    assert.equal(spec.api, 'tool');
    if (spec.api !== 'tool') return;
    assert.equal(spec.tool_type, TOOL_TYPES.sora2Text);
    assert.equal(spec.input.mode, 'pro');
    assert.equal(spec.input.duration, 10);
    assert.equal(spec.label, 'Sora2 Pro');
  });

  it('veo3 text-to-video carries prompt and aspect ratio (16:9 default)', () => {
    const spec = buildGenerateSpec('veo3', resolveModelChoice({ model: 'veo3' }), 'p');
    assert.deepEqual(spec.api === 'tool' && spec, {
      api: 'tool',
      model: 'veo3',
      label: 'Veo3',
      tool_type: TOOL_TYPES.veo3Text,
      input: { prompt: 'p', aspect_ratio: '16:9' },
    });
  });

  it('duration is 5 or 10; Veo3 notes that its length is fixed', () => {
    invalid(() => resolveModelChoice({ duration: 7 }));
    assert.equal(resolveModelChoice({ duration: '5s' }).duration, 5);
    assert.match(resolveModelChoice({ model: 'veo3', duration: 10 }).notes.join(' '), /fixed 8 seconds/);
  });

  it('platforms map to aspect ratios; an explicit aspect ratio wins', () => {
    assert.equal(aspectFromPlatform('TikTok'), '9:16');
    assert.equal(aspectFromPlatform('reels'), '9:16');
    assert.equal(aspectFromPlatform('shorts'), '9:16');
    assert.equal(aspectFromPlatform('YouTube'), '16:9');
    assert.equal(aspectFromPlatform('instagram'), '1:1');
    assert.equal(aspectFromPlatform('myspace'), undefined);
    assert.equal(resolveModelChoice({ platform: 'tiktok' }).aspectRatio, '9:16');
    assert.equal(resolveModelChoice({ platform: 'tiktok', aspect_ratio: '1:1' }).aspectRatio, '1:1');
    invalid(() => resolveModelChoice({ platform: 'myspace' }));
    invalid(() => resolveModelChoice({ aspect_ratio: '4:3' }));
    const veo = buildGenerateSpec('veo3', resolveModelChoice({ model: 'veo3', platform: 'youtube' }), 'p');
    assert.equal(veo.api === 'tool' && veo.input.aspect_ratio, '16:9');
  });

  it("every platform of seed 002's table has its aspect ratio and length", () => {
    const table: [string, string, RegExp][] = [
      ['tiktok', '9:16', /15-60 seconds/],
      ['reels', '9:16', /15-60 seconds/],
      ['shorts', '9:16', /15-60 seconds/],
      ['youtube', '16:9', /30 seconds to 5 minutes/],
      ['instagram', '1:1', /15-30 seconds/],
      ['twitter', '16:9', /15-30 seconds/],
      ['x', '16:9', /15-30 seconds/],
      ['product_demo', '16:9', /30-60 seconds/],
      ['Product Demo', '16:9', /30-60 seconds/],
      ['podcast', '16:9', /1-5 minutes/],
    ];
    for (const [platform, aspect, length] of table) {
      assert.equal(aspectFromPlatform(platform), aspect, platform);
      const c = resolveModelChoice({ platform });
      assert.equal(c.aspectRatio, aspect, platform);
      const spec = buildGenerateSpec('auto', c, 'p');
      assert.ok(spec.api === 'agent');
      assert.match(spec.message, new RegExp(`${aspect} video for `), platform);
      assert.match(spec.message, length, platform);
    }
    // An explicit length wins over the platform's range.
    const ten = buildGenerateSpec('auto', resolveModelChoice({ platform: 'podcast', duration: 10 }), 'p');
    assert.ok(ten.api === 'agent' && /about 10 seconds/.test(ten.message) && !/minutes/.test(ten.message));
  });

  it('Instagram may be 4:5 and a product demo 1:1; 4:5 is made by the auto model only', () => {
    const ig = resolveModelChoice({ platform: 'instagram', aspect_ratio: '4:5' });
    assert.equal(ig.aspectRatio, '4:5');
    assert.deepEqual(ig.chain, ['auto'], 'no Veo3/Sora2 fallback for a shape they do not make');
    assert.match(ig.notes.join(' '), /4:5/);
    const spec = buildGenerateSpec('auto', ig, 'p');
    assert.ok(spec.api === 'agent' && /portrait 4:5 video for an Instagram feed post/.test(spec.message));
    assert.equal(resolveModelChoice({ platform: 'product_demo', aspect_ratio: '1:1' }).aspectRatio, '1:1');
    invalid(() => resolveModelChoice({ model: 'veo3', aspect_ratio: '4:5' }));
  });

  it('a platform is stored under one name (x -> twitter, "Product Demo" -> product_demo)', () => {
    assert.equal(normalizeGenerateParams({ platform: 'X' }).platform, 'twitter');
    assert.equal(normalizeGenerateParams({ platform: 'Product Demo' }).platform, 'product_demo');
    assert.equal(normalizeGenerateParams({ platform: 'tiktok' }).platform, 'tiktok');
  });

  it('the agent message states format and length in words', () => {
    const c = resolveModelChoice({ platform: 'tiktok', duration: 10, quality: 'cheap' });
    const spec = buildGenerateSpec('auto', c, 'a cat surfing');
    assert.equal(spec.api, 'agent');
    if (spec.api !== 'agent') return;
    assert.match(spec.message, /^a cat surfing/);
    assert.match(spec.message, /vertical 9:16 video for TikTok/);
    assert.match(spec.message, /about 10 seconds/);
    assert.equal(spec.quality, 'cheap');
    assert.equal(spec.template_id, undefined);
    invalid(() => resolveModelChoice({ quality: 'ultra' }));
  });

  it('templates map to their ids, go to the agent and never fall back', () => {
    const cases: [Record<string, string>, string][] = [
      [{ template: 'story' }, TEMPLATE_IDS['veo3 story']],
      [{ template: 'story', model: 'sora2' }, TEMPLATE_IDS['sora2 story']],
      [{ template: 'Veo3 Story' }, TEMPLATE_IDS['veo3 story']],
      [{ template: 'sora2 story' }, TEMPLATE_IDS['sora2 story']],
      [{ template: 'extend' }, TEMPLATE_IDS['veo3 extend']],
      [{ template: 'veo3 extend' }, TEMPLATE_IDS['veo3 extend']],
      [{ template: 'sora2-extend' }, TEMPLATE_IDS['sora2 extend']],
      [{ template: 'kids' }, TEMPLATE_IDS.kids],
      [{ template: 'podcast single' }, TEMPLATE_IDS['podcast single']],
      [{ template: 'podcast dual' }, TEMPLATE_IDS['podcast dual']],
      [{ template: 'music video' }, TEMPLATE_IDS['music video']],
    ];
    for (const [params, id] of cases) {
      const c = resolveModelChoice(params);
      assert.equal(c.templateId, id, JSON.stringify(params));
      assert.deepEqual(c.chain, ['auto']);
      const spec = buildGenerateSpec('auto', c, 'story of a fox');
      assert.equal(spec.api === 'agent' && spec.template_id, id);
    }
    assert.equal(TEMPLATE_IDS['music video'], '57a003c8-ea94-44a8-8e32-d2ec53ea780b');
    invalid(() => resolveModelChoice({ template: 'wedding' }));
    invalid(() => resolveModelChoice({ template: 'veo3 story', model: 'sora2' }));
  });

  it('a clip or audio track keeps the request on the agent', () => {
    assert.deepEqual(resolveModelChoice({}, { hasOtherMedia: true }).chain, ['auto']);
    invalid(() => resolveModelChoice({ model: 'veo3' }, { hasOtherMedia: true }));
    const c = resolveModelChoice({ template: 'extend' }, { hasOtherMedia: true });
    const spec = buildGenerateSpec('auto', c, 'continue', { video: 'https://x.test/clip.mp4' });
    assert.match(spec.api === 'agent' ? spec.message : '', /Source clip: https:\/\/x\.test\/clip\.mp4/);
  });

  it('lip sync: image -> image-lipsync-api tool; video -> precise agent instruction', () => {
    assert.deepEqual(buildImageLipSyncSpec('https://x.test/face.png', 'https://x.test/a.mp3'), {
      api: 'tool',
      model: 'lip sync',
      label: 'Lip sync (still image)',
      tool_type: 'image-lipsync-api',
      input: { image_url: 'https://x.test/face.png', audio_url: 'https://x.test/a.mp3' },
    });
    const v = buildVideoLipSyncSpec('https://x.test/v.mp4', 'https://x.test/a.mp3', 'quality');
    assert.equal(v.api, 'agent');
    const msg = v.api === 'agent' ? v.message : '';
    assert.match(msg, /Source video: https:\/\/x\.test\/v\.mp4/);
    assert.match(msg, /Audio track: https:\/\/x\.test\/a\.mp3/);
    assert.match(msg, /change only the lip and jaw movement/);
  });
});
