import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { CATALOG_URL, listedTools, README_URL, renderCatalog, renderDocs } from '../../scripts/gen-docs.js';
import { ALL_TOOLS } from '../../tools/all.js';
import { TOOL_CATALOG } from '../../tools/catalog.js';
import { TOOL_LOADERS, TOOL_NAMES } from '../../tools/index.js';
import { errorOf, harness, testEnv } from '../helpers/app.js';

test('README tool, configuration and error sections match the code (run `npm run docs`)', async () => {
  const readme = readFileSync(README_URL, 'utf8');
  const expected = renderDocs(readme, await listedTools());
  if (readme !== expected) {
    const a = readme.split('\n');
    const b = expected.split('\n');
    const at = a.findIndex((line, i) => line !== b[i]);
    assert.fail(
      `README.md has drifted from the tool list, SETTINGS or the error contract (first difference at line ${at + 1}). ` +
        'Run `npm run docs` and commit the result.',
    );
  }
});

test('renderDocs is idempotent and lists every tool', async () => {
  const readme = readFileSync(README_URL, 'utf8');
  const tools = await listedTools();
  const once = renderDocs(readme, tools);
  assert.equal(renderDocs(once, tools), once);
  for (const t of ALL_TOOLS) assert.ok(once.includes(`\`${t.name}\``), `${t.name} missing from README`);
});

test('as the README says: with no keys every tool is listed, and an unconfigured one says how to configure it', async () => {
  const readme = readFileSync(README_URL, 'utf8');
  assert.doesNotMatch(readme, /is not listed/);
  assert.match(readme, /Every tool is\s+always listed/);
  const env = testEnv();
  const h = await harness(env.env);
  try {
    const { tools } = await h.client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), ALL_TOOLS.map((t) => t.name).sort());
    const err = errorOf(await h.call('generate_video', { prompt: 'a cat on a skateboard' }));
    assert.equal(err.code, 'missing_credentials');
    assert.match(err.hint ?? '', /GATEWAY_TOKEN/);
  } finally {
    await h.close();
    env.cleanup();
  }
});

test('the README says what the local engine does to lengths: the output lasts as long as the aligned audio', () => {
  const readme = readFileSync(README_URL, 'utf8');
  assert.doesNotMatch(readme, /fits\s+the\s+(new\s+)?audio\s+to\s+the\s+video/);
  assert.match(readme, /output lasts as long as the (aligned )?audio/);
});

test("tools/catalog.ts is what the tools' zod schemas list (run `npm run docs`)", async () => {
  const listed = await listedTools();
  assert.equal(
    readFileSync(CATALOG_URL, 'utf8'),
    renderCatalog(listed),
    'tools/catalog.ts has drifted from the tools in tools/: run `npm run docs` and commit the result.',
  );
  // The compiled catalog the server answers with is that same listing.
  assert.deepEqual(JSON.parse(JSON.stringify(TOOL_CATALOG)), JSON.parse(JSON.stringify(listed)));
});

test('each tool is loaded by name, in the order clients list them', async () => {
  assert.deepEqual(
    TOOL_NAMES,
    ALL_TOOLS.map((t) => t.name),
  );
  assert.deepEqual(
    TOOL_CATALOG.map((t) => t.name),
    TOOL_NAMES,
  );
  for (const name of TOOL_NAMES) {
    const def = await TOOL_LOADERS[name]();
    assert.equal(def.name, name);
    assert.equal(
      def,
      ALL_TOOLS.find((t) => t.name === name),
    );
  }
});
