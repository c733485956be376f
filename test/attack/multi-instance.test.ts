/**
 * Attack: two `serve --http` instances on one PostgreSQL ledger, as behind a round-robin balancer
 * (README "Running several instances", "Behind a load balancer"). Tasks extension: "tasks/get answers from
 * the ledger, so any instance on the same ledger answers it"; confirmation: "the signed answer may reach
 * any instance that shares LIPSYNC_CONFIRM_KEY" — and is refused, in words, by one that does not.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type FakeJogg, startFakeJogg } from '../fakes/jogg/index.js';
import { makePair } from '../helpers/clips.js';
import { type PgTestDatabase, pgSkip, pgTestDatabase } from '../helpers/pg.js';
import { call26, rpcResult, type Served, serve, TASKS_EXT } from './serve.js';

const WITH_TASKS = { extensions: { [TASKS_EXT]: {} } };
const ELICIT = { elicitation: { form: {} } };
const KEY = 'attack-confirm-key-0123456789abcdef0123456789';

interface R {
  resultType?: string;
  taskId?: string;
  status?: string;
  statusMessage?: string;
  requestState?: string;
  inputRequests?: Record<
    string,
    { params: { requestedSchema?: { properties?: Record<string, { type?: string }> } } }
  >;
  isError?: boolean;
  content?: Array<{ text?: string }>;
  structuredContent?: { task_id?: string };
}

function accept(ir: R): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, req] of Object.entries(ir.inputRequests ?? {})) {
    const content: Record<string, unknown> = {};
    for (const [name, prop] of Object.entries(req.params.requestedSchema?.properties ?? {}))
      content[name] = prop.type === 'boolean' ? true : prop.type === 'number' ? 1 : 'yes';
    out[key] = { action: 'accept', content };
  }
  return out;
}

describe('two instances on one PostgreSQL ledger', { skip: pgSkip }, () => {
  let jogg: FakeJogg;
  let db: PgTestDatabase;
  let a: Served;
  let b: Served;
  let c: Served;
  let id = 7000;
  const shared = realpathSync(mkdtempSync(join(tmpdir(), 'lipsync-attack-shared-')));

  before(async () => {
    jogg = await startFakeJogg();
    jogg.faults.queriesToFinish = 1_000_000;
    db = await pgTestDatabase('attack_multi');
    const env = {
      LIPSYNC_DATABASE_URL: db.url,
      JOGG_API_KEY: jogg.apiKey,
      JOGG_BASE_URL: jogg.url,
      JOGG_LIP_SYNC_DEFAULT_POLL_INTERVAL_SECONDS: '600',
      LIPSYNC_ALLOWED_DIRS: shared,
    };
    a = await serve({ ...env, LIPSYNC_CONFIRM_KEY: KEY });
    b = await serve({ ...env, LIPSYNC_CONFIRM_KEY: KEY });
    c = await serve({ ...env, LIPSYNC_CONFIRM_KEY: `${KEY}-other` });
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop(), c?.stop()]);
    await db?.drop();
    await jogg?.close();
    rmSync(shared, { recursive: true, force: true });
  });

  test('a task made on A: tasks/get on B says working, tasks/cancel on B, then A reads cancelled', async () => {
    const { video, audio } = await makePair(shared, 501);
    const r = rpcResult<R>(
      await call26(
        a.url,
        id++,
        'tools/call',
        { name: 'create_lip_sync', arguments: { provider: 'jogg', video, audio, confirm: true } },
        { capabilities: WITH_TASKS },
      ),
    );
    assert.equal(r.resultType, 'task', JSON.stringify(r).slice(0, 300));
    const onB = rpcResult<R>(
      await call26(b.url, id++, 'tasks/get', { taskId: r.taskId }, { capabilities: WITH_TASKS }),
    );
    assert.equal(onB.status, 'working', JSON.stringify(onB).slice(0, 300));
    const cancel = await call26(
      b.url,
      id++,
      'tasks/cancel',
      { taskId: r.taskId },
      { capabilities: WITH_TASKS },
    );
    assert.equal(rpcResult<R>(cancel).resultType, 'complete', cancel.text.slice(0, 300));
    let seen = '';
    for (let i = 0; i < 500 && seen !== 'cancelled'; i++) {
      seen =
        rpcResult<R>(
          await call26(a.url, id++, 'tasks/get', { taskId: r.taskId }, { capabilities: WITH_TASKS }),
        ).status ?? '';
      await new Promise((x) => setImmediate(x));
    }
    assert.equal(seen, 'cancelled', 'A never saw the cancel made on B');
  });

  test('the same create sent to A and B at once is one job at the provider (README: one create per job)', async () => {
    const { video, audio } = await makePair(shared, 502, { video: 'race.mp4', audio: 'race.wav' });
    const before = jogg.count('POST', '/v2/create_lip_sync_video');
    const args = { name: 'create_lip_sync', arguments: { provider: 'jogg', video, audio, confirm: true } };
    const [x, y] = await Promise.all([
      call26(a.url, id++, 'tools/call', args),
      call26(b.url, id++, 'tools/call', args),
    ]);
    const tx = rpcResult<R>(x).structuredContent?.task_id;
    const ty = rpcResult<R>(y).structuredContent?.task_id;
    assert.ok(tx && tx === ty, `${x.text.slice(0, 200)} / ${y.text.slice(0, 200)}`);
    assert.equal(jogg.count('POST', '/v2/create_lip_sync_video') - before, 1);
  });

  test('a requestState signed by A is accepted by B (same LIPSYNC_CONFIRM_KEY)', async () => {
    const { video, audio } = await makePair(shared, 503, { video: 'ab.mp4', audio: 'ab.wav' });
    const args = { name: 'create_lip_sync', arguments: { provider: 'jogg', video, audio } };
    const ir = rpcResult<R>(await call26(a.url, id++, 'tools/call', args, { capabilities: ELICIT }));
    assert.equal(ir.resultType, 'input_required', JSON.stringify(ir).slice(0, 300));
    const done = rpcResult<R>(
      await call26(
        b.url,
        id++,
        'tools/call',
        { ...args, inputResponses: accept(ir), requestState: ir.requestState },
        { capabilities: ELICIT },
      ),
    );
    assert.notEqual(done.isError, true, JSON.stringify(done).slice(0, 400));
    assert.ok(done.structuredContent?.task_id, JSON.stringify(done).slice(0, 400));
  });

  test('a requestState signed by A is refused by C (another key), in words, and nothing is created', async () => {
    const { video, audio } = await makePair(shared, 504, { video: 'ac.mp4', audio: 'ac.wav' });
    const args = { name: 'create_lip_sync', arguments: { provider: 'jogg', video, audio } };
    const ir = rpcResult<R>(await call26(a.url, id++, 'tools/call', args, { capabilities: ELICIT }));
    assert.equal(ir.resultType, 'input_required');
    const before = jogg.count('POST', '/v2/create_lip_sync_video');
    const ans = await call26(
      c.url,
      id++,
      'tools/call',
      { ...args, inputResponses: accept(ir), requestState: ir.requestState },
      { capabilities: ELICIT },
    );
    assert.ok(ans.status < 500, ans.text.slice(0, 300));
    const m = ans.messages[0] ?? {};
    const r = (m.result ?? {}) as R;
    assert.ok(
      m.error || r.resultType === 'input_required' || r.isError,
      `C accepted A's signature: ${ans.text.slice(0, 400)}`,
    );
    if (r.isError)
      assert.match(
        r.content?.[0]?.text ?? '',
        /LIPSYNC_CONFIRM_KEY|confirm/i,
        'the refusal names what to fix',
      );
    assert.equal(jogg.count('POST', '/v2/create_lip_sync_video'), before);
  });
});
