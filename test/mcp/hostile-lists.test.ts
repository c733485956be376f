/**
 * Issue 24 items 4 and 12, over the SDK client: hostile listing cursors, completion values and URIs
 * are invalid params (-32602) with a message, never internal errors (-32603) nor silently accepted;
 * completion says honestly how much matched; subscriptions are bounded and name real tasks.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { type Harness, harness, type TestEnv, testEnv } from '../helpers/app.js';
import { seedTask } from './seed.js';

const b64 = (s: string) => Buffer.from(s).toString('base64url');

/** Resolves to the McpError `p` rejects with (fails when it resolves, or rejects with something else). */
async function mcpError(p: Promise<unknown>): Promise<McpError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof McpError, `not an McpError: ${String(err)}`);
    return err;
  }
  assert.fail('the request was accepted');
}

async function invalidParams(p: Promise<unknown>, message: RegExp, what: string): Promise<void> {
  const err = await mcpError(p);
  assert.equal(err.code, ErrorCode.InvalidParams, `${what}: ${err.code} ${err.message}`);
  assert.match(err.message, message, what);
}

describe('hostile listing, completion and URI parameters', () => {
  let env: TestEnv;
  let h: Harness;
  before(async () => {
    env = testEnv({ LIPSYNC_MAX_SUBSCRIPTIONS: '5' });
    h = await harness(env.env);
    for (let i = 0; i < 120; i++)
      await seedTask(h.app.ledger, `host-${String(i).padStart(3, '0')}`, { now: 1000 + i });
  });
  after(async () => {
    await h.close();
    env.cleanup();
  });

  test('resources/list refuses cursors it did not give out, with invalid params', async () => {
    const forged = ['0x10', '1e3', '!!!', b64('1e308'), b64('9223372036854775808'), b64('-1'), b64('50')];
    for (const cursor of forged)
      await invalidParams(h.client.listResources({ cursor }), /cursor/i, `cursor ${cursor}`);
  });

  test('list_tasks refuses a forged cursor in the right shape (1e3, 0x10, -1, leading zeros)', async () => {
    for (const inner of ['1e3.5', '0x10.5', '-1.5', '0100.5', '1000.5.1', ' 1000.5']) {
      const r = await h.call('list_tasks', { cursor: `c1.${b64(inner)}` });
      assert.equal(r.isError, true, `cursor of ${inner} accepted`);
      assert.match(JSON.stringify(r.content), /invalid_input/);
    }
  });

  test('resources/list: following nextCursor lists every task once, newest first', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < 10; i++) {
      const page = await h.client.listResources(cursor ? { cursor } : {});
      seen.push(...page.resources.map((r) => r.uri).filter((u) => /^lipsync:\/\/tasks\/[^/]+$/.test(u)));
      cursor = page.nextCursor;
      if (!cursor) break;
    }
    assert.equal(cursor, undefined);
    assert.equal(seen.length, 120);
    assert.equal(new Set(seen).size, 120);
    assert.equal(seen[0], 'lipsync://tasks/host-119');
    assert.equal(seen[119], 'lipsync://tasks/host-000');
  });

  test('a 50,000-character completion value is invalid params, not an internal error', async () => {
    await invalidParams(
      h.client.complete({
        ref: { type: 'ref/resource', uri: 'lipsync://tasks/{task_id}' },
        argument: { name: 'task_id', value: 'x'.repeat(50_000) },
      }),
      /too long/i,
      'long prefix',
    );
  });

  test('a URI with bad percent-encoding is invalid params (read and subscribe)', async () => {
    const uri = 'lipsync://tasks/%E0%A4%A';
    await invalidParams(h.client.readResource({ uri }), /URI/, 'read');
    await invalidParams(h.client.subscribeResource({ uri }), /URI/, 'subscribe');
  });

  test('completion: format and which complete; task_id completes on the media template', async () => {
    const format = await h.client.complete({
      ref: { type: 'ref/resource', uri: 'lipsync://tasks/{task_id}/mouth-cues.{format}' },
      argument: { name: 'format', value: 't' },
    });
    assert.deepEqual(format.completion.values, ['tsv']);
    const which = await h.client.complete({
      ref: { type: 'ref/resource', uri: 'lipsync://tasks/{task_id}/media/{which}{?offset,length}' },
      argument: { name: 'which', value: '' },
    });
    assert.deepEqual(which.completion.values, ['result', 'original']);
    const id = await h.client.complete({
      ref: { type: 'ref/resource', uri: 'lipsync://tasks/{task_id}/media/{which}{?offset,length}' },
      argument: { name: 'task_id', value: 'host-11' },
    });
    assert.deepEqual(
      id.completion.values,
      Array.from({ length: 10 }, (_, i) => `host-11${9 - i}`),
    );
  });

  test('completion: hasMore and total are honest when more match than are sent', async () => {
    const c = await h.client.complete({
      ref: { type: 'ref/resource', uri: 'lipsync://tasks/{task_id}' },
      argument: { name: 'task_id', value: 'host-' },
    });
    assert.equal(c.completion.values.length, 100);
    assert.equal(c.completion.hasMore, true);
    assert.equal(c.completion.total, 120);
  });

  test('subscribe: an unknown task or a URI naming no task is invalid params', async () => {
    await invalidParams(
      h.client.subscribeResource({ uri: 'lipsync://tasks/made-up-id' }),
      /No task made-up-id/,
      'unknown task',
    );
    await invalidParams(
      h.client.subscribeResource({ uri: 'lipsync://elsewhere/x' }),
      /URI/,
      'not a task URI',
    );
  });

  test('subscribe: a session holds at most LIPSYNC_MAX_SUBSCRIPTIONS; unsubscribing frees a place', async () => {
    for (let i = 0; i < 5; i++) await h.client.subscribeResource({ uri: `lipsync://tasks/host-00${i}` });
    // The same URI again takes no new place.
    await h.client.subscribeResource({ uri: 'lipsync://tasks/host-000' });
    const err = await mcpError(h.client.subscribeResource({ uri: 'lipsync://tasks/host-005' }));
    assert.match(err.message, /at most 5 subscriptions/);
    assert.match(err.message, /LIPSYNC_MAX_SUBSCRIPTIONS/);
    await h.client.unsubscribeResource({ uri: 'lipsync://tasks/host-000' });
    await h.client.subscribeResource({ uri: 'lipsync://tasks/host-005' });
    for (let i = 1; i < 6; i++) await h.client.unsubscribeResource({ uri: `lipsync://tasks/host-00${i}` });
  });
});
