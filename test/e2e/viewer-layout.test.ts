/**
 * The result viewer is legible and complete (issue 27 item 2), in headless Chromium: at 360, 768 and
 * 1280 px with 640x360 and 1280x720 media both videos lie fully inside the page, their labels do not
 * overlap them, the mouth-cue letters have a legend, and the page says what the job did (lip motion
 * unchanged, the alignment, the warnings, the cost). Opened outside a host, it says what it is.
 * Screenshots go to dist/viewer-shots/ (look at them: test/snapshots/viewer-768.png is one of them).
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { Frame } from 'playwright-core';
import { harness, testEnv } from '../helpers/app.js';
import { makeVideo } from '../helpers/media.js';
import { host, launch, skipWithoutChromium as skip } from '../helpers/viewer-host.js';
import { seedTask } from '../mcp/seed.js';

const SHOTS = join('dist', 'viewer-shots');
const ALIGN_NOTE = 'the new audio was 240 ms late; it was advanced by 240 ms';
const WARNING =
  'The audio (2.0 s) is 25% longer than the video (1.6 s): lip sync suffers when the lengths differ. Trim or stretch one of them.';

interface Box {
  left: number;
  right: number;
  top: number;
  bottom: number;
  width: number;
  height: number;
}

/** Boxes of the videos and of every label, and the page's width, measured inside the viewer. */
async function measure(app: Frame) {
  return app.evaluate(`(() => {
    const box = (el) => { const r = el.getBoundingClientRect(); return { left: r.left, right: r.right, top: r.top, bottom: r.bottom, width: r.width, height: r.height }; };
    const doc = document.documentElement;
    return {
      pageWidth: doc.clientWidth,
      scrollWidth: doc.scrollWidth,
      videos: ['original', 'player'].map((id) => box(document.getElementById(id))),
      labels: [...document.querySelectorAll('figcaption, .label')].filter((e) => e.offsetParent).map(box),
    };
  })()`) as Promise<{ pageWidth: number; scrollWidth: number; videos: Box[]; labels: Box[] }>;
}

/** The text a person sees (innerText leaves out hidden parts, which is the point here). */
async function visibleText(app: Frame): Promise<string> {
  // biome-ignore lint/performance/useDomNodeTextContent: hidden text must not count
  return (await app.locator('body').innerText()).replace(/\s+/g, ' ');
}

const overlaps = (a: Box, b: Box) =>
  a.left < b.right - 0.5 && b.left < a.right - 0.5 && a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5;

