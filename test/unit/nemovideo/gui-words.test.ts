/**
 * NemoVideo's agent writes for its own GUI ("Click the Export button to download it"). Seed 001: GUI
 * wording never reaches the user as is; each phrase it names becomes what to call here (issue 27 item 4).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { plainWords } from '../../../src/providers/nemovideo/gui-words.js';
import { closedSnapshot, judge } from '../../../src/providers/nemovideo/outcome.js';
import { parseState } from '../../../src/providers/nemovideo/state.js';

/** Every GUI phrase seed 001 names (English and Chinese), as the agent would write it. */
const GUI = /\b(click|tap|press|button|panel|drag|drop|timeline)\b|点击|打开|拖拽|导出/i;
const T0 = Date.UTC(2026, 0, 1);
const withVideo = parseState({
  state: {
    draft: { t: [{ tt: 0, sg: [{ d: 10_000 }], d: 10_000 }] },
    generated_media: [{ type: 'video', url: 'https://cdn.example/out.mp4', created_at: 1 }],
  },
});

describe('NemoVideo GUI wording becomes tool calls', () => {
  it('"Click the Export button to download it" on a finished lip sync: download_result', () => {
    const snap = closedSnapshot(
      { kind: 'lip_sync', session_id: 's1', started_at: T0 },
      withVideo,
      'Your lip-synced video is ready! Click the Export button to download it.',
      T0 + 60_000,
    );
    assert.equal(snap.status, 'success');
    assert.doesNotMatch(snap.message ?? '', GUI);
    assert.match(snap.message ?? '', /^Your lip-synced video is ready! /);
    assert.match(snap.message ?? '', /download_result/);
    assert.doesNotMatch(String(snap.operation?.reply), GUI, 'the reply kept for later is translated too');
  });

  it('the same words on an edit (nothing rendered yet): export_render with the session, then download_result', () => {
    const op = { kind: 'edit', session_id: 's2', started_at: T0, before: null };
    const draftOnly = parseState({
      state: { draft: { t: [{ tt: 1, sg: [{ d: 5_000 }], d: 5_000 }] }, generated_media: [] },
    });
    const snap = judge(op, draftOnly, T0, 'Added the music. Click the Export button to download it.');
    assert.equal(snap.status, 'success');
    assert.doesNotMatch(snap.message ?? '', GUI);
    assert.match(snap.message ?? '', /export_render with session_id "s2".*download_result/);
  });

  for (const [phrase, tool] of [
    ['Click the Export button when you are happy with it.', /export_render/],
    ['Open the Effects panel to pick a transition.', /get_task_status/],
    ['Drag the music clip to 0:05 and drop it there.', /edit_video/],
    ['Preview in timeline to check the cut.', /get_task_status/],
    ['Tap Save to keep it.', /export_render|edit_video/],
    ['点击导出按钮下载视频。', /export_render/],
    ['打开字幕面板。', /get_task_status/],
    ['拖拽音乐到第五秒。', /edit_video/],
  ] as const) {
    it(`"${phrase}" is said as a tool call`, () => {
      const out = plainWords(`Done. ${phrase}`, { sessionId: 's3', rendered: false });
      assert.doesNotMatch(out, GUI, out);
      assert.match(out, tool, out);
      assert.match(out, /^Done\. /, 'the rest of the reply is kept as is');
    });
  }

  it('a reply with no GUI wording is left alone', () => {
    const text = 'I added the title "Urban Dreams" for the first 3 seconds.';
    assert.equal(plainWords(text, { sessionId: 's', rendered: false }), text);
  });
});
