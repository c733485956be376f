/**
 * OpenClaw starts a server with only HOME, PATH, PWD, SHELL and TERM (issue 27 item 8): a key exported
 * in the shell never arrives. A key in ~/.openclaw/.env is read by the server itself, so it can stay
 * out of OpenClaw's saved server config; the environment still wins.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../../../src/config.js';

test('JOGG_API_KEY and NEMO_TOKEN from ~/.openclaw/.env, with only what OpenClaw passes in the env', () => {
  const home = mkdtempSync(join(tmpdir(), 'openclaw-keys-'));
  try {
    mkdirSync(join(home, '.openclaw'));
    writeFileSync(
      join(home, '.openclaw', '.env'),
      'JOGG_API_KEY=jogg-from-file\nNEMO_TOKEN=nemo-from-file\n',
    );
    const env = { HOME: home, PATH: '/usr/bin:/bin', PWD: home, SHELL: '/bin/sh', TERM: 'xterm' };
    const c = loadConfig({ env });
    assert.deepEqual(c.jogg.apiKey, { value: 'jogg-from-file', source: '~/.openclaw/.env' });
    assert.deepEqual(c.nemo.token, { value: 'nemo-from-file', source: '~/.openclaw/.env' });
    const wins = loadConfig({ env: { ...env, JOGG_API_KEY: 'jogg-from-env' } });
    assert.deepEqual(wins.jogg.apiKey, { value: 'jogg-from-env', source: 'env:JOGG_API_KEY' });
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});