test('the viewer fits both videos, labels, a cue legend and the job facts at 360, 768 and 1280 px', {
  skip,
}, async () => {
  const env = testEnv();
  // media: undefined finds the bundled ffmpeg, so the local engine (a free provider) is registered.
  const h = await harness(env.env, { media: undefined });
  const browser = await launch();
  mkdirSync(SHOTS, { recursive: true });
  try {
    const html = (
      (await h.client.readResource({ uri: 'ui://lipsync/viewer' })).contents[0] as { text: string }
    ).text;
    for (const [mw, mh] of [
      [640, 360],
      [1280, 720],
    ] as const) {
      const id = `layout-${mw}`;
      const dir = join(h.app.config.outputDir, 'work', id);
      mkdirSync(dir, { recursive: true });
      const video = { seconds: 1, width: mw, height: mh, fps: 10 };
      const original = await makeVideo({ ...video, file: join(env.work, `talk-${mw}.mp4`) });
      const result = await makeVideo({ ...video, file: join(dir, 'r.mp4') });
      const cues = [
        { start: 0, end: 0.2, value: 'X' },
        { start: 0.2, end: 0.4, value: 'A' },
        { start: 0.4, end: 0.6, value: 'C' },
        { start: 0.6, end: 0.8, value: 'F' },
        { start: 0.8, end: 1, value: 'B' },
      ];
      writeFileSync(
        join(dir, 'r.mouth.json'),
        JSON.stringify({ metadata: { soundFile: 'r.mp4', duration: 1 }, mouthCues: cues }),
      );
      writeFileSync(join(dir, 'r.mouth.tsv'), '0.00\tX\n');
      await seedTask(h.app.ledger, id, {
        provider: 'local',
        status: 'success',
        warnings: [WARNING],
        request: { inputs: { video: { type: 'file', path: original } } },
        snapshot: {
          status: 'success',
          resultUrl: pathToFileURL(result).href,
          durationSeconds: 1,
          extra: {
            lip_motion: 'unchanged',
            engine_note:
              'The local engine replaces and aligns the soundtrack and fits the video to it; it does not re-animate the mouth.',
            offset_ms: -240,
            aligned: true,
            align_note: ALIGN_NOTE,
            mouth_cues_json: join(dir, 'r.mouth.json'),
            mouth_cues_tsv: join(dir, 'r.mouth.tsv'),
          },
        },
      });
      const toolResult = await h.call('get_task_status', { task_id: id });
      for (const width of [360, 768, 1280]) {
        const where = `${width} px, ${mw}x${mh} media`;
        const v = await host(browser, {
          html,
          toolResult,
          width,
          height: 1400,
          read: (uri) => h.client.readResource({ uri }),
        });
        try {
          await v.app.locator('#timeline:not([hidden]) .cue[data-shape="C"]').waitFor();
          await v.app.locator('#original:not([hidden])').waitFor();
          await v.app.waitForFunction(
            `['player', 'original'].every((id) => document.getElementById(id).readyState >= 2)`,
          );
          const m = await measure(v.app);
          assert.ok(
            m.scrollWidth <= m.pageWidth,
            `${where}: the page scrolls sideways (${m.scrollWidth} > ${m.pageWidth} px)`,
          );
          for (const [i, b] of m.videos.entries()) {
            const name = i ? 'result' : 'original';
            assert.ok(
              b.left >= 0 && b.right <= m.pageWidth + 0.5,
              `${where}: the ${name} video spans ${b.left}..${b.right} px of a ${m.pageWidth} px page`,
            );
            assert.ok(
              b.width >= Math.min(0.4 * m.pageWidth, 300),
              `${where}: the ${name} video is only ${b.width} px wide`,
            );
            for (const l of m.labels)
              assert.ok(
                !overlaps(l, b),
                `${where}: a label (${JSON.stringify(l)}) lies over the ${name} video (${JSON.stringify(b)})`,
              );
          }
          assert.ok(!overlaps(m.videos[0] as Box, m.videos[1] as Box), `${where}: the two videos overlap`);
          await v.app.locator('#cost:not(:empty)').waitFor({ timeout: 10_000 });
          await v.app.locator('body').screenshot({ path: join(SHOTS, `viewer-${width}-${mw}x${mh}.png`) });
          const text = await visibleText(v.app);
          for (const shape of ['A', 'B', 'C', 'F', 'X'])
            assert.ok(
              await v.app.locator(`#legend [data-shape="${shape}"]`).count(),
              `${where}: no legend entry for ${shape}`,
            );
          assert.match(
            text,
            /lip motion[^.]*unchanged/i,
            `${where}: not told that the lips were not re-animated`,
          );
          assert.ok(text.includes(ALIGN_NOTE), `${where}: the alignment note is missing`);
          assert.ok(text.includes(WARNING), `${where}: the warning is missing`);
          assert.match(text, /cost[^.]*free/i, `${where}: the cost is missing`);
          // The host sizes its frame from ui/notifications/size-changed: the last one covers the facts.
          const bottom = (await v.app.evaluate(
            `Math.ceil(document.getElementById('facts').getBoundingClientRect().bottom)`,
          )) as number;
          const reported = await v.tab
            .waitForFunction(
              (b: number) =>
                (globalThis as unknown as { sizes: { height?: number }[] }).sizes.some(
                  (s) => (s.height ?? 0) >= b,
                ),
              bottom,
              { timeout: 10_000 },
            )
            .then(
              () => true,
              () => false,
            );
          assert.ok(
            reported,
            `${where}: the page never reported a height of ${bottom} px or more (ui/notifications/size-changed: ${JSON.stringify(await v.sizes())})`,
          );
          await v.tab.waitForFunction(
            (b) =>
              (globalThis as unknown as { sizes: { height?: number }[] }).sizes.some(
                (s) => (s.height ?? 0) >= b,
              ),
            bottom,
            { timeout: 10_000 },
          );
        } finally {
          await v.close();
        }
      }
    }
  } finally {
    await browser.close();
    await h.close();
    env.cleanup();
  }
});

test('a cloud task shows its recorded cost and the warnings', { skip }, async () => {
  const env = testEnv({ JOGG_API_KEY: 'k-test-123456', JOGG_BASE_URL: 'http://127.0.0.1:9' });
  const h = await harness(env.env);
  const browser = await launch();
  try {
    await seedTask(h.app.ledger, 'paid-1', {
      status: 'success',
      warnings: [WARNING],
      cost: { amount: 2, unit: 'credits' },
      snapshot: { status: 'success', resultUrl: 'data:video/mp4;base64,AAAA' },
    });
    const html = (
      (await h.client.readResource({ uri: 'ui://lipsync/viewer' })).contents[0] as { text: string }
    ).text;
    const toolResult = await h.call('get_task_status', { task_id: 'paid-1' });
    const v = await host(browser, {
      html,
      toolResult,
      width: 768,
      read: (uri) => h.client.readResource({ uri }),
    });
    try {
      await v.app.locator('#cost:not(:empty)').waitFor({ timeout: 10_000 });
      const text = await visibleText(v.app);
      assert.match(text, /cost[^.]*2 credits[^.]*estimate/i);
      assert.ok(text.includes(WARNING));
      assert.doesNotMatch(text, /lip motion/i, 'only the local engine leaves the lips as they were');
    } finally {
      await v.close();
    }
  } finally {
    await browser.close();
    await h.close();
    env.cleanup();
  }
});

test('opened outside a host, the viewer says what it is and how it is used', { skip }, async () => {
  const env = testEnv();
  const h = await harness(env.env);
  const browser = await launch();
  try {
    const html = (
      (await h.client.readResource({ uri: 'ui://lipsync/viewer' })).contents[0] as { text: string }
    ).text;
    const v = await host(browser, { html, width: 768, silent: true });
    try {
      await v.app.locator('#standalone:not([hidden])').waitFor({ timeout: 10_000 });
      const text = await visibleText(v.app);
      assert.match(text, /result viewer/i);
      assert.match(text, /MCP Apps/);
      assert.match(text, /get_task_status/);
      assert.doesNotMatch(text, /waiting/i);
      const players = await v.app.locator('video:visible').count();
      assert.equal(players, 0, 'no empty black player');
      await v.app.locator('body').screenshot({ path: join(SHOTS, 'viewer-standalone.png') });
    } finally {
      await v.close();
    }
  } finally {
    await browser.close();
    await h.close();
    env.cleanup();
  }
});
