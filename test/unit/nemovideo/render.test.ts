import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { AppError } from '../../../src/errors.js';
import { readRender } from '../../../src/providers/nemovideo/render.js';
import type { Snapshot } from '../../../src/providers/provider.js';
import {
  countCalls,
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

/** A session with an uploaded video on its timeline (exportable). */
async function setup() {
  const h = await harness();
  open.push(h);
  const video = await fileInput(h.home, 'clip.mp4', 'video/mp4');
  const up = await h.provider.upload!(video, 'video', undefined, new AbortController().signal);
  const sessionId = String(up.meta?.session_id);
  assert.ok(h.fake.state.sessions.has(sessionId));
  return { h, sessionId };
}

async function render(h: Harness, sessionId: string, taskId = 'task-1') {
  const prepared = await h.provider.prepare(
    request('render', {}, { session_id: sessionId }),
    prepareCtx(h.provider, h.log),
  );
  return h.provider.start(prepared, startCtx(h.log, taskId));
}

async function pollToEnd(h: Harness, operation: Record<string, unknown>): Promise<Snapshot[]> {
  const seen: Snapshot[] = [];
  for (let i = 0; i < 10; i++) {
    const s = await h.provider.status(operation as never, statusCtx(h.log));
    seen.push(s);
    if (s.status === 'success' || s.status === 'failed') break;
  }
  return seen;
}

describe('NemoVideo export (render)', () => {
  it('renders with output.url (top level, no envelope): pending -> processing -> success', async () => {
    const { h, sessionId } = await setup();
    const started = await render(h, sessionId);
    assert.equal(started.snapshot.status, 'pending');
    assert.match(started.providerTaskId, /^render_task-1_[0-9a-f]{12}$/);
    const body = h.fake.calls.find((c) => c.path === '/api/render/proxy/lambda')?.body as Record<
      string,
      unknown
    >;
    assert.equal(body.sessionId, sessionId);
    assert.deepEqual(body.output, { format: 'mp4', quality: 'high' });
    assert.ok(body.draft);
    const seen = await pollToEnd(h, started.operation);
    assert.deepEqual(
      seen.map((s) => s.status),
      ['pending', 'processing', 'success'],
    );
    assert.equal(seen.at(-1)?.resultUrl, `https://cdn.fake-nemo.test/renders/${started.providerTaskId}.mp4`);
    assert.equal(h.provider.timing('render').pollIntervalMs, 30_000);
    assert.deepEqual(h.fake.state.missingAttribution, []);
  });

  it('renders with data.outputUrl (enveloped)', async () => {
    const { h, sessionId } = await setup();
    h.fake.faults.renderUrlShape = 'data.outputUrl';
    const started = await render(h, sessionId);
    const last = (await pollToEnd(h, started.operation)).at(-1);
    assert.equal(last?.status, 'success');
    assert.equal(last?.resultUrl, `https://cdn.fake-nemo.test/renders/${started.providerTaskId}.mp4`);
  });

  it('a failed render is reported with its reason (both shapes)', async () => {
    for (const shape of ['output.url', 'data.outputUrl'] as const) {
      const { h, sessionId } = await setup();
      h.fake.faults.renderUrlShape = shape;
      h.fake.faults.renderFail = 'font "Inter" missing on render worker';
      const started = await render(h, sessionId);
      const last = (await pollToEnd(h, started.operation)).at(-1);
      assert.equal(last?.status, 'failed');
      assert.match(last?.error?.message ?? '', /export failed: font "Inter" missing on render worker/);
      assert.equal(last?.resultUrl, undefined);
    }
  });

  it('render ids are never reused', async () => {
    const { h, sessionId } = await setup();
    const a = await render(h, sessionId, 'same-task');
    const b = await render(h, sessionId, 'same-task');
    assert.notEqual(a.providerTaskId, b.providerTaskId);
    assert.equal(h.fake.state.renders.size, 2);
  });

  it('an empty draft is not exportable: invalid_input with a hint, nothing sent', async () => {
    const h = await harness();
    open.push(h);
    // A URL upload opens a session (meta.session_id); then empty its timeline.
    const up = await h.provider.upload!(
      { type: 'url', url: 'https://example.com/a.mp3', filename: 'a.mp3', mime: 'audio/mpeg' },
      'audio',
      undefined,
      new AbortController().signal,
    );
    const empty = String(up.meta?.session_id);
    const s = h.fake.state.sessions.get(empty)!;
    s.draft.t = [];
    await assert.rejects(
      h.provider.prepare(request('render', {}, { session_id: empty }), prepareCtx(h.provider, h.log)),
      (err: AppError) => {
        assert.equal(err.code, 'invalid_input');
        assert.match(err.message, /nothing to export/);
        assert.match(err.hint ?? '', /edit_video|create_lip_sync/);
        return true;
      },
    );
    assert.equal(countCalls(h.fake, 'POST', '/api/render'), 0);
  });

  it('HTTP 402 on export: plan_required that says it is the plan tier, not credits; no retry; no task', async () => {
    const { h, sessionId } = await setup();
    h.fake.fail({ path: '/api/render/proxy/lambda', status: 402 });
    await assert.rejects(render(h, sessionId), (err: AppError) => {
      assert.equal(err.code, 'plan_required');
      assert.match(
        err.message,
        /export is blocked on the free plan — register or upgrade your plan \(this is a plan tier issue, not credits\)/,
      );
      assert.equal(err.noTaskCreated, true);
      return true;
    });
    assert.equal(countCalls(h.fake, 'POST', '/api/render'), 1);
  });

  it('readRender tolerates shapes: nested data, progress in percent, completed without URL', () => {
    assert.deepEqual(readRender({ data: { status: 'processing', progress: 40 } }, {}), {
      status: 'processing',
      providerStatus: 'processing',
      progress: 0.4,
    });
    assert.equal(
      readRender({ status: 'completed', output: { url: 'https://x/y.mp4' } }, {}).resultUrl,
      'https://x/y.mp4',
    );
    assert.equal(readRender({ status: 'completed' }, {}).status, 'failed');
    const failed = readRender({ status: 'failed' }, { code: 0, msg: 'success', data: { status: 'failed' } });
    assert.match(failed.error?.message ?? '', /no reason given/);
  });
});
