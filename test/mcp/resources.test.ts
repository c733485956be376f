/** Tasks as MCP resources (issue 19 item 1): read from the ledger, listed in pages, completed by id. */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { harness, structured, testEnv } from '../helpers/app.js';
import { seedTask } from './seed.js';

test('a task resource is the same JSON as get_task_status, read without a provider request', async () => {
  const env = testEnv({ JOGG_API_KEY: 'k-test-123456', JOGG_BASE_URL: 'http://127.0.0.1:9' });
  const h = await harness(env.env);
  try {
    await seedTask(h.app.ledger, 'task-res-1');
    const read = await h.client.readResource({ uri: 'lipsync://tasks/task-res-1' });
    const item = read.contents[0] as { uri: string; mimeType: string; text: string };
    assert.equal(item.mimeType, 'application/json');
    const fromResource = JSON.parse(item.text);
    const fromTool = structured(await h.call('get_task_status', { task_id: 'task-res-1' }));
    assert.deepEqual(fromResource, fromTool);
    assert.equal(fromResource.status, 'processing');
    await assert.rejects(h.client.readResource({ uri: 'lipsync://tasks/nope' }), /No task nope/);
  } finally {
    await h.close();
    env.cleanup();
  }
});

test('a task resource adds what the task cost (what list_tasks shows), for the result viewer', async () => {
  const env = testEnv({ JOGG_API_KEY: 'k-test-123456', JOGG_BASE_URL: 'http://127.0.0.1:9' });
  const h = await harness(env.env);
  try {
    await seedTask(h.app.ledger, 'cost-1', { status: 'success', cost: { amount: 2, unit: 'credits' } });
    const read = async (id: string) =>
      JSON.parse(
        ((await h.client.readResource({ uri: `lipsync://tasks/${id}` })).contents[0] as { text: string })
          .text,
      );
    const cost = { amount: 2, unit: 'credits', source: 'estimate' };
    assert.deepEqual((await read('cost-1')).cost, cost);
    const listed = structured(await h.call('list_tasks', {})) as {
      tasks: { task_id: string; cost?: unknown }[];
    };
    assert.deepEqual(listed.tasks.find((t) => t.task_id === 'cost-1')?.cost, cost);
    await seedTask(h.app.ledger, 'cost-none', { status: 'success' });
    assert.equal((await read('cost-none')).cost, undefined, 'a paid task without a record has no cost');
  } finally {
    await h.close();
    env.cleanup();
  }
});

test('resources/list pages through the ledger; the template lists and completes task ids', async () => {
  const env = testEnv();
  const h = await harness(env.env);
  try {
    for (let i = 0; i < 60; i++)
      await seedTask(h.app.ledger, `page-${String(i).padStart(2, '0')}`, { now: 1000 + i });
    const first = await h.client.listResources();
    assert.ok(first.nextCursor, 'a second page');
    const second = await h.client.listResources({ cursor: first.nextCursor });
    assert.equal(second.nextCursor, undefined);
    const uris = [...first.resources, ...second.resources]
      .map((r) => r.uri)
      .filter((u) => u.startsWith('lipsync://tasks/'));
    assert.equal(uris.length, 60);
    assert.equal(new Set(uris).size, 60);
    assert.equal(uris[0], 'lipsync://tasks/page-59', 'newest first');
    const templates = await h.client.listResourceTemplates();
    assert.ok(templates.resourceTemplates.some((t) => t.uriTemplate === 'lipsync://tasks/{task_id}'));
    const c = await h.client.complete({
      ref: { type: 'ref/resource', uri: 'lipsync://tasks/{task_id}' },
      argument: { name: 'task_id', value: 'page-5' },
    });
    assert.deepEqual(
      c.completion.values,
      Array.from({ length: 10 }, (_, i) => `page-5${9 - i}`),
    );
  } finally {
    await h.close();
    env.cleanup();
  }
});

test("a finished local task's mouth cues are resources (JSON and TSV); other tasks have none", async () => {
  const env = testEnv();
  const h = await harness(env.env);
  try {
    const dir = join(h.app.config.outputDir, 'work', 'cues-1');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'r.mouth.json'), '{"mouthCues":[{"start":0,"end":0.5,"value":"A"}]}\n');
    writeFileSync(join(dir, 'r.mouth.tsv'), '0.00\tA\n0.50\tX\n');
    await seedTask(h.app.ledger, 'cues-1', {
      provider: 'local',
      status: 'success',
      snapshot: {
        status: 'success',
        resultUrl: 'file:///x.mp4',
        extra: { mouth_cues_json: join(dir, 'r.mouth.json'), mouth_cues_tsv: join(dir, 'r.mouth.tsv') },
      },
    });
    await seedTask(h.app.ledger, 'nocues', { now: 1 });
    const json = await h.client.readResource({ uri: 'lipsync://tasks/cues-1/mouth-cues.json' });
    assert.match((json.contents[0] as { text: string }).text, /mouthCues/);
    const tsv = await h.client.readResource({ uri: 'lipsync://tasks/cues-1/mouth-cues.tsv' });
    assert.equal((tsv.contents[0] as { mimeType: string }).mimeType, 'text/tab-separated-values');
    assert.match((tsv.contents[0] as { text: string }).text, /0\.50\tX/);
    const list = (await h.client.listResources()).resources.map((r) => r.uri);
    assert.ok(list.includes('lipsync://tasks/cues-1/mouth-cues.json'));
    assert.ok(!list.includes('lipsync://tasks/nocues/mouth-cues.json'));
    await assert.rejects(
      h.client.readResource({ uri: 'lipsync://tasks/nocues/mouth-cues.json' }),
      /no mouth cues/,
    );
  } finally {
    await h.close();
    env.cleanup();
  }
});

test("a local task's result and original video are blob resources, only from the output and allowed folders", async () => {
  const env = testEnv();
  const h = await harness(env.env);
  try {
    const out = join(h.app.config.outputDir, 'work', 'media-1');
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'r.mp4'), Buffer.from('result-bytes'));
    writeFileSync(join(env.work, 'talk.mp4'), Buffer.from('original-bytes'));
    const outside = join(env.root, 'elsewhere.mp4');
    writeFileSync(outside, Buffer.from('secret'));
    const seed = (id: string, video: string, result: string) =>
      seedTask(h.app.ledger, id, {
        provider: 'local',
        status: 'success',
        request: { inputs: { video: { type: 'file', path: video } } },
        snapshot: { status: 'success', resultUrl: `file://${result}` },
      });
    await seed('media-1', join(env.work, 'talk.mp4'), join(out, 'r.mp4'));
    await seed('media-2', outside, outside);
    const read = async (uri: string) =>
      (await h.client.readResource({ uri })).contents[0] as { blob: string; mimeType: string };
    const result = await read('lipsync://tasks/media-1/media/result');
    assert.equal(result.mimeType, 'video/mp4');
    assert.equal(Buffer.from(result.blob, 'base64').toString(), 'result-bytes');
    const original = await read('lipsync://tasks/media-1/media/original');
    assert.equal(Buffer.from(original.blob, 'base64').toString(), 'original-bytes');
    await assert.rejects(read('lipsync://tasks/media-2/media/result'), /result video .* outside the folders/);
    await assert.rejects(
      read('lipsync://tasks/media-2/media/original'),
      /original video .* outside the folders/,
    );
  } finally {
    await h.close();
    env.cleanup();
  }
});
