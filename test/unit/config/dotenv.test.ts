import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isUsableSecret, loadConfig, parseDotenv } from '../../../src/config.js';

test('a quoted value followed by a comment is the value without its quotes', () => {
  assert.deepEqual(parseDotenv('GATEWAY_TOKEN="gw_abc123456" # note\n'), { GATEWAY_TOKEN: 'gw_abc123456' });
  assert.deepEqual(parseDotenv("GATEWAY_TOKEN='gw_abc123456'   # note\n"), { GATEWAY_TOKEN: 'gw_abc123456' });
});

test('comments, export prefixes, CRLF line ends, blanks and unquoted values', () => {
  const text = [
    '# The Director',
    'export GATEWAY_TOKEN=gw_export',
    'SJINN_API_KEY=sk_plain # trailing comment',
    '',
    'DIRECTOR_GATEWAY_URL="https://gw.example/sjinn"',
    "QUOTED_HASH='a # not a comment'",
    'SPACED = spaced value ',
  ].join('\r\n');
  assert.deepEqual(parseDotenv(text), {
    GATEWAY_TOKEN: 'gw_export',
    SJINN_API_KEY: 'sk_plain',
    DIRECTOR_GATEWAY_URL: 'https://gw.example/sjinn',
    QUOTED_HASH: 'a # not a comment',
    SPACED: 'spaced value',
  });
  for (const v of Object.values(parseDotenv(text))) assert.doesNotMatch(v, /\r/);
});

test('double-quoted values expand \\n; single quotes keep text as written (as Node and dotenv do)', () => {
  assert.deepEqual(parseDotenv('A="x\\ny"\nB=\'x\\ny\'\n'), { A: 'x\ny', B: 'x\\ny' });
});

test('~/.openclaw/.env: a quoted, commented token reaches The Director without its quotes', () => {
  const home = realpathSync(mkdtempSync(join(tmpdir(), 'lipsync-dotenv-')));
  try {
    mkdirSync(join(home, '.openclaw'));
    writeFileSync(join(home, '.openclaw', '.env'), 'export GATEWAY_TOKEN="gw_abc123456" # note\r\n');
    const config = loadConfig({ env: { HOME: home }, homeDir: home });
    const token = config.director.gatewayToken;
    assert.ok(isUsableSecret(token));
    assert.equal(token.value, 'gw_abc123456');
    assert.equal(token.source, '~/.openclaw/.env');
    assert.ok(config.secrets.includes('gw_abc123456'));
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

test("Node's parseEnv quirks are repaired: indented keys, and a stray line without '='", () => {
  assert.deepEqual(parseDotenv('  A=1\n\tB=2\n  export C=3\nstray line\nE=5\n'), {
    A: '1',
    B: '2',
    C: '3',
    E: '5',
  });
});
