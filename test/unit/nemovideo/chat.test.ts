import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { loadConfig } from '../../../src/config.js';
import type { AppError } from '../../../src/errors.js';
import { createHttpClient } from '../../../src/http/client.js';
import { createNemoVideoProvider } from '../../../src/providers/nemovideo/index.js';
import type { ResolvedInput } from '../../../src/providers/provider.js';
import {
  countCalls,
  drain,
  fileInput,
  type Harness,
  harness,
  prepareCtx,
  request,
  startCtx,
  statusCtx,
} from './helpers.js';

const open: Harness[] = [];
after(async () => {
  for (const h of open) await h.close();
});

async function setup() {
  const h = await harness();
  open.push(h);
  const video = await fileInput(h.home, 'talk.mp4', 'video/mp4', 50_000);
  const audio = await fileInput(h.home, 'dub.wav', 'audio/wav', 20_000);
  return { h, video, audio };
}

async function prepareLipSync(h: Harness, video: ResolvedInput, audio: ResolvedInput) {
  const ctx = prepareCtx(h.provider, h.log);
  const prepared = await h.provider.prepare(request('lip_sync', { video, audio }), ctx);
  return { prepared, ctx };
}

describe('NemoVideo lip sync over /run_sse', () => {
  it('prepares (session + streamed uploads), starts once, streams, and ends with the result URL', async () => {
    const { h, video, audio } = await setup();
    const { prepared, ctx } = await prepareLipSync(h, video, audio);
    assert.equal(ctx.uploads, 2);
    assert.equal(h.fake.state.sessions.size, 1);
    const sid = String(prepared.session_id);
    assert.deepEqual(
      h.fake.state.uploads.map((u) => [u.sessionId, u.kind, u.files, u.bytes]),
      [
        [sid, 'file', 1, 50_000],
        [sid, 'file', 1, 20_000],
      ],
    );
    assert.match(String(prepared.video_url), /^https:\/\/cdn\.fake-nemo\.test\/.*talk\.mp4$/);
    assert.match(
      String(prepared.instruction),
      /^Lip-sync the uploaded video https:\S+talk\.mp4 to the uploaded audio https:\S+dub\.wav/,
    );
    assert.equal(countCalls(h.fake, 'POST', '/run_sse'), 0, 'prepare never sends the paid message');

    const started = await h.provider.start(prepared, startCtx(h.log));
    assert.equal(started.providerTaskId, sid);
    assert.equal(started.snapshot.status, 'processing');
    assert.deepEqual(Object.keys(started.operation).sort(), ['kind', 'session_id', 'started_at']);
    const events = await drain(started.events);
    const final = events.at(-1);
    assert.equal(final?.status, 'success');
    assert.match(final?.resultUrl ?? '', /lipsync-1\.mp4$/);
    // The agent's "Click the Export button to download it" is said as the tool to call (seed 001).
    assert.match(final?.message ?? '', /^Done! Your lip-synced video is ready\. /);
    assert.doesNotMatch(final?.message ?? '', /click|button/i);
    assert.match(final?.message ?? '', /download_result/);
    assert.ok(events.some((e) => e.providerStatus === 'running lip_sync'));
    assert.equal(countCalls(h.fake, 'POST', '/run_sse'), 1);
    const sse = h.fake.calls.find((c) => c.path === '/run_sse');
    assert.equal(sse?.headers.accept, 'text/event-stream');
    assert.deepEqual(Object.keys((sse?.body ?? {}) as object).sort(), [
      'app_name',
      'new_message',
      'session_id',
      'user_id',
    ]);
    assert.deepEqual(h.fake.state.missingAttribution, []);
    assert.deepEqual(h.fake.state.unexpected, []);

    const status = await h.provider.status(started.operation, statusCtx(h.log));
    assert.equal(status.status, 'success');
    assert.equal(status.resultUrl, final?.resultUrl);
  });

  it('a dropped stream is never answered by resending: one /run_sse, then status() reads success from state', async () => {
    const { h, video, audio } = await setup();
    const { prepared } = await prepareLipSync(h, video, audio);
    h.fake.faults.dropStreamAfter = 4;
    const started = await h.provider.start(prepared, startCtx(h.log));
    const events = await drain(started.events);
    assert.ok(
      events.every((e) => e.status !== 'success'),
      'no final snapshot after a drop',
    );
    assert.deepEqual(h.fake.state.streams, ['dropped']);
    assert.equal(countCalls(h.fake, 'POST', '/run_sse'), 1);
    const snap = await h.provider.status(started.operation, statusCtx(h.log));
    assert.equal(snap.status, 'success');
    assert.match(snap.resultUrl ?? '', /lipsync-1\.mp4$/);
    assert.equal(countCalls(h.fake, 'POST', '/run_sse'), 1);
    assert.match(h.logs.text(), /stream ended early/);
  });

  it('status() before the job finishes is processing, with a track summary instead of raw draft JSON', async () => {
    const { h, video, audio } = await setup();
    const { prepared } = await prepareLipSync(h, video, audio);
    const snap = await h.provider.status(
      { kind: 'lip_sync', session_id: prepared.session_id!, started_at: h.clock.now() },
      statusCtx(h.log),
    );
    assert.equal(snap.status, 'processing');
    assert.deepEqual(snap.extra?.state, {
      tracks: [
        { type: 'video', segments: 1, duration_s: 10 },
        { type: 'audio', segments: 1, duration_s: 10 },
      ],
      duration_s: 10,
      generated: 0,
    });
    assert.equal(h.provider.timing('lip_sync').pollIntervalMs, 10_000);
  });

  it('a malformed event in the stream is skipped, not fatal', async () => {
    const { h, video, audio } = await setup();
    const { prepared } = await prepareLipSync(h, video, audio);
    h.fake.faults.malformedEvent = true;
    const started = await h.provider.start(prepared, startCtx(h.log));
    const final = (await drain(started.events)).at(-1);
    assert.equal(final?.status, 'success');
    assert.match(h.logs.text(), /malformed stream event/);
  });

  it('1002 on the message opens a new session, re-registers the files there, and sends once more', async () => {
    const { h, video, audio } = await setup();
    const { prepared } = await prepareLipSync(h, video, audio);
    h.fake.fail({ path: '/run_sse', code: 1002 });
    const started = await h.provider.start(prepared, startCtx(h.log));
    const newSid = String(started.operation.session_id);
    assert.notEqual(newSid, prepared.session_id);
    assert.equal(h.fake.state.sessions.size, 2);
    assert.deepEqual(
      h.fake.state.uploads.filter((u) => u.sessionId === newSid).map((u) => u.kind),
      ['url', 'url'],
    );
    const final = (await drain(started.events)).at(-1);
    assert.equal(final?.status, 'success');
    assert.equal(countCalls(h.fake, 'POST', '/run_sse'), 2);
    const sent = h.fake.state.sessions.get(newSid)?.messages[0] ?? '';
    assert.ok(sent.includes(newSid), 'instruction references the files in the new session');
  });

  it('2001 on the message: insufficient_credits with the registration bind link, no task, no retry', async () => {
    const { h, video, audio } = await setup();
    const { prepared } = await prepareLipSync(h, video, audio);
    h.fake.fail({ path: '/run_sse', code: 2001 });
    await assert.rejects(h.provider.start(prepared, startCtx(h.log)), (err: AppError) => {
      assert.equal(err.code, 'insufficient_credits');
      assert.match(err.hint ?? '', /nemovideo\.ai\/\?bind=anon_/);
      assert.equal(err.noTaskCreated, true);
      return true;
    });
    assert.equal(countCalls(h.fake, 'POST', '/run_sse'), 1);
  });

  it('a refused connection before sending is marked noTaskCreated', async () => {
    const { h, video, audio } = await setup();
    const { prepared } = await prepareLipSync(h, video, audio);
    const dead = 'http://127.0.0.1:9'; // discard port: connection refused
    const config = loadConfig({
      env: { LIPSYNC_HOME: `${h.home}/lipsync`, NEMO_BASE_URL: dead },
      homeDir: h.home,
    });
    const http = createHttpClient({ clock: h.clock, timeoutMs: 5_000 });
    const p = createNemoVideoProvider({
      config: config.nemo,
      http,
      clock: h.clock,
      log: h.log,
      redactor: h.redactor,
      version: '1',
    });
    await assert.rejects(p.start(prepared, startCtx(h.log)), (err: AppError) => {
      assert.equal(err.code, 'unavailable');
      assert.equal(err.noTaskCreated, true);
      return true;
    });
    await http.close();
  });

  it('lip sync without audio is invalid input before any network call', async () => {
    const { h, video } = await setup();
    await assert.rejects(
      h.provider.prepare(request('lip_sync', { video }), prepareCtx(h.provider, h.log)),
      (err: AppError) => err.code === 'invalid_input',
    );
    assert.equal(h.fake.calls.length, 0);
  });
});

