/**
 * Tool schema snapshots: what clients see from tools/list. A change here is an interface change for
 * every MCP client, so it must be deliberate: rerun with UPDATE_SNAPSHOTS=1 and commit the JSON.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { harness, testEnv } from '../helpers/app.js';

/** The snapshot lives in the source tree (this file runs from dist/test/ecosystem/). */
const SNAPSHOT = fileURLToPath(new URL('../../../test/snapshots/tools.json', import.meta.url));

test('tool schemas match test/snapshots/tools.json', async () => {
  const env = testEnv();
  const h = await harness(env.env);
  try {
    const { tools } = await h.client.listTools();
    const actual = tools.map((t) => ({
      name: t.name,
      title: t.title,
      annotations: t.annotations,
      inputSchema: t.inputSchema,
      outputSchema: t.outputSchema,
    }));
    const text = `${JSON.stringify(actual, null, 2)}\n`;

    const create = actual.find((t) => t.name === 'create_lip_sync');
    assert.ok(create, 'create_lip_sync is listed');
    const provider = (create.inputSchema.properties as Record<string, { enum?: string[] }>).provider;
    assert.deepEqual(provider?.enum, ['local', 'jogg', 'nemovideo', 'director']);

    if (process.env.UPDATE_SNAPSHOTS === '1') {
      writeFileSync(SNAPSHOT, text);
      return;
    }
    let expected: string;
    try {
      expected = readFileSync(SNAPSHOT, 'utf8');
    } catch {
      assert.fail(`No snapshot at ${SNAPSHOT}. Set UPDATE_SNAPSHOTS=1 to write it deliberately.`);
    }
    const want = JSON.parse(expected) as typeof actual;
    assert.deepEqual(
      actual,
      want,
      'Tool schemas changed (an interface change for every MCP client). If intended, set UPDATE_SNAPSHOTS=1 to rewrite test/snapshots/tools.json deliberately, and commit it.',
    );
  } finally {
    await h.close();
    env.cleanup();
  }
});
