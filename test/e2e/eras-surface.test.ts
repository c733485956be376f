/**
 * The 2026-07-28 surface of the bundle over stdio, read off the wire (issue 25 item 2): server/discover,
 * `resultType`, cache hints (tool list cacheable and shared, a task short-lived and private), the
 * renumbered resource-not-found error, the log level of each request, and no `resources/subscribe` on
 * that era; a 2025-11-25 connection to the same command keeps its own forms.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Ledger } from '../../src/jobs/ledger.js';
import { testEnv } from '../helpers/app.js';
import { makePair } from '../helpers/clips.js';
import { Raw } from '../independent/bundle-helpers.js';
import { seedTask } from '../mcp/seed.js';

const BIN = fileURLToPath(new URL('../../bin/lipsync-mcp.js', import.meta.url));

/** The per-request envelope of a 2026-07-28 request, with extra reserved keys (e.g. the log level). */
const envelope = (extra: Record<string, unknown> = {}) => ({
  _meta: {
    'io.modelcontextprotocol/protocolVersion': '2026-07-28',
    'io.modelcontextprotocol/clientInfo': { name: 'surface', version: '1' },
    'io.modelcontextprotocol/clientCapabilities': {},
    ...extra,
  },
});

type Res = Record<string, unknown> & { resultType?: string; ttlMs?: number; cacheScope?: string };

test('2026-07-28 over stdio: discover, resultType, cache hints, renumbered errors, per-request log level, listen instead of subscribe', async () => {
  const env = testEnv({ LIPSYNC_LOG_LEVEL: 'warn' });
  const l = new Ledger(join(env.env.LIPSYNC_HOME as string, 'ledger.sqlite'));
  await seedTask(l, 'surface-1');
  l.close();
  const s = new Raw(BIN, env.env);
  try {
    const d = (await s.request(1, 'server/discover', envelope())).result as Res & {
      supportedVersions: string[];
      capabilities: { resources?: { subscribe?: boolean } };
    };
    assert.deepEqual(d.supportedVersions, ['2026-07-28']);
    assert.equal(d.resultType, 'complete');
    assert.equal(d.capabilities.resources?.subscribe, true, 'resource URIs can be listened to');

    const tools = (await s.request(2, 'tools/list', envelope())).result as Res;
    assert.equal(tools.resultType, 'complete');
    assert.equal(tools.cacheScope, 'public');
    assert.ok((tools.ttlMs ?? 0) >= 60_000, `tools/list ttlMs ${tools.ttlMs}`);

    const task = (await s.request(3, 'resources/read', { uri: 'lipsync://tasks/surface-1', ...envelope() }))
      .result as Res;
    assert.equal(task.cacheScope, 'private');
    assert.ok((task.ttlMs ?? -1) > 0 && (task.ttlMs ?? 0) <= 5_000, `task read ttlMs ${task.ttlMs}`);

    const missing = await s.request(4, 'resources/read', { uri: 'lipsync://tasks/nope', ...envelope() });
    assert.equal((missing.error as { code: number }).code, -32602, 'resource not found is -32602 on 2026');

    const sub = await s.request(5, 'resources/subscribe', {
      uri: 'lipsync://tasks/surface-1',
      ...envelope(),
    });
    assert.equal((sub.error as { code: number }).code, -32601, 'no resources/subscribe on 2026');

    // The log level travels with each request: job events of the call at info, none when not asked.
    const a = await makePair(env.work, 801);
    const before = s.messages.length;
    const quiet = await s.request(6, 'tools/call', {
      name: 'create_lip_sync',
      arguments: { ...a, provider: 'local' },
      ...envelope(),
    });
    assert.notEqual((quiet.result as { isError?: boolean }).isError, true, JSON.stringify(quiet));
    assert.equal(s.messages.slice(before).filter((m) => m.method === 'notifications/message').length, 0);
    const b = await makePair(env.work, 802);
    const loud = await s.request(7, 'tools/call', {
      name: 'create_lip_sync',
      arguments: { ...b, provider: 'local' },
      ...envelope({ 'io.modelcontextprotocol/logLevel': 'info' }),
    });
    const taskId = (loud.result as { structuredContent: { task_id: string } }).structuredContent.task_id;
    const logs = s.messages.filter(
      (m) => m.method === 'notifications/message' && JSON.stringify(m.params).includes(taskId),
    );
    assert.ok(logs.length >= 1, 'the created event reaches the client as a log message of the call');
  } finally {
    await s.close();
  }

  // 2025-11-25 on the same command: initialize, then resources/subscribe works. The v2 SDK writes
  // resource-not-found as -32602 on this era too (its 2025 codec maps -32002; 1.x clients see the code).
  const old = new Raw(BIN, env.env);
  try {
    await old.init();
    const missing = await old.request(2, 'resources/read', { uri: 'lipsync://tasks/nope' });
    assert.equal((missing.error as { code: number }).code, -32602);
    const sub = await old.request(3, 'resources/subscribe', { uri: 'lipsync://tasks/surface-1' });
    assert.deepEqual(sub.result, {});
  } finally {
    await old.close();
    env.cleanup();
  }
});
