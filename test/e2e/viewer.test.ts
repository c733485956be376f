/**
 * The result viewer (MCP App, issue 19 item 5) in real headless Chromium: a minimal MCP Apps host page
 * frames the `ui://lipsync/viewer` resource (as read from the server), answers `ui/initialize`, sends
 * the real `get_task_status` result, and forwards the page's `resources/read` to the MCP client.
 */
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { harness, testEnv } from '../helpers/app.js';
import { makeVideo } from '../helpers/media.js';
import { chromiumSkip } from '../helpers/system-tools.js';
import { launch } from '../helpers/viewer-host.js';
import { seedTask } from '../mcp/seed.js';

const skip = chromiumSkip;

/** The host side of the MCP Apps protocol, as small as a host can be. */
const HOST = `<!doctype html><html><body><iframe id="app" sandbox="allow-scripts" style="width:640px;height:480px"></iframe>
<script>
  const frame = document.getElementById('app');
  window.start = (html, toolResult) => {
    window.addEventListener('message', async (ev) => {
      const m = ev.data;
      if (!m || m.jsonrpc !== '2.0' || ev.source !== frame.contentWindow) return;
      const reply = (msg) => frame.contentWindow.postMessage({ jsonrpc: '2.0', ...msg }, '*');
      if (m.method === 'ui/initialize') {
        window.initialized = m.params;
        reply({ id: m.id, result: { protocolVersion: m.params.protocolVersion, hostInfo: { name: 'test-host', version: '1' }, hostCapabilities: { serverResources: {} }, hostContext: {} } });
      } else if (m.method === 'ui/notifications/initialized') {
        reply({ method: 'ui/notifications/tool-result', params: toolResult });
      } else if (m.method === 'resources/read') {
        try { reply({ id: m.id, result: await window.mcpRead(m.params.uri) }); }
        catch (e) { reply({ id: m.id, error: { code: -32002, message: String(e) } }); }
      }
    });
    frame.srcdoc = html;
  };
</script></body></html>`;

/** Makes an MP4 larger than one media range (4 MiB) by appending a `free` box, which players skip. */
function padMp4(path: string, bytes: number): string {
  const box = Buffer.alloc(bytes);
  box.writeUInt32BE(bytes, 0);
  box.write('free', 4, 'latin1');
  appendFileSync(path, box);
  return path;
}

test('the viewer loads from its ui:// resource, shows the status and plays the result in headless Chromium', {
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
    await seedTask(h.app.ledger, 'view-1', { status: 'success', snapshot: { status: 'success', resultUrl } });
    const tool = (await h.client.listTools()).tools.find((t) => t.name === 'get_task_status');
    assert.equal((tool?._meta?.ui as { resourceUri?: string })?.resourceUri, 'ui://lipsync/viewer');
    const page = await h.client.readResource({ uri: 'ui://lipsync/viewer' });
    const item = page.contents[0] as { mimeType: string; text: string };
    assert.equal(item.mimeType, 'text/html;profile=mcp-app');
    assert.doesNotMatch(item.text, /<script[^>]+src=|<link[^>]+href=|fetch\(/, 'no external loads');
    const result = await h.call('get_task_status', { task_id: 'view-1' });

    const tab = await browser.newPage();
    await tab.exposeFunction('mcpRead', (uri: string) => h.client.readResource({ uri }));
    await tab.setContent(HOST);
    await tab.evaluate(
      ([html, r]) => (globalThis as unknown as { start(h: string, r: unknown): void }).start(html, r),
      [item.text, result] as const,
    );
    const frame = tab.frameLocator('#app');
    await frame.locator('#status[data-status="success"]').waitFor();
    assert.match((await frame.locator('#task').textContent()) ?? '', /view-1/);
    const app = tab.frames().find((f) => f !== tab.mainFrame());
    assert.ok(app);
    // In the page: play (muted autoplay is allowed) until time has advanced on a decoded frame.
    await app.waitForFunction(`(() => {
      const v = document.getElementById('player');
      if (v.paused) v.play().catch(() => undefined);
      return v.currentTime > 0 && v.readyState >= 2 && !v.error;
    })()`);
    assert.equal(await app.evaluate(`document.getElementById('player').error`), null);
  } finally {
    await browser.close();
    media.close();
    await h.close();
    env.cleanup();
  }
});

test('for a finished local task the viewer shows the original beside the result (each larger than one range) and the mouth-cue timeline', {
  skip,
}, async () => {
  const env = testEnv();
  const h = await harness(env.env);
  const browser = await launch();
  try {
    const dir = join(h.app.config.outputDir, 'work', 'view-local');
    mkdirSync(dir, { recursive: true });
    const original = await makeVideo({
      file: join(env.work, 'talk.mp4'),
      seconds: 1,
      width: 160,
      height: 120,
      fps: 10,
    });
    const result = await makeVideo({
      file: join(dir, 'r.mp4'),
      seconds: 1,
      width: 160,
      height: 120,
      fps: 10,
    });
    const cues = {
      metadata: { soundFile: 'r.mp4', duration: 1 },
      mouthCues: [
        { start: 0, end: 0.3, value: 'X' },
        { start: 0.3, end: 0.6, value: 'C' },
        { start: 0.6, end: 1, value: 'B' },
      ],
    };
    // Both over one 4 MiB range: the page reads them range by range.
    padMp4(original, 5 * 1024 * 1024);
    padMp4(result, 6 * 1024 * 1024);
    assert.ok(statSync(result).size > 4 * 1024 * 1024);
    writeFileSync(join(dir, 'r.mouth.json'), JSON.stringify(cues));
    writeFileSync(join(dir, 'r.mouth.tsv'), '0.00\tX\n');
    await seedTask(h.app.ledger, 'view-local', {
      provider: 'local',
      status: 'success',
      request: { inputs: { video: { type: 'file', path: original } } },
      snapshot: {
        status: 'success',
        resultUrl: pathToFileURL(result).href,
        extra: { mouth_cues_json: join(dir, 'r.mouth.json'), mouth_cues_tsv: join(dir, 'r.mouth.tsv') },
      },
    });
    const html = (
      (await h.client.readResource({ uri: 'ui://lipsync/viewer' })).contents[0] as { text: string }
    ).text;
    const status = await h.call('get_task_status', { task_id: 'view-local' });
    const tab = await browser.newPage();
    const asked: string[] = [];
    await tab.exposeFunction('mcpRead', (uri: string) => {
      asked.push(uri);
      return h.client.readResource({ uri });
    });
    await tab.setContent(HOST);
    await tab.evaluate(
      ([p, r]) => (globalThis as unknown as { start(h: string, r: unknown): void }).start(p, r),
      [html, status] as const,
    );
    const frame = tab.frameLocator('#app');
    await frame.locator('#timeline:not([hidden]) .cue[data-shape="C"]').waitFor();
    assert.deepEqual(await frame.locator('.cue').allTextContents(), ['X', 'C', 'B']);
    await frame.locator('#original:not([hidden])').waitFor();
    const app = tab.frames().find((f) => f !== tab.mainFrame());
    assert.ok(app);
    await app.waitForFunction(`(() => ['player', 'original'].every((id) => {
      const v = document.getElementById(id);
      if (v.paused) v.play().catch(() => undefined);
      return v.currentTime > 0 && v.readyState >= 2 && !v.error;
    }))()`);
    for (const which of ['result', 'original'])
      assert.ok(
        asked.some((u) => u.includes(`/media/${which}?offset=4194304`)),
        `the page read the ${which} in ranges: ${asked.join(' ')}`,
      );
  } finally {
    await browser.close();
    await h.close();
    env.cleanup();
  }
});
