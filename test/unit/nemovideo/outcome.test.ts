import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import {
  AFTER_CLOSE_MS,
  AFTER_START_MS,
  closedSnapshot,
  judge,
} from '../../../src/providers/nemovideo/outcome.js';
import { parseState } from '../../../src/providers/nemovideo/state.js';
import { countCalls, fileInput, type Harness, harness, prepareCtx, request, statusCtx } from './helpers.js';

const open: Harness[] = [];
after(async () => {
  for (const h of open) await h.close();
});

const T0 = Date.UTC(2026, 0, 1);
const emptyState = parseState({ state: { draft: { t: [] }, generated_media: [] } });
const withVideo = parseState({
  state: {
    draft: { t: [{ tt: 0, sg: [{ d: 10_000 }], d: 10_000 }] },
    generated_media: [{ type: 'video', url: 'https://cdn.example/out.mp4', created_at: 1 }],
  },
});

describe('NemoVideo chat outcome', () => {
  it('a lip sync whose stream closed without the video is processing, never success', () => {
    const op = { kind: 'lip_sync', session_id: 's1', started_at: T0 };
    const snap = closedSnapshot(op, emptyState, 'Working on it!', T0 + 60_000);
    assert.equal(snap.status, 'processing');
    assert.equal(snap.resultUrl, undefined);
    assert.equal(snap.operation?.closed_at, T0 + 60_000);
    assert.equal(snap.operation?.reply, 'Working on it!');
    const later = judge(snap.operation!, withVideo, T0 + 120_000);
    assert.equal(later.status, 'success');
    assert.equal(later.resultUrl, 'https://cdn.example/out.mp4');
  });

  it('past the ceiling: failed, naming the session, quoting the reply, saying nothing is paid again', () => {
    const closed = closedSnapshot(
      { kind: 'lip_sync', session_id: 's1', started_at: T0 },
      emptyState,
      'Which face?',
      T0,
    ).operation!;
    assert.equal(judge(closed, emptyState, T0 + AFTER_CLOSE_MS - 1).status, 'processing');
    const failed = judge(closed, emptyState, T0 + AFTER_CLOSE_MS);
    assert.equal(failed.status, 'failed');
    assert.match(failed.error?.message ?? '', /session s1/);
    assert.match(failed.error?.message ?? '', /Which face\?/);
    assert.match(failed.error?.message ?? '', /does not pay again/);
    assert.match(failed.error?.message ?? '', /export_render with session_id "s1"/);
    // A dropped stream (no clean close) waits from the start, with the stream's own ceiling.
    const dropped = { kind: 'lip_sync', session_id: 's1', started_at: T0 };
    assert.equal(judge(dropped, emptyState, T0 + AFTER_CLOSE_MS).status, 'processing');
    assert.equal(judge(dropped, emptyState, T0 + AFTER_START_MS).status, 'failed');
  });

  it('a silent edit whose stream closed with no change yet is processing; a changed draft is success', () => {
    const before = { tracks: [{ type: 'video', segments: 1, duration_s: 10 }], duration_s: 10, generated: 0 };
    const op = { kind: 'edit', session_id: 's2', started_at: T0, before, media_before: [] };
    const unchanged = parseState({ state: { draft: { t: [{ tt: 0, sg: [{ d: 10_000 }], d: 10_000 }] } } });
    assert.equal(closedSnapshot(op, unchanged, '', T0).status, 'processing');
    const changed = parseState({
      state: {
        draft: {
          t: [
            { tt: 0, sg: [{ d: 10_000 }], d: 10_000 },
            { tt: 1, sg: [{ d: 10_000 }], d: 10_000 },
          ],
        },
      },
    });
    const done = judge(op, changed, T0 + 1);
    assert.equal(done.status, 'success');
    assert.match(done.message ?? '', /added an audio track/);
  });

  it('findExisting reads the prepared session: null while it proves nothing, then the result; never sends', async () => {
    const h = await harness();
    open.push(h);
    const video = await fileInput(h.home, 'talk.mp4', 'video/mp4', 5_000);
    const audio = await fileInput(h.home, 'dub.wav', 'audio/wav', 5_000);
    const prepared = await h.provider.prepare(
      request('lip_sync', { video, audio }),
      prepareCtx(h.provider, h.log),
    );
    assert.equal(await h.provider.findExisting!(prepared, statusCtx(h.log)), null);
    const session = h.fake.state.sessions.get(String(prepared.session_id))!;
    session.generated_media.push({
      type: 'video',
      url: 'https://cdn.fake-nemo.test/x/lipsync-1.mp4',
      created_at: 1,
    });
    const found = await h.provider.findExisting!(prepared, statusCtx(h.log));
    assert.equal(found?.snapshot.status, 'success');
    assert.equal(found?.snapshot.resultUrl, 'https://cdn.fake-nemo.test/x/lipsync-1.mp4');
    assert.equal(found?.providerTaskId, prepared.session_id);
    assert.equal(found?.operation.session_id, prepared.session_id);
    assert.equal(countCalls(h.fake, 'POST', '/run_sse'), 0);
    assert.equal(
      await h.provider.findExisting!({ kind: 'render', session_id: 'x' }, statusCtx(h.log)),
      null,
      'a render is never "found" (it is free to start)',
    );
  });
});
