import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { README_URL, renderDocs } from '../../scripts/gen-docs.js';
import { ALL_TOOLS } from '../../tools/index.js';

test('README tool and configuration sections match the code (run `npm run docs`)', () => {
  const readme = readFileSync(README_URL, 'utf8');
  const expected = renderDocs(readme);
  if (readme !== expected) {
    const a = readme.split('\n');
    const b = expected.split('\n');
    const at = a.findIndex((line, i) => line !== b[i]);
    assert.fail(
      `README.md has drifted from the tool list or CONFIG_DOCS (first difference at line ${at + 1}). ` +
        'Run `npm run docs` and commit the result.',
    );
  }
});

test('renderDocs is idempotent and lists every tool', () => {
  const readme = readFileSync(README_URL, 'utf8');
  const once = renderDocs(readme);
  assert.equal(renderDocs(once), once);
  for (const t of ALL_TOOLS) assert.ok(once.includes(`\`${t.name}\``), `${t.name} missing from README`);
});
