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

test('OpenClaw in the README: keys and folders through --env (it passes only HOME, PATH, PWD, SHELL, TERM)', () => {
  const setup = readme.slice(readme.indexOf('**OpenClaw**'), readme.indexOf('**MCP Inspector**'));
  assert.match(setup, /HOME, PATH, PWD, SHELL, TERM/);
  assert.match(
    setup,
    /openclaw mcp add lipsync --command node --arg \/absolute\/path\/to\/lipsync-mcp\/dist\/bin\/lipsync-mcp\.js \\\n\s+--env LIPSYNC_ALLOWED_DIRS=\S+ --env JOGG_API_KEY=\S+/,
  );
  // How to keep a key out of the saved config (its `mcp doctor` warns about literal secrets).
  assert.match(setup, /mcp doctor/);
  assert.match(setup, /~\/\.openclaw\/\.env/);
  // The published npx form outlasts OpenClaw's 5 s pre-save check on a cold download.
  assert.match(
    readme,
    /openclaw mcp add lipsync --command npx --arg=-y --arg lipsync-mcp --connect-timeout 60/,
  );
});
