/** Listings take turns of the event loop (issue 24 item 3: a burst of listings never stalls the rest). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inTurn } from '../../../src/jobs/turns.js';

test('two listings never run in the same turn: what was scheduled between them runs between them', async () => {
  const order: string[] = [];
  const a = inTurn(async () => {
    order.push('a');
    setImmediate(() => order.push('between'));
  });
  const b = inTurn(async () => {
    order.push('b');
  });
  await Promise.all([a, b]);
  assert.deepEqual(order, ['a', 'between', 'b']);
});

test('a listing that never ends (a hung backend) does not hold the next one back', async () => {
  void inTurn(() => new Promise<never>(() => undefined));
  assert.equal(await inTurn(async () => 'next'), 'next');
});

test('a failing listing passes its error on, and the next still runs', async () => {
  await assert.rejects(
    inTurn(async () => {
      throw new Error('boom');
    }),
    /boom/,
  );
  assert.equal(await inTurn(async () => 'after'), 'after');
});
