import assert from 'node:assert/strict';
import { test } from 'node:test';
import { databasePasswords, loadConfig } from '../../../src/config.js';
import { AppError } from '../../../src/errors.js';
import { Redactor } from '../../../src/redact.js';

const PASSWORD = 'pw-s3cret-Xy9';

test('config: the URL and its password are secrets; a bad scheme is refused without the value', () => {
  const url = `postgres://lipsync:${encodeURIComponent(`${PASSWORD}@/`)}@db.example:5432/ledger?sslmode=require`;
  const c = loadConfig({ env: { HOME: '/home/u', LIPSYNC_DATABASE_URL: url }, homeDir: '/home/u' });
  assert.equal(c.database.url, url);
  assert.equal(c.database.poolSize, 10);
  const r = new Redactor(c.secrets);
  assert.equal(r.redact(`connecting to ${url}`), 'connecting to [REDACTED]');
  assert.ok(!r.redact(`password ${PASSWORD}@/ failed`).includes(PASSWORD));
  assert.throws(
    () =>
      loadConfig({
        env: { HOME: '/h', LIPSYNC_DATABASE_URL: `mysql://u:${PASSWORD}@h/db` },
        homeDir: '/h',
      }),
    (e: unknown) =>
      e instanceof AppError && /LIPSYNC_DATABASE_URL/.test(e.message) && !e.message.includes(PASSWORD),
  );
  assert.equal(
    loadConfig({ env: { HOME: '/h', LIPSYNC_DATABASE_POOL_SIZE: '3' }, homeDir: '/h' }).database.poolSize,
    3,
  );
});

test('databasePasswords: user info (as written and decoded), password parameters, libpq forms', () => {
  assert.deepEqual(databasePasswords('postgres://u:p%40ss@h/db'), ['p%40ss', 'p@ss']);
  assert.deepEqual(databasePasswords('postgres://u:pw@/db?host=/run/postgresql'), ['pw']);
  assert.deepEqual(databasePasswords('postgresql://h/db?password=secret&sslmode=require'), ['secret']);
  assert.deepEqual(databasePasswords('postgres://u@h/db'), []);
  assert.deepEqual(databasePasswords('postgres://h/db'), []);
});