describe('NemoVideo edits', () => {
  async function lipSyncSession(h: Harness, video: ResolvedInput, audio: ResolvedInput) {
    const { prepared } = await prepareLipSync(h, video, audio);
    await drain((await h.provider.start(prepared, startCtx(h.log))).events);
    return String(prepared.session_id);
  }

  it('an edit with reply text reports the text', async () => {
    const { h, video, audio } = await setup();
    const sid = await lipSyncSession(h, video, audio);
    const prepared = await h.provider.prepare(
      request('edit', {}, { session_id: sid, instruction: 'add a title' }),
      prepareCtx(h.provider, h.log),
    );
    const started = await h.provider.start(prepared, startCtx(h.log, 'edit-1'));
    const final = (await drain(started.events)).at(-1);
    assert.equal(final?.status, 'success');
    assert.match(final?.message ?? '', /Urban Dreams/);
    assert.equal(final?.resultUrl, undefined, "the earlier lip-sync video is not this edit's result");
    assert.equal(countCalls(h.fake, 'POST', '/run_sse'), 2);
  });

  it('a silent edit (no text) still reports what changed', async () => {
    const { h, video } = await setup();
    h.fake.faults.silentEdit = true;
    const ctx = prepareCtx(h.provider, h.log);
    const prepared = await h.provider.prepare(
      request('edit', { video }, { instruction: 'add lo-fi background music' }),
      ctx,
    );
    assert.equal(ctx.uploads, 1);
    assert.match(
      String(prepared.instruction),
      /^add lo-fi background music\n\n\(Work on the uploaded video https:/,
    );
    const started = await h.provider.start(prepared, startCtx(h.log));
    const events = await drain(started.events);
    const final = events.at(-1);
    assert.equal(final?.status, 'success');
    assert.ok(
      events.every((e) => e.message === undefined || e === final),
      'no text came through the stream',
    );
    assert.match(final?.message ?? '', /added an audio track \(10\.0 s, 1 segment\)/);
    assert.match(final?.message ?? '', /Now: 2 tracks/);
  });

  it('a silent edit whose stream dropped: status() reports the change from state', async () => {
    const { h, video } = await setup();
    h.fake.faults.silentEdit = true;
    h.fake.faults.dropStreamAfter = 2;
    const prepared = await h.provider.prepare(
      request('edit', { video }, { instruction: 'add music' }),
      prepareCtx(h.provider, h.log),
    );
    const started = await h.provider.start(prepared, startCtx(h.log));
    assert.deepEqual(await drain(started.events).then((e) => e.filter((x) => x.status === 'success')), []);
    const snap = await h.provider.status(started.operation, statusCtx(h.log));
    assert.equal(snap.status, 'success');
    assert.match(snap.message ?? '', /added an audio track/);
    assert.equal(countCalls(h.fake, 'POST', '/run_sse'), 1);
  });

  it('an edit needs a session or a video, and an unknown session is named', async () => {
    const { h } = await setup();
    const ctx = prepareCtx(h.provider, h.log);
    await assert.rejects(
      h.provider.prepare(request('edit', {}, { instruction: 'trim' }), ctx),
      (err: AppError) => err.code === 'invalid_input',
    );
    await assert.rejects(
      h.provider.prepare(request('edit', {}, { session_id: 'gone', instruction: 'trim' }), ctx),
      (err: AppError) => {
        assert.equal(err.code, 'not_found');
        assert.match(err.message, /session gone no longer exists/);
        return true;
      },
    );
  });
});
