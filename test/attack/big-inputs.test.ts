/**
 * Attack: big and hostile inputs through the HTTP face (2026-07-28 requests): a ledger of many tasks
 * paged with list_tasks and resources/list, megabyte arguments, unicode and path-traversal names.
 * Expectations: README (Tools, Errors, "Local inputs must resolve ... under an allowed folder, with no
 * hidden path segment"; URLs "http(s) ... loopback, private, link-local ... refused"; download_result
 * "writes only inside the output folder") and design.md §8.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type FakeDirector, startFakeDirector } from '../fakes/director/index.js';
import { makePair } from '../helpers/clips.js';
import { makeAudio, makeSpeechLike } from '../helpers/media.js';
import { call26, rpcResult, type Served, serve } from './serve.js';

interface ToolAnswer {
  isError?: boolean;
  content: Array<{ type: string; text?: string }>;
  structuredContent?: Record<string, unknown>;
}

let nextId = 5000;
async function tool(
  s: Served,
  name: string,
  args: Record<string, unknown>,
): Promise<{ r: ToolAnswer; raw: string; status: number }> {
  const a = await call26(s.url, nextId++, 'tools/call', { name, arguments: args });
  assert.ok(a.status < 500, `${name}: HTTP ${a.status} ${a.text.slice(0, 300)}`);
  return { r: rpcResult<ToolAnswer>(a), raw: a.text, status: a.status };
}

function toolError(t: { r: ToolAnswer; raw: string }): { code: string; message: string; hint?: string } {
  assert.equal(t.r.isError, true, `expected a tool error: ${t.raw.slice(0, 400)}`);
  const e = (
    JSON.parse(t.r.content[0]?.text ?? '{}') as { error?: { code: string; message: string; hint?: string } }
  ).error;
  assert.ok(e?.code && e.message, t.raw.slice(0, 400));
  return e;
}

describe('big and hostile inputs over HTTP', () => {
  let s: Served;
  let director: FakeDirector;
  const ids: string[] = [];

  before(async () => {
    director = await startFakeDirector();
    director.faults.stall = true; // the tasks stay processing: a ledger of many open tasks
    s = await serve({
      GATEWAY_TOKEN: director.token,
      DIRECTOR_GATEWAY_URL: director.url,
      LIPSYNC_HTTP_MAX_BODY_KB: '4096',
      LIPSYNC_ALLOW_PRIVATE_URLS: 'false',
    });
  });
  after(async () => {
    await s?.stop();
    await director?.close();
  });

  test('a ledger of 30 tasks pages through list_tasks (limit 7) with each task exactly once, newest first', async () => {
    for (let i = 0; i < 30; i++) {
      const t = await tool(s, 'generate_image', { prompt: `a lighthouse at dusk, take ${i}`, confirm: true });
      assert.notEqual(t.r.isError, true, t.raw.slice(0, 400));
      ids.push((t.r.structuredContent as { task_id: string }).task_id);
    }
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 20; page++) {
      const t = await tool(s, 'list_tasks', { limit: 7, ...(cursor ? { cursor } : {}) });
      assert.notEqual(t.r.isError, true, t.raw.slice(0, 400));
      const sc = t.r.structuredContent as { tasks: Array<{ task_id: string }>; next_cursor?: string | null };
      assert.ok(sc.tasks.length <= 7, `page of ${sc.tasks.length}`);
      seen.push(...sc.tasks.map((x) => x.task_id));
      cursor = sc.next_cursor ?? undefined;
      if (!cursor) break;
    }
    assert.equal(new Set(seen).size, seen.length, 'a task listed twice');
    assert.deepEqual([...seen].sort(), [...ids].sort());
    assert.deepEqual(seen, [...ids].reverse(), 'newest first');
  });

  test('resources/list pages through the same 30 tasks, each once', async () => {
    assert.equal(ids.length, 30, 'needs the ledger of the previous case');
    const uris: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 50; page++) {
      const a = await call26(s.url, nextId++, 'resources/list', cursor ? { cursor } : {});
      const r = rpcResult<{ resources: Array<{ uri: string }>; nextCursor?: string }>(a);
      uris.push(...r.resources.map((x) => x.uri).filter((u) => /^lipsync:\/\/tasks\/[^/]+$/.test(u)));
      cursor = r.nextCursor;
      if (!cursor) break;
    }
    assert.equal(new Set(uris).size, uris.length, 'a resource listed twice');
    for (const id of ids) assert.ok(uris.includes(`lipsync://tasks/${id}`), `missing ${id}`);
  });

  test('list_tasks with a forged, a huge and a foreign cursor: invalid_input naming the cursor', async () => {
    for (const cursor of [
      'garbage',
      'x'.repeat(500_000),
      Buffer.from('{"offset":-1}').toString('base64'),
      '../../etc/passwd',
    ]) {
      const e = toolError(await tool(s, 'list_tasks', { cursor }));
      assert.equal(e.code, 'invalid_input', JSON.stringify(e));
      assert.match(e.message, /cursor/i);
      assert.ok(e.message.length < 2_000, 'the error echoes the cursor back');
    }
  });

  test('list_tasks with limits 0, -1, 1.5, 1e9 and "7": a clean error or a bounded page', async () => {
    for (const limit of [0, -1, 1.5, 1e9, '7']) {
      const t = await tool(s, 'list_tasks', { limit });
      if (t.r.isError) assert.equal(toolError(t).code, 'invalid_input');
      else assert.ok((t.r.structuredContent as { tasks: unknown[] }).tasks.length <= 1000);
    }
  });

  test('a 1 MB argument (video path) is refused as invalid_input without echoing the megabyte back', async () => {
    const t = await tool(s, 'create_lip_sync', {
      provider: 'local',
      video: `/${'a'.repeat(1_000_000)}.mp4`,
      audio: '/x.wav',
      dry_run: true,
    });
    const e = toolError(t);
    assert.equal(e.code, 'invalid_input');
    assert.ok(t.raw.length < 20_000, `answer of ${t.raw.length} bytes`);
  });

  test('a 3 MB prompt is refused as invalid_input, nothing created', async () => {
    const before = director.creates().length;
    const t = await tool(s, 'generate_image', { prompt: 'p'.repeat(3_000_000), confirm: true });
    const e = toolError(t);
    assert.equal(e.code, 'invalid_input');
    assert.ok(t.raw.length < 20_000, `answer of ${t.raw.length} bytes`);
    assert.equal(director.creates().length, before);
  });

  test('unicode file names (Cyrillic, emoji, RTL override, combining marks) are accepted (dry run)', async () => {
    const dir = join(s.work, 'ünïcödé 🎬');
    mkdirSync(dir, { recursive: true });
    const { video, audio } = await makePair(dir, 61, {
      video: 'видео ‮4pm.mp4',
      audio: 'e\u0301te\u0301 ✓.wav',
    });
    const t = await tool(s, 'create_lip_sync', { provider: 'local', video, audio, dry_run: true });
    assert.notEqual(t.r.isError, true, t.raw.slice(0, 500));
  });

  test('path traversal out of the allowed folder is refused and nothing of the file leaks', async () => {
    const audio = await makeAudio({
      file: join(s.work, 'ok.wav'),
      pcm: makeSpeechLike(7, 1),
      sampleRate: 16_000,
    });
    for (const video of [
      `${s.work}/../../../../../../etc/passwd`,
      '/etc/passwd',
      `${s.work}/%2e%2e/%2e%2e/etc/passwd`,
      '~/../../etc/passwd',
    ]) {
      const t = await tool(s, 'create_lip_sync', { provider: 'local', video, audio, dry_run: true });
      const e = toolError(t);
      assert.equal(e.code, 'invalid_input', `${video}: ${JSON.stringify(e)}`);
      assert.doesNotMatch(t.raw, /root:x:0:0/);
    }
  });

  test('a symlink inside the allowed folder pointing outside, and a hidden path segment, are refused', async () => {
    const audio = join(s.work, 'ok.wav');
    if (!existsSync(audio)) await makeAudio({ file: audio, pcm: makeSpeechLike(7, 1), sampleRate: 16_000 });
    const link = join(s.work, 'innocent.mp4');
    symlinkSync('/etc/passwd', link);
    const hidden = join(s.work, '.ssh');
    mkdirSync(hidden, { recursive: true });
    writeFileSync(join(hidden, 'id_ed25519.mp4'), 'PRIVATE KEY');
    for (const video of [link, join(hidden, 'id_ed25519.mp4')]) {
      const t = await tool(s, 'create_lip_sync', { provider: 'local', video, audio, dry_run: true });
      const e = toolError(t);
      assert.equal(e.code, 'invalid_input', `${video}: ${JSON.stringify(e)}`);
      assert.doesNotMatch(t.raw, /PRIVATE KEY|root:x:0:0/);
    }
  });

  test('a NUL byte and a 5 000-character path: invalid_input in words, no errno or stack', async () => {
    for (const video of [
      `${s.work}/a\u0000b.mp4`,
      `${s.work}/${'d/'.repeat(2_500)}v.mp4`,
      `${s.work}/${'n'.repeat(5_000)}.mp4`,
    ]) {
      const t = await tool(s, 'create_lip_sync', {
        provider: 'local',
        video,
        audio: join(s.work, 'ok.wav'),
        dry_run: true,
      });
      const e = toolError(t);
      assert.equal(e.code, 'invalid_input', JSON.stringify(e).slice(0, 300));
      assert.doesNotMatch(e.message, /ENAMETOOLONG|ERR_INVALID_ARG|\bat .+:\d+:\d+/, e.message.slice(0, 300));
    }
  });

  test('file://, metadata, loopback and credential URLs are refused (README: URLs)', async () => {
    for (const video of [
      'file:///etc/passwd',
      'http://169.254.169.254/latest/meta-data/',
      'http://127.0.0.1:22/x.mp4',
      'https://user:pass@example.com/v.mp4',
      'http://[::1]/v.mp4',
      'http://0x7f000001/v.mp4',
    ]) {
      const t = await tool(s, 'create_lip_sync', {
        provider: 'director',
        video,
        audio: 'https://example.com/a.wav',
        dry_run: true,
      });
      const e = toolError(t);
      assert.equal(e.code, 'invalid_input', `${video}: ${JSON.stringify(e)}`);
      assert.doesNotMatch(t.raw, /pass@/, 'the URL password is echoed');
    }
  });

  test('download_result with a traversal filename writes only inside the output folder', async () => {
    const { video, audio } = await makePair(s.work, 62, { video: 'dl.mp4', audio: 'dl.wav' });
    const c = await tool(s, 'create_lip_sync', { provider: 'local', video, audio });
    const id = (c.r.structuredContent as { task_id: string }).task_id;
    let status = '';
    for (let i = 0; i < 100 && status !== 'success' && status !== 'failed'; i++) {
      const st = await tool(s, 'get_task_status', { task_id: id, wait_seconds: 50 });
      status = (st.r.structuredContent as { status: string }).status;
    }
    assert.equal(status, 'success');
    const outputs = join(s.root, 'lipsync', 'outputs');
    for (const filename of [
      '../../escape.mp4',
      '/tmp/escape-abs.mp4',
      '..',
      'sub/../../escape2.mp4',
      'con\u0000.mp4',
    ]) {
      const t = await tool(s, 'download_result', { task_id: id, filename });
      if (t.r.isError) {
        assert.equal(toolError(t).code, 'invalid_input', t.raw.slice(0, 300));
      } else {
        const path = (t.r.structuredContent as { path: string }).path;
        assert.ok(path.startsWith(`${outputs}/`), `${filename} saved at ${path}`);
      }
    }
    assert.ok(!existsSync(join(s.root, 'escape.mp4')) && !existsSync('/tmp/escape-abs.mp4'));
    assert.ok(!readdirSync(s.root).some((f) => f.startsWith('escape')));
  });
});
