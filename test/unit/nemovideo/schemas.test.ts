import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TextCollector, toolActivity } from '../../../src/providers/nemovideo/events.js';
import { readRender } from '../../../src/providers/nemovideo/render.js';
import {
  creditsSchema,
  envelopeSchema,
  uploadedFileSchema,
} from '../../../src/providers/nemovideo/schemas.js';
import { parseState, summarize } from '../../../src/providers/nemovideo/state.js';

describe('NemoVideo answer schemas are minimal and tolerant', () => {
  it('numbers as strings are read; a field of the wrong type reads as absent, not as a failure', () => {
    assert.deepEqual(envelopeSchema.parse({ code: '1002', msg: 7, message: 'gone' }), {
      code: 1002,
      msg: undefined,
      message: 'gone',
    });
    assert.deepEqual(creditsSchema.parse({ available: '42', frozen: 'n/a', total: 45 }), {
      available: 42,
      frozen: undefined,
      total: 45,
    });
    assert.equal(creditsSchema.safeParse({ available: '' }).success, false, 'no balance is no answer');
    const file = uploadedFileSchema.parse({
      url: 'https://cdn/x.mp4',
      duration: 'long',
      fps: '25',
      extra: 1,
    });
    assert.equal(file.url, 'https://cdn/x.mp4');
    assert.equal(file.duration, undefined);
    assert.equal(file.fps, 25);
  });

  it('a draft sent as a JSON string, with long or short keys, is summarised', () => {
    const draft = JSON.stringify({ tracks: [{ tt: '1', segments: [{ d: 4_000 }, { d: 'x' }] }] });
    const sum = summarize(parseState({ state: { draft } }));
    assert.deepEqual(sum.tracks, [{ type: 'audio', segments: 2, duration_s: 4 }]);
    assert.deepEqual(summarize(parseState({ state: { draft: '{broken' } })).tracks, []);
    assert.deepEqual(summarize(parseState('not an object')).tracks, []);
  });

  it('render answers: a non-URL output is no result; a failure reason in an object is quoted', () => {
    assert.equal(readRender({ status: 'completed', output: { url: 'ftp://x' } }, {}).status, 'failed');
    const failed = readRender({ status: 'failed', error: { message: 'codec' } }, {});
    assert.match(failed.error?.message ?? '', /codec/);
  });

  it('stream events: the vendor shape and the ADK shape, with wrongly typed fields ignored', () => {
    const text = new TextCollector();
    assert.equal(text.add({ type: 'text', text: 42 }), false);
    assert.equal(
      text.add({ content: { parts: [{ text: 'Hi ' }, { text: 'hidden', thought: true }, 5] } }),
      true,
    );
    assert.equal(text.add({ type: 'text', text: 'there' }), true);
    assert.equal(text.text(), 'Hi there');
    assert.equal(
      toolActivity({ type: 'tool_call', name: 3, tool_call: { name: 'lip_sync' } }),
      'running lip_sync',
    );
    assert.equal(
      toolActivity({ content: { parts: [{ functionResponse: { name: 'render' } }] } }),
      'finished render',
    );
    assert.equal(toolActivity({ type: 'heartbeat' }), undefined);
  });
});
