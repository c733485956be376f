/** The media budget (issue 24 item 1): per-session and per-process caps, a brief wait, then a clear refusal. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MediaBudget } from '../../../src/mcp/media-budget.js';
import { ManualClock } from '../../http/helpers.js';

const KB = 1024;

test('a read over the process cap waits for bytes to be taken, and gets them when they are', async () => {
  const clock = new ManualClock();
  const b = new MediaBudget({ processBytes: 100 * KB, sessionBytes: 100 * KB, waitMs: 5000, clock });
  const first = await b.acquire('a', 80 * KB);
  let granted = false;
  const second = b.acquire('b', 50 * KB).then((r) => {
    granted = true;
    return r;
  });
  await new Promise((r) => setImmediate(r));
  assert.equal(granted, false, 'over the cap: it waits');
  first();
  const release = await second;
  assert.equal(b.inFlight, 50 * KB);
  release();
  release();
  assert.equal(b.inFlight, 0, 'a release counts once');
});

test('a read over a session cap is refused after the wait, with a message that says what to do', async () => {
  const clock = new ManualClock();
  const b = new MediaBudget({ processBytes: 1000 * KB, sessionBytes: 100 * KB, waitMs: 5000, clock });
  const held = await b.acquire('a', 80 * KB);
  const other = await b.acquire('b', 80 * KB);
  assert.equal(b.inFlight, 160 * KB, 'another session has its own room');
  const late = b.acquire('a', 50 * KB);
  await new Promise((r) => setImmediate(r));
  clock.advance(5000);
  await assert.rejects(late, /this session already has 0\.08 MiB of media on its way.*one after another/);
  held();
  other();
  assert.equal(b.inFlight, 0);
  // One read alone always fits, even over a cap.
  (await b.acquire('a', 500 * KB))();
});
