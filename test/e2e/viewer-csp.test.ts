/**
 * The viewer declares the content-security policy it needs (issue 25 item 5): a host that follows
 * the MCP Apps spec builds the frame's CSP from the resource's `_meta.ui.csp` (its restrictive default
 * plus the declared domains), and under that CSP both players load, in headless Chromium: no
 * `securitypolicyviolation`, readyState >= 1, no MEDIA_ELEMENT_ERROR. Covers a cloud result played by
 * URL and a local task whose videos are played from blob: URLs.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { harness, testEnv } from '../helpers/app.js';
import { makeVideo } from '../helpers/media.js';
import { host, launch, skipWithoutChromium as skip, specCsp, type UiCsp } from '../helpers/viewer-host.js';
import { seedTask } from '../mcp/seed.js';

interface UiMeta {
  ui?: { csp?: UiCsp };
}

/** What a spec host reads: the content item's `_meta.ui`, else the listing entry's. */
async function viewerWithCsp(client: Awaited<ReturnType<typeof harness>>['client']) {
  const read = (await client.readResource({ uri: 'ui://lipsync/viewer' })).contents[0] as {
    text: string;
    _meta?: UiMeta;
  };
  const listed = (await client.listResources()).resources.find((r) => r.uri === 'ui://lipsync/viewer');
  const csp = read._meta?.ui?.csp ?? (listed?._meta as UiMeta | undefined)?.ui?.csp;
  return { html: read.text, csp: specCsp(csp) };
}

// Predicates are functions, not strings: Playwright turns a string predicate into code with eval inside
// the page, which the spec's CSP (no 'unsafe-eval') refuses; a function is called through the protocol.
// The page's document, typed as far as these predicates use it (the test build has no DOM library).
type Page = {
  document: { getElementById(id: string): { readyState: number; error: unknown; src: string } | null };
};

const playable = (ids: string[]) => ({
  fn: (list: string[]) =>
    list.every((id) => {
      const v = (globalThis as unknown as Page).document.getElementById(id);
      return !!v && (v.readyState >= 1 || !!v.error);
    }),
  arg: ids,
});

async function waitPlayable(app: import('playwright-core').Frame, ids: string[]) {
  const { fn, arg } = playable(ids);
  await app.waitForFunction(fn, arg);
}

async function mediaState(app: import('playwright-core').Frame, ids: string[]) {
  return app.evaluate(
    `${JSON.stringify(ids)}.map((id) => { const v = document.getElementById(id); return { id, readyState: v.readyState, error: v.error && v.error.code }; })`,
  ) as Promise<{ id: string; readyState: number; error: number | null }[]>;
}

test('under the CSP a spec host builds from its declaration, the viewer plays a cloud result by URL', {
  skip,
}, async () => {
  const env = testEnv({ JOGG_API_KEY: 'k-test-123456', JOGG_BASE_URL: 'http://127.0.0.1:9' });
  const h = await harness(env.env);
  const mp4 = await makeVideo({
    file: join(env.work, 'result.mp4'),
    seconds: 1,
    width: 160,
    height: 120,
    fps: 10,
  });
  const bytes = readFileSync(mp4);
  const media = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': bytes.length });
    res.end(bytes);
  });
  await new Promise<void>((r) => media.listen(0, '127.0.0.1', r));
  const resultUrl = `http://127.0.0.1:${(media.address() as AddressInfo).port}/result.mp4`;
  const browser = await launch();
  try {
    await seedTask(h.app.ledger, 'csp-cloud', {
      status: 'success',
      snapshot: { status: 'success', resultUrl },
    });
    const toolResult = await h.call('get_task_status', { task_id: 'csp-cloud' });
    const { html, csp } = await viewerWithCsp(h.client);
    const v = await host(browser, {
      html,
      csp,
      toolResult,
      width: 768,
      read: (uri) => h.client.readResource({ uri }),
    });
    try {
      await v.app.locator('#status[data-status="success"]').waitFor();
      await waitPlayable(v.app, ['player']);
      const state = await mediaState(v.app, ['player']);
      assert.deepEqual(await v.violations(), [], `CSP violations under: ${csp}`);
      assert.deepEqual(state, [{ id: 'player', readyState: state[0]?.readyState, error: null }]);
      assert.ok((state[0]?.readyState ?? 0) >= 1, `player readyState ${state[0]?.readyState}`);
    } finally {
      await v.close();
    }
  } finally {
    await browser.close();
    media.close();
    await h.close();
    env.cleanup();
  }
});

test('under the CSP a spec host builds from its declaration, a local task plays both videos from blob: URLs', {
  skip,
}, async () => {
  const env = testEnv();
  const h = await harness(env.env);
  const browser = await launch();
  try {
    const dir = join(h.app.config.outputDir, 'work', 'csp-local');
    mkdirSync(dir, { recursive: true });
    const spec = { seconds: 1, width: 160, height: 120, fps: 10 };
    const original = await makeVideo({ ...spec, file: join(env.work, 'talk.mp4') });
    const result = await makeVideo({ ...spec, file: join(dir, 'r.mp4') });
    const cues = {
      metadata: { soundFile: 'r.mp4', duration: 1 },
      mouthCues: [{ start: 0, end: 1, value: 'B' }],
    };
    writeFileSync(join(dir, 'r.mouth.json'), JSON.stringify(cues));
    writeFileSync(join(dir, 'r.mouth.tsv'), '0.00\tB\n');
    await seedTask(h.app.ledger, 'csp-local', {
      provider: 'local',
      status: 'success',
      request: { inputs: { video: { type: 'file', path: original } } },
      snapshot: {
        status: 'success',
        resultUrl: pathToFileURL(result).href,
        extra: { mouth_cues_json: join(dir, 'r.mouth.json'), mouth_cues_tsv: join(dir, 'r.mouth.tsv') },
      },
    });
    const toolResult = await h.call('get_task_status', { task_id: 'csp-local' });
    const { html, csp } = await viewerWithCsp(h.client);
    const v = await host(browser, {
      html,
      csp,
      toolResult,
      width: 768,
      read: (uri) => h.client.readResource({ uri }),
    });
    try {
      await v.app.locator('#original:not([hidden])').waitFor();
      await v.app.waitForFunction(() =>
        (globalThis as unknown as Page).document.getElementById('player')?.src.startsWith('blob:'),
      );
      await waitPlayable(v.app, ['player', 'original']);
      const state = await mediaState(v.app, ['player', 'original']);
      assert.deepEqual(await v.violations(), [], `CSP violations under: ${csp}`);
      for (const s of state) {
        assert.equal(s.error, null, `${s.id}: MEDIA_ELEMENT_ERROR ${s.error}`);
        assert.ok(s.readyState >= 1, `${s.id}: readyState ${s.readyState}`);
      }
    } finally {
      await v.close();
    }
  } finally {
    await browser.close();
    await h.close();
    env.cleanup();
  }
});
