/** What a person reads first in the README (issue 27): the HTTP endpoint path, the CLI's provider ids. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { MCP_PATH } from '../../src/http-server/chain.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const readme = readFileSync(join(root, 'README.md'), 'utf8');

test('the README gives the HTTP endpoint URL, path included, as the server serves it', () => {
  const shared = readme.slice(
    readme.indexOf('**Shared HTTP server**'),
    readme.indexOf('## How agents should use it'),
  );
  assert.ok(shared.includes(`http://127.0.0.1:8787${MCP_PATH}`), shared);
});

test("the README's CLI section says run --task-id takes a provider's own id too", () => {
  assert.match(readme, /lipsync-mcp run --task-id ID \[--provider P\] \[--poll\]/);
  assert.match(readme, /provider's own task id/);
});
