import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { errorOf, type Harness, harness, structured, type TestEnv, testEnv } from '../helpers/app.js';

interface Page {
  tasks: { task_id: string; status: string }[];
  count: number;
  next_cursor?: string;
}

describe('list_tasks pages with an opaque cursor', () => {
  let env: TestEnv;
  let h: Harness;
  const ids: string[] = [];
  before(async () => {
    env = testEnv();
    h = await harness(env.env, { preflight: false });
    // 7 tasks, several sharing a created_at (the cursor must break ties), newest last.
    const times = [1000, 2000, 2000, 2000, 3000, 4000, 4000];
    for (const [i, now] of times.entries()) {
      const id = `task_${String(i).padStart(2, '0')}`;
      await h.app.ledger.claim(
        {
          id,
          fingerprint: `fp${i}`,
          provider: 'jogg',
          kind: 'lip_sync',
          request: {},
          warnings: [],
          ownerPid: 1,
          ownerHost: 'seed',
          leaseUntil: now,
          now,
        },
        { force: false, isOwnerAlive: () => true },
      );
      await h.app.ledger.update(id, { status: i % 2 ? 'success' : 'pending', phase: null }, now);
      ids.push(id);
    }
  });
  after(async () => {
    await h.close();
    env.cleanup();
  });

  test('following next_cursor lists every task once, newest first, and the last page has none', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = structured<Page>(await h.call('list_tasks', { limit: 3, ...(cursor ? { cursor } : {}) }));
      assert.ok(page.tasks.length <= 3);
      seen.push(...page.tasks.map((t) => t.task_id));
      cursor = page.next_cursor;
      pages++;
    } while (cursor && pages < 10);
    assert.equal(pages, 3);
    assert.deepEqual(seen, [...ids].reverse());
  });

  test('a filter keeps applying across pages', async () => {
    const first = structured<Page>(await h.call('list_tasks', { limit: 2, unfinished_only: true }));
    assert.ok(first.next_cursor);
    const second = structured<Page>(
      await h.call('list_tasks', { limit: 2, unfinished_only: true, cursor: first.next_cursor }),
    );
    const all = [...first.tasks, ...second.tasks].map((t) => t.task_id);
    assert.deepEqual(all, ['task_06', 'task_04', 'task_02', 'task_00']);
    assert.equal(second.next_cursor, undefined);
  });

  test('a cursor that is not one of ours is a clear invalid_input', async () => {
    const err = errorOf(await h.call('list_tasks', { cursor: 'not-a-cursor' }));
    assert.equal(err.code, 'invalid_input');
    assert.match(err.hint ?? '', /next_cursor/);
  });
});
