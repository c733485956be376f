import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { deadline } from '../../src/util/deadline.js';

const gc = (globalThis as { gc?: () => void }).gc;

test('a deadline fires after its time even when garbage collection runs meanwhile', async () => {
  const parent = new AbortController();
  const d = deadline(50, parent.signal);
  // What AbortSignal.any([x, AbortSignal.timeout()]) gets wrong on Node 20: force collections if we can.
  for (let i = 0; i < 3; i++) gc?.();
  await once(d.signal, 'abort');
  assert.equal((d.signal.reason as DOMException).name, 'TimeoutError');
  d.clear();
});

test('a deadline follows its parent signals, and clear() releases them', async () => {
  const parent = new AbortController();
  const d = deadline(60_000, undefined, parent.signal);
  parent.abort(new Error('cancelled by the client'));
  assert.equal(d.signal.aborted, true);
  assert.equal((d.signal.reason as Error).message, 'cancelled by the client');
  d.clear();
  const already = deadline(60_000, AbortSignal.abort('gone'));
  assert.equal(already.signal.aborted, true);
  already.clear();
});
