/**
 * Every answer shape providers.md §3 allows, parsed by the tolerant schemas: status 1/-1/0/2 as a number
 * or a string, `success: false`, the URL in any of its places, `_corrected_api` at the top or in data,
 * and the direct API's `{ success, errorMsg, error_code, data }` envelope.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CreateSpec } from '../../../src/providers/director/choice.js';
import { readId } from '../../../src/providers/director/classify.js';
import { toSnapshot } from '../../../src/providers/director/snapshot.js';
import { bodyMessage, correctedApi } from '../../../src/providers/director/wire.js';

const URL = 'https://cdn.example.com/v/1.mp4';
const AGENT: CreateSpec = { api: 'agent', model: 'auto', label: 'auto', message: 'm', quality: 'quality' };

describe('director answer shapes', () => {
  const statuses: [unknown, string, string][] = [
    [1, 'success', '1'],
    ['1', 'success', '1'],
    [' 1 ', 'success', '1'],
    [-1, 'failed', '-1'],
    ['-1', 'failed', '-1'],
    [0, 'pending', '0'],
    ['0', 'pending', '0'],
    [2, 'processing', '2'],
    ['2', 'processing', '2'],
    ['COMPLETED', 'success', 'completed'],
    [undefined, 'processing', 'missing'],
    [null, 'processing', 'missing'],
    [{ odd: true }, 'processing', 'missing'],
    [7, 'processing', '7'],
  ];
  for (const [raw, status, providerStatus] of statuses) {
    it(`status ${JSON.stringify(raw)} -> ${status}`, () => {
      const snap = toSnapshot({ data: { status: raw, video_url: URL } }, {});
      assert.equal(snap.status, status);
      assert.equal(snap.providerStatus, providerStatus);
    });
  }

  const urlShapes: [string, Record<string, unknown>][] = [
    ['data.video_url', { video_url: URL }],
    ['data.output_urls[]', { output_urls: [URL] }],
    ['data.output_urls[] of objects', { output_urls: [{ url: URL }] }],
    ['data.output.video_url', { output: { video_url: URL } }],
    ['data.tool_results[].result[]', { tool_results: [{ result: ['not a url', URL] }] }],
    ['data.tool_results[].result as text', { tool_results: [{ name: 'x' }, { result: URL }] }],
    ['data.result_url', { result_url: URL }],
    ['a broken video_url, then output_urls', { video_url: 42, output_urls: ['ftp://x', URL] }],
  ];
  for (const [where, data] of urlShapes) {
    it(`finds the URL in ${where}`, () => {
      const snap = toSnapshot({ success: true, data: { status: 1, ...data } }, {});
      assert.equal(snap.status, 'success');
      assert.equal(snap.resultUrl, URL);
    });
  }

  it('status 1 without a URL anywhere is not success', () => {
    const snap = toSnapshot({ data: { status: 1, output: 'weird', tool_results: 'x' } }, {});
    assert.equal(snap.status, 'processing');
    assert.equal(snap.providerStatus, 'done-no-url');
  });

  it('success:false (boolean or text) is a failure with the reason from either envelope', () => {
    for (const body of [
      { success: false, errorMsg: 'GPU out of memory', error_code: 5001, data: null },
      { success: 'false', message: 'GPU out of memory' },
      { success: false, error: { message: 'GPU out of memory' } },
      { success: false, data: { fail_reason: 'GPU out of memory' } },
    ]) {
      const snap = toSnapshot(body, {});
      assert.equal(snap.status, 'failed', JSON.stringify(body));
      assert.match(snap.error?.message ?? '', /GPU out of memory/, JSON.stringify(body));
    }
  });

  it('the direct envelope with success:true reads data like the gateway', () => {
    const snap = toSnapshot(
      { success: true, errorMsg: '', error_code: 0, data: { status: '1', video_url: URL, progress: '100' } },
      {},
    );
    assert.equal(snap.status, 'success');
    assert.equal(snap.resultUrl, URL);
    assert.equal(snap.progress, 1);
  });

  it('an answer that is not an object, or has a non-object data, is still in progress', () => {
    assert.equal(toSnapshot('<html>', {}).providerStatus, 'unreadable');
    assert.equal(toSnapshot([1], {}).providerStatus, 'unreadable');
    assert.equal(toSnapshot({ data: 'x' }, {}).providerStatus, 'missing');
  });

  it('_corrected_api at the top or in data; anything else is ignored', () => {
    assert.equal(correctedApi({ _corrected_api: 'tool', data: {} }), 'tool');
    assert.equal(correctedApi({ data: { _corrected_api: 'agent' } }), 'agent');
    assert.equal(correctedApi({ data: { _corrected_api: 'video' } }), undefined);
    assert.equal(correctedApi('x'), undefined);
  });

  it('create ids: string or number, top level or in data, empty ones ignored', () => {
    assert.deepEqual(readId({ data: { chat_id: 12 } }, AGENT), { id: '12', api: 'agent', corrected: false });
    assert.deepEqual(readId({ chat_id: 'c1', data: null }, AGENT), {
      id: 'c1',
      api: 'agent',
      corrected: false,
    });
    assert.equal(readId({ data: { chat_id: '  ', task_id: null } }, AGENT), undefined);
    assert.equal(readId({ data: { chat_id: { nested: 1 } } }, AGENT), undefined);
    assert.equal(readId('c1', AGENT), undefined);
  });

  it('the backend message, wherever it sits', () => {
    assert.equal(bodyMessage({ errorMsg: 'a' }), 'a');
    assert.equal(bodyMessage({ error: 'b' }), 'b');
    assert.equal(bodyMessage({ error: { message: 'c' } }), 'c');
    assert.equal(bodyMessage({ data: { error_msg: 'd' } }), 'd');
    assert.equal(bodyMessage({ data: { error: 'e' } }), 'e');
    assert.equal(bodyMessage({ errorMsg: '  ', data: { message: 'f' } }), 'f');
    assert.equal(bodyMessage({ errorMsg: 5 }), undefined);
    assert.equal(bodyMessage(null), undefined);
  });
});
