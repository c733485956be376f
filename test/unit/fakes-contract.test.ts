/**
 * The fakes refuse what the services refuse (issue 31 item 2), the way each service refuses it, so a
 * malformed request from the product fails a test instead of passing quietly; and they can answer the
 * contract's awkward shapes on demand.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type FakeDirector, startFakeDirector } from '../fakes/director/index.js';
import { type FakeJogg, startFakeJogg } from '../fakes/jogg/index.js';
import { type FakeNemo, startFakeNemo } from '../fakes/nemovideo/index.js';

async function json(res: Response): Promise<{ status: number; body: Record<string, unknown> }> {
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('Jogg fake: the contract', () => {
  let fake: FakeJogg;
  const api = (path: string, init: RequestInit = {}) =>
    fetch(`${fake.url}${path}`, {
      ...init,
      headers: { 'x-api-key': fake.apiKey, 'content-type': 'application/json', ...init.headers },
    }).then(json);
  const signed = async (filename: string, contentType: string) => {
    const r = await api('/v2/upload/asset', {
      method: 'POST',
      body: JSON.stringify({ filename, content_type: contentType }),
    });
    assert.equal(r.body.code, 0, JSON.stringify(r.body));
    return r.body.data as { sign_url: string; asset_url: string };
  };
  const put = (url: string, type: string | undefined) =>
    fetch(url, { method: 'PUT', body: 'bytes', headers: type ? { 'content-type': type } : {} }).then(
      (r) => r.status,
    );
  before(async () => {
    fake = await startFakeJogg();
  });
  after(() => fake.close());

  test('a signed PUT needs the declared content type and a signed id (403 otherwise)', async () => {
    const s = await signed('clip.mp4', 'video/mp4');
    assert.equal(await put(s.sign_url, 'application/octet-stream'), 403, 'another content type');
    assert.equal(await put(s.sign_url, undefined), 403, 'no content type');
    assert.equal(await put(s.sign_url.replace(/sig=[^&]+/, 'sig=forged'), 'video/mp4'), 403, 'forged sig');
    assert.equal(await put(`${fake.url}/signed/never-issued?sig=x`, 'video/mp4'), 403, 'unknown id');
    assert.equal(await put(s.sign_url, 'video/mp4'), 200);
  });

  test('the upload request declares the runner MIME of its file name (40000 otherwise)', async () => {
    const r = await api('/v2/upload/asset', {
      method: 'POST',
      body: JSON.stringify({ filename: 'a.wav', content_type: 'audio/mpeg' }),
    });
    assert.equal(r.status, 200);
    assert.equal(r.body.code, 40000);
  });

  test('the lookup needs video_url, audio_url and playback_type (40000 otherwise)', async () => {
    const r = await api('/v2/lip_sync_video?video_url=https%3A%2F%2Fx%2Fv.mp4');
    assert.deepEqual([r.status, r.body.code], [200, 40000]);
  });

  test('a create may name only assets whose bytes arrived (40000 otherwise)', async () => {
    const v = await signed('v.mp4', 'video/mp4');
    const a = await signed('a.wav', 'audio/wav');
    const create = () =>
      api('/v2/create_lip_sync_video', {
        method: 'POST',
        body: JSON.stringify({ video_url: v.asset_url, audio_url: a.asset_url, playback_type: 'normal' }),
      });
    assert.equal((await create()).body.code, 40000, 'nothing PUT yet');
    assert.equal(await put(v.sign_url, 'video/mp4'), 200);
    assert.equal(await put(a.sign_url, 'audio/wav'), 200);
    assert.equal((await create()).body.code, 0);
    assert.ok(fake.refusals.length > 0);
  });

  test('switches: a failed task without error; an undocumented status', async () => {
    fake.faults.unknownStatus = 'queued';
    fake.faults.failWithoutError = true;
    fake.faults.failTasks = 'boom';
    fake.faults.queriesToFinish = 2;
    const r = await api('/v2/create_lip_sync_video', {
      method: 'POST',
      body: JSON.stringify({
        video_url: 'https://x/v.mp4',
        audio_url: 'https://x/a.wav',
        playback_type: 'normal',
      }),
    });
    const id = (r.body.data as { task_id: string }).task_id;
    const q1 = (await api(`/v2/lip_sync_video/${id}`)).body.data as Record<string, unknown>;
    assert.equal(q1.status, 'queued');
    const q2 = (await api(`/v2/lip_sync_video/${id}`)).body.data as Record<string, unknown>;
    assert.equal(q2.status, 'failed');
    assert.equal('error' in q2, false);
  });
});

describe('NemoVideo fake: the contract', () => {
  let fake: FakeNemo;
  before(async () => {
    fake = await startFakeNemo();
  });
  after(() => fake.close());

  test('an anonymous token needs X-Client-Id (HTTP 400); a session needs its body (4000)', async () => {
    const noId = await fetch(`${fake.url}/api/auth/anonymous-token`, { method: 'POST' });
    assert.equal(noId.status, 400);
    const tok = await json(
      await fetch(`${fake.url}/api/auth/anonymous-token`, {
        method: 'POST',
        headers: { 'x-client-id': '00000000-0000-4000-8000-000000000001' },
      }),
    );
    const token = (tok.body.data as { token: string }).token;
    const session = (body: unknown) =>
      fetch(`${fake.url}/api/tasks/me/with-session/nemo_agent`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      }).then(json);
    for (const bad of [undefined, {}, { task_name: '' }, { language: 'en' }]) {
      const r = await session(bad);
      assert.deepEqual([r.status, r.body.code], [200, 4000], JSON.stringify(bad));
    }
    const ok = await session({ task_name: 'project', language: 'en' });
    assert.equal(ok.body.code, 0);
    assert.ok(fake.state.refusals.length >= 4);
  });
});

describe('The Director fake: the contract', () => {
  let fake: FakeDirector;
  const create = (body: unknown) =>
    fetch(`${fake.url}?action=create`, {
      method: 'POST',
      headers: { authorization: `Bearer ${fake.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }).then(json);
  before(async () => {
    fake = await startFakeDirector();
  });
  after(() => fake.close());

  test('a create with an unknown tool_type, quality or template_id, or a non-object input, is HTTP 400', async () => {
    const bad: unknown[] = [
      { api: 'agent', message: 'a cat' },
      { api: 'agent', message: 'a cat', quality: 'best' },
      { api: 'agent', message: 'a cat', quality: 'cheap', template_id: 'nope' },
      { api: 'tool', tool_type: 'veo9-api', input: { prompt: 'x' } },
      { api: 'tool', tool_type: 'veo3-text-to-video-fast-api', input: null },
      { api: 'tool', tool_type: 'veo3-text-to-video-fast-api', input: ['x'] },
      { api: 'tool', tool_type: 'image-lipsync-api', input: { image_url: 'https://x/i.png' } },
    ];
    for (const b of bad) assert.equal((await create(b)).status, 400, JSON.stringify(b));
    assert.equal(fake.state.refusals.length, bad.length);
    const good = await create({ api: 'agent', message: 'a cat', quality: 'quality' });
    assert.equal(good.status, 200);
  });

  test('switches: statuses as strings, failed without error, unknown statuses', async () => {
    const query = async (id: string) =>
      (
        await fetch(`${fake.url}?action=query`, {
          method: 'POST',
          headers: { authorization: `Bearer ${fake.token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ api: 'agent', chat_id: id }),
        }).then(json)
      ).body.data as Record<string, unknown>;
    fake.shapes.unknownStatus = 7;
    fake.shapes.statusAsString = true;
    fake.shapes.failWithoutError = true;
    fake.faults.fail = 'status';
    const id = (
      (await create({ api: 'agent', message: 'x', quality: 'cheap' })).body.data as { chat_id: string }
    ).chat_id;
    assert.equal((await query(id)).status, '7');
    await query(id);
    const last = await query(id);
    assert.equal(last.status, '-1');
    assert.equal('error' in last, false);
  });
});
