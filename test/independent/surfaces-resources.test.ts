// Issue 24, surfaces 2-5: listings with keyset cursors, subscriptions, completion, percent-encoding.
// Many tasks are made cheaply as The Director images (Jogg creates are throttled to 20 a minute); one
// Jogg task (URL inputs, no upload) is changed by the CLI in another process.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { DirectorFake } from './fakes/director.js';
import { JoggFake } from './fakes/jogg.js';
import { CANARY, call, type Home, joggEnv, makeHome, runCli } from './helpers.js';
import {
  assertInvalidParams,
  type BinMcp,
  rpcError,
  startBin,
  stillAnswers,
  toolError,
} from './surfaces-helpers.js';

const FORGED = [
  '0x10',
  '1e3',
  '!!!',
  Buffer.from('1e308').toString('base64'),
  Buffer.from('9223372036854775808').toString('base64'),
  '9223372036854775808',
  '-1',
  'x'.repeat(100_000),
  Buffer.from('{"created_at":"zzz","id":"\'; drop table tasks;--"}').toString('base64url'),
];

describe('listings, subscriptions, completion, URIs (stdio, jogg fake)', () => {
  let fake: JoggFake;
  let dir: DirectorFake;
  let h: Home;
  let env: Record<string, string>;
  let m: BinMcp;
  let n = 0;
  const ids: string[] = [];

  const newTask = async (): Promise<string> => {
    n++;
    const r = await call(m, 'generate_image', { prompt: `a teapot number ${n}` });
    assert.equal(r.isError, false, `create ${n} failed: ${r.text}`);
    const id = String(r.data.task_id);
    ids.push(id);
    return id;
  };

  before(async () => {
    fake = await new JoggFake(CANARY.jogg).start();
    fake.finishAfter = 1000; // tasks stay pending
    dir = await new DirectorFake(CANARY.gateway).start();
    dir.finishAfter = 1000;
    h = makeHome();
    env = joggEnv(h, fake.url, {
      LIPSYNC_ALLOW_PRIVATE_URLS: 'true',
      LIPSYNC_MAX_SUBSCRIPTIONS: '3',
      GATEWAY_TOKEN: CANARY.gateway,
      DIRECTOR_GATEWAY_URL: `${dir.url}/gw`,
    });
    m = await startBin(env);
    for (let i = 0; i < 110; i++) await newTask();
  });
  after(async () => {
    await m.close();
    await fake.close();
    await dir.close();
    rmSync(h.root, { recursive: true, force: true });
  });

  for (const c of FORGED) {
    test(`resources/list with forged cursor ${JSON.stringify(c.slice(0, 40))} is invalid params`, async () => {
      const e = await rpcError('forged cursor', m.client.listResources({ cursor: c }, { timeout: 15_000 }));
      assertInvalidParams(`cursor ${c.slice(0, 40)}`, e);
    });
    test(`list_tasks with forged cursor ${JSON.stringify(c.slice(0, 40))} is refused as invalid input`, async () => {
      let r: Awaited<ReturnType<typeof call>>;
      try {
        r = await call(m, 'list_tasks', { cursor: c, limit: 5 }, 15_000);
      } catch (e) {
        return assertInvalidParams('list_tasks cursor', {
          code: Number((e as { code?: number }).code),
          message: String(e),
        });
      }
      assert.equal(r.isError, true, `forged cursor silently accepted: ${r.text.slice(0, 300)}`);
      assert.equal(toolError(r).code, 'invalid_input', `expected invalid_input, got ${r.text.slice(0, 300)}`);
    });
  }

  test('a real resources/list cursor with one character changed is invalid params', async () => {
    const p1 = await m.client.listResources();
    assert.ok(
      p1.nextCursor,
      `110 tasks fit in one resources/list page (${p1.resources.length}); no cursor to tamper with`,
    );
    const c = p1.nextCursor;
    const forged = c.slice(0, -2) + (c.at(-2) === 'A' ? 'B' : 'A') + c.at(-1);
    const e = await rpcError('tampered cursor', m.client.listResources({ cursor: forged }));
    assertInvalidParams('tampered cursor', e);
  });

  test('list_tasks pages stay consistent while tasks are added: every old task once, no repeats', async () => {
    const before = new Set(ids);
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 100; page++) {
      const r = await call(m, 'list_tasks', { limit: 7, ...(cursor ? { cursor } : {}) });
      assert.equal(r.isError, false, r.text);
      const tasks = (r.data.tasks ?? []) as Array<{ task_id: string }>;
      seen.push(...tasks.map((t) => t.task_id));
      await newTask(); // a newer task lands between pages
      cursor = (r.data.next_cursor ?? r.data.nextCursor ?? r.data.cursor) as string | undefined;
      if (!cursor) break;
    }
    const dup = seen.filter((x, i) => seen.indexOf(x) !== i);
    assert.deepEqual(dup, [], 'a task was listed twice across pages');
    const missed = [...before].filter((x) => !seen.includes(x));
    assert.deepEqual(missed, [], 'tasks present from the start were skipped');
  });

  test('resources/list pages stay consistent while tasks are added', async () => {
    const before = ids.map((i) => `lipsync://tasks/${i}`);
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 100; page++) {
      const r = await m.client.listResources(cursor ? { cursor } : {});
      seen.push(...r.resources.map((x) => x.uri).filter((u) => /^lipsync:\/\/tasks\/[^/]+$/.test(u)));
      await newTask();
      cursor = r.nextCursor;
      if (!cursor) break;
    }
    const dup = seen.filter((x, i) => seen.indexOf(x) !== i);
    assert.deepEqual(dup, [], 'task resources listed twice across pages while tasks were added');
    assert.deepEqual(
      before.filter((x) => !seen.includes(x)),
      [],
      'task resources skipped',
    );
  });

  // ---- URIs
  for (const uri of [
    'lipsync://tasks/%E0%A4%A',
    'lipsync://tasks/%ZZ',
    'lipsync://tasks/%',
    'lipsync://tasks/%E0%A4%A/media/result',
    'lipsync://tasks/%C0%AF/mouth-cues.json',
  ]) {
    test(`resources/read ${uri} (bad percent-encoding) is invalid params`, async () => {
      const e = await rpcError(uri, m.client.readResource({ uri }, { timeout: 15_000 }));
      assertInvalidParams(uri, e);
    });
  }

  // ---- subscriptions
  test('subscribing to an unknown task or a malformed URI is refused', async () => {
    for (const uri of [
      'lipsync://tasks/no_such_task_123',
      'lipsync://tasks/',
      'lipsync://tasks/%E0%A4%A',
      'lipsync://nope/x',
      'http://127.0.0.1/x',
      `lipsync://tasks/${'q'.repeat(100_000)}`,
    ]) {
      const e = await rpcError(
        `subscribe ${uri.slice(0, 60)}`,
        m.client.subscribeResource({ uri }, { timeout: 15_000 }),
      );
      assert.notEqual(e.code, -32603, `internal error for ${uri.slice(0, 60)}: ${e.message}`);
    }
    await stillAnswers(m, 'refused subscriptions');
  });

  test('subscriptions past LIPSYNC_MAX_SUBSCRIPTIONS (3) are refused; unsubscribing frees a place', async () => {
    const m2 = await startBin(env);
    try {
      for (const id of ids.slice(0, 3)) await m2.client.subscribeResource({ uri: `lipsync://tasks/${id}` });
      const e = await rpcError(
        '4th subscription',
        m2.client.subscribeResource({ uri: `lipsync://tasks/${ids[3]}` }),
      );
      assert.notEqual(e.code, -32603, e.message);
      assert.match(
        e.message,
        /LIPSYNC_MAX_SUBSCRIPTIONS|unsubscribe/i,
        `the refusal does not say what to do: ${e.message}`,
      );
      await m2.client.unsubscribeResource({ uri: `lipsync://tasks/${ids[0]}` });
      await m2.client.subscribeResource({ uri: `lipsync://tasks/${ids[3]}` });
    } finally {
      await m2.close();
    }
  });

  test('a change made by another process (CLI run --task-id) is heard by a subscriber', async () => {
    const m3 = await startBin(env);
    try {
      const c = await call(m3, 'create_lip_sync', {
        provider: 'jogg',
        video: `${fake.url}/results/v-sub.mp4`,
        audio: `${fake.url}/results/a-sub.wav`,
      });
      assert.equal(c.isError, false, c.text);
      const id = String(c.data.task_id);
      const uri = `lipsync://tasks/${id}`;
      let heard = false;
      let wake: () => void = () => undefined;
      m3.client.setNotificationHandler(ResourceUpdatedNotificationSchema, (nt) => {
        if (nt.params.uri === uri) {
          heard = true;
          wake();
        }
      });
      await m3.client.subscribeResource({ uri });
      fake.finishAfter = 1;
      const cli = await runCli(env, ['run', '--task-id', id, '--no-poll']);
      fake.finishAfter = 1000;
      assert.equal(cli.code, 0, `CLI failed: ${cli.stderr.slice(-400)}`);
      if (!heard)
        await new Promise<void>((res, rej) => {
          const t = setTimeout(
            () =>
              rej(
                new Error(
                  `no notifications/resources/updated for ${uri} within 20 s after the CLI changed it`,
                ),
              ),
            20_000,
          );
          wake = () => {
            clearTimeout(t);
            res();
          };
        });
    } finally {
      await m3.close();
    }
  });

  // ---- completion (on the templates the server lists, so a renamed template does not hide the result)
  const tpl = async (part: string): Promise<string> => {
    const t = await m.client.listResourceTemplates();
    const x = t.resourceTemplates.find((r) => r.uriTemplate.includes(part));
    assert.ok(x, `no template with ${part}`);
    return x.uriTemplate;
  };
  const complete = (uri: string, name: string, value: string, context?: Record<string, string>) =>
    m.client.complete(
      {
        ref: { type: 'ref/resource', uri },
        argument: { name, value },
        ...(context ? { context: { arguments: context } } : {}),
      },
      { timeout: 15_000 },
    );

  test('completion with a 50,000-char prefix is a normal answer or invalid params, never internal', async () => {
    const long = 'a'.repeat(50_000);
    const cases: Array<[string, string]> = [
      ['lipsync://tasks/{task_id}', 'task_id'],
      [await tpl('/media/'), 'which'],
      [await tpl('/media/'), 'task_id'],
      [await tpl('mouth-cues'), 'format'],
    ];
    for (const [uri, name] of cases) {
      try {
        const r = await complete(uri, name, long);
        assert.ok(Array.isArray(r.completion.values));
      } catch (e) {
        assertInvalidParams(`complete ${name} 50k`, {
          code: Number((e as { code?: number }).code),
          message: String(e),
        });
      }
    }
    const p = m.client.complete(
      { ref: { type: 'ref/prompt', name: 'dub_video' }, argument: { name: 'provider', value: long } },
      { timeout: 15_000 },
    );
    await p.catch((e: { code?: number; message?: string }) =>
      assertInvalidParams('prompt arg 50k', { code: Number(e.code), message: String(e.message) }),
    );
  });

  test('task_id completes on the media template', async () => {
    const r = await complete(await tpl('/media/'), 'task_id', ids[0]!.slice(0, 4));
    assert.ok(r.completion.values.length > 0, `no task ids offered: ${JSON.stringify(r)}`);
  });

  test('which completes to original and result; format to json and tsv', async () => {
    const w = await complete(await tpl('/media/'), 'which', '');
    assert.deepEqual([...w.completion.values].sort(), ['original', 'result'], JSON.stringify(w));
    const w2 = await complete(await tpl('/media/'), 'which', 'r');
    assert.deepEqual(w2.completion.values, ['result'], JSON.stringify(w2));
    const f = await complete(await tpl('mouth-cues'), 'format', '');
    assert.deepEqual([...f.completion.values].sort(), ['json', 'tsv'], JSON.stringify(f));
  });

  test('with 110+ matching task ids, completion caps at 100 with honest hasMore and total', async () => {
    const r = await complete('lipsync://tasks/{task_id}', 'task_id', '');
    const c = r.completion;
    assert.ok(c.values.length <= 100, `${c.values.length} values`);
    assert.equal(
      c.hasMore,
      true,
      `hasMore must be true with ${ids.length} tasks: ${JSON.stringify({ ...c, values: c.values.length })}`,
    );
    if (c.total !== undefined)
      assert.ok(c.total >= ids.length, `total ${c.total} is below the ${ids.length} tasks in the ledger`);
  });
});
