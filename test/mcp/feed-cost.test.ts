/**
 * Issue 24 item 4: a change made by another process costs one read of the task that changed, not a
 * read of every watched task (the SQLite ledger logs changed ids; PostgreSQL notifies them).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { Ledger } from '../../src/jobs/ledger.js';
import { ChangeFeed } from '../../src/mcp/feed.js';
import { harness, testEnv } from '../helpers/app.js';
import { Heard } from '../helpers/wait.js';
import { seedTask } from './seed.js';
import { updateFromAnotherProcess } from './updater.js';

test('an outside change to one of 50 watched tasks reads that task only', async () => {
  const env = testEnv();
  const h = await harness(env.env);
  const file = join(h.app.config.home, 'ledger.sqlite');
  const ledger = new Ledger(file, undefined, { debounceMs: 5, safetyMs: 0 });
  const reads: string[] = [];
  const feed = new ChangeFeed(
    {
      get: (id) => {
        reads.push(id);
        return ledger.get(id);
      },
      watch: (l) => ledger.watch(l),
    },
    h.app.jobs,
  );
  const changed = new Heard<string>();
  feed.on('change', (c: { task_id: string }) => changed.push(c.task_id));
  // The feed's file watch does not hold the event loop open by itself.
  const hold = setInterval(() => undefined, 1000);
  try {
    for (let i = 0; i < 50; i++) await seedTask(ledger, `cost-${i}`);
    for (let i = 0; i < 50; i++) feed.watch(`cost-${i}`);
    await feed.settled();
    reads.length = 0;
    await updateFromAnotherProcess(file, 'cost-7', { snapshot: { status: 'processing', progress: 0.7 } });
    await changed.when((id) => id === 'cost-7', 'the outside change was heard');
    await feed.settled();
    assert.deepEqual(reads, ['cost-7']);
  } finally {
    clearInterval(hold);
    feed.close();
    ledger.closeSync();
    await h.close();
    env.cleanup();
  }
});
