/**
 * The harness's clock (test/helpers/clock.ts): virtual time moves to the next sleep only while no
 * answer the product waits for is on its way, so a slow machine can never make a product deadline pass
 * before the answer it bounds.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { createHttpClient } from '../../src/http/client.js';
import { drivenClock } from '../helpers/clock.js';
import { within } from '../helpers/wait.js';

/** How long the provider's answer takes: a machine this slow turned 10 virtual minutes into ~3 s. */
const SLOW_ANSWER_MS = 3_500;

test("a 10-minute give-up does not pass while the provider's answer is on its way, however slow it is", async () => {
  const server = createServer((_req, res) => {
    setTimeout(
      () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'),
      SLOW_ANSWER_MS,
    );
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const clock = drivenClock();
  const http = createHttpClient({ clock, timeoutMs: 60_000 });
  const order: string[] = [];
  try {
    const t0 = clock.now();
    const giveUp = clock.sleep(10 * 60_000).then(() => order.push('gave up'));
    const answer = http
      .request({
        method: 'GET',
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/status`,
        service: 'Fake',
      })
      .then(() => order.push('answered'));
    await within(answer, 'the slow answer');
    // Nothing else is in flight now: the clock moves on to the give-up, which then happens.
    await within(giveUp, 'the give-up once nothing is in flight');
    assert.deepEqual(order, ['answered', 'gave up']);
    assert.ok(clock.now() - t0 >= 10 * 60_000);
  } finally {
    clock.stop();
    await http.close();
    server.close();
  }
});

test('the driven clock moves sleeps in their order, and two readings are never equal', async () => {
  const clock = drivenClock();
  try {
    const order: number[] = [];
    await within(
      Promise.all([30, 10, 20].map((s) => clock.sleep(s * 1000).then(() => order.push(s)))),
      'three sleeps to end',
    );
    assert.deepEqual(order, [10, 20, 30]);
    const a = clock.now();
    assert.ok(clock.now() > a);
  } finally {
    clock.stop();
  }
});
