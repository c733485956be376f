import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CONFIG_DOCS, checkSetting, loadConfig, SETTING_ALIASES } from '../../../src/config.js';

/** The source tree (tests run from dist/test/unit/config/). */
const SRC = fileURLToPath(new URL('../../../../src/', import.meta.url));
const README = fileURLToPath(new URL('../../../../README.md', import.meta.url));
const documented = new Set([...CONFIG_DOCS.map((d) => d.name), ...Object.keys(SETTING_ALIASES)]);
/** Variables of the operating system, read but not settings of this product. */
const SYSTEM = new Set(['HOME', 'PATH']);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

test('every environment variable config.ts reads is a row of the settings table', () => {
  const text = readFileSync(join(SRC, 'config.ts'), 'utf8');
  const read = new Set<string>();
  for (const re of [
    /\benv\??\.([A-Z][A-Z0-9_]*)/g,
    /\benv\[\s*['"`]([^'"`]+)/g,
    /'([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)'/g,
  ])
    for (const m of text.matchAll(re)) read.add(m[1]!);
  assert.ok(read.has('JOGG_API_KEY') && read.has('HOME'), 'the scan sees what config.ts reads');
  const missing = [...read].filter((n) => !documented.has(n) && !SYSTEM.has(n));
  assert.deepEqual(missing, [], `read but not in the settings table: ${missing.join(', ')}`);
});

test('every setting named anywhere in src/ (messages, hints) is documented', () => {
  const named = new Set<string>();
  const declared = new Set<string>();
  const re = /\b((?:LIPSYNC|JOGG|JOGGAI|NEMO|DIRECTOR|SJINN|GATEWAY|FFMPEG|FFPROBE)_[A-Z0-9_]*[A-Z0-9])\b/g;
  // Constants of the code (FFMPEG_FIX, NEMO_CODE...) share the prefixes; they are not settings.
  const decl = /\b(?:const|let|function|class|enum|type|interface)\s+([A-Z][A-Z0-9_]*)\b/g;
  for (const f of sourceFiles(SRC)) {
    const text = readFileSync(f, 'utf8');
    for (const m of text.matchAll(re)) named.add(m[1]!);
    for (const m of text.matchAll(decl)) declared.add(m[1]!);
  }
  assert.ok(named.has('LIPSYNC_HTTP_TOKEN'), 'the scan sees settings named in messages');
  const missing = [...named].filter((n) => !documented.has(n) && !declared.has(n));
  assert.deepEqual(missing, [], `named in src/ but undocumented: ${missing.join(', ')}`);
});

test('the five settings that were read but undocumented are in the table and the README', () => {
  const readme = readFileSync(README, 'utf8');
  for (const n of [
    'LIPSYNC_HTTP_PORT',
    'LIPSYNC_HTTP_HOST',
    'LIPSYNC_HTTP_MAX_BODY_KB',
    'SJINN_BASE_URL',
    'LIPSYNC_SKILL_PLATFORM',
  ]) {
    assert.ok(documented.has(n), `${n} in the table`);
    assert.ok(readme.includes(`\`${n}\``), `${n} in the README`);
  }
});

test('documented defaults are the defaults the config applies', () => {
  const c = loadConfig({ env: { HOME: '/home/u' }, homeDir: '/home/u' });
  const dflt = (name: string) => CONFIG_DOCS.find((d) => d.name === name)?.default;
  assert.equal(String(c.http.port), dflt('LIPSYNC_HTTP_PORT'));
  assert.equal(c.http.host, dflt('LIPSYNC_HTTP_HOST'));
  assert.equal(String(c.http.maxBodyBytes / 1024), dflt('LIPSYNC_HTTP_MAX_BODY_KB'));
  assert.equal(c.director.sjinnBaseUrl, dflt('SJINN_BASE_URL'));
  assert.equal(c.nemo.platform, dflt('LIPSYNC_SKILL_PLATFORM'));
  assert.equal(c.jogg.baseUrl, dflt('JOGG_BASE_URL'));
  assert.equal(String(c.jogg.maxWaitSeconds), dflt('JOGG_LIP_SYNC_DEFAULT_MAX_WAIT_SECONDS'));
  assert.equal(String(c.requestTimeoutMs / 1000), dflt('LIPSYNC_REQUEST_TIMEOUT_SECONDS'));
  assert.equal(c.logLevel, dflt('LIPSYNC_LOG_LEVEL'));
});

test('a bad value is refused naming the setting, with a message from its schema', () => {
  assert.throws(
    () => loadConfig({ env: { HOME: '/home/u', LIPSYNC_HTTP_MAX_BODY_KB: 'lots' }, homeDir: '/home/u' }),
    /LIPSYNC_HTTP_MAX_BODY_KB is not valid: must be a number/,
  );
  assert.throws(
    () => loadConfig({ env: { HOME: '/home/u', LIPSYNC_HTTP_PORT: '-1' }, homeDir: '/home/u' }),
    /LIPSYNC_HTTP_PORT is not valid: must be at least 0/,
  );
});

test('each kind of setting reads what a person writes, and refuses the rest saying what it accepts', () => {
  const load = (env: Record<string, string>) =>
    loadConfig({ env: { HOME: '/home/u', ...env }, homeDir: '/home/u' });
  const refused = (env: Record<string, string>, message: RegExp) => assert.throws(() => load(env), message);
  // Yes/no settings in any case; empty is the default.
  assert.equal(load({ LIPSYNC_HTTP_TRUST_ROOTS: ' TRUE ' }).http.trustRoots, true);
  assert.equal(load({ LIPSYNC_ALLOW_PRIVATE_URLS: '1' }).allowPrivateUrls, true);
  assert.equal(load({ LIPSYNC_ALLOW_PRIVATE_URLS: '' }).allowPrivateUrls, false);
  assert.equal(load({ LIPSYNC_CONFIRM_PAID: 'False' }).spend.confirmPaid, false);
  assert.equal(load({}).spend.confirmPaid, undefined);
  refused(
    { LIPSYNC_CONFIRM_PAID: 'yes' },
    /LIPSYNC_CONFIRM_PAID is not valid: must be one of true, false, 1, 0\./,
  );
  // Choices: trimmed, empty is the default, anything else names the choices.
  assert.equal(load({ LIPSYNC_LOG_LEVEL: ' debug ' }).logLevel, 'debug');
  assert.equal(load({ LIPSYNC_LOG_LEVEL: 'DEBUG' }).logLevel, 'debug');
  assert.equal(load({ LIPSYNC_DEFAULT_PROVIDER: 'Jogg' }).defaultProvider, 'jogg');
  assert.equal(load({ LIPSYNC_LOG_LEVEL: '' }).logLevel, 'info');
  assert.equal(load({ LIPSYNC_DEFAULT_PROVIDER: '' }).defaultProvider, undefined);
  refused({ LIPSYNC_DEFAULT_PROVIDER: 'heygen' }, /must be one of local, jogg, nemovideo, director\./);
  refused({ JOGG_LIP_SYNC_DEFAULT_PLAYBACK_TYPE: 'loop' }, /must be one of normal, normal_reverse/);
  // Numbers and caps.
  assert.equal(load({ LIPSYNC_HTTP_PORT: ' 0 ' }).http.port, 0);
  assert.equal(load({ LIPSYNC_CAP_PAID_CREATES_PER_DAY: '' }).spend.capPaidCreates, undefined);
  assert.equal(load({ LIPSYNC_CAP_PAID_CREATES_PER_DAY: '0' }).spend.capPaidCreates, 0);
  refused({ LIPSYNC_CAP_PAID_CREATES_PER_DAY: '-1' }, /must be at least 0/);
  refused({ LIPSYNC_MAX_INPUT_MB: 'Infinity' }, /LIPSYNC_MAX_INPUT_MB is not valid: must be a number/);
  refused({ LIPSYNC_HTTP_PORT: '70000' }, /must be at most 65535/);
  // Decimal only: hex is not a number people mean; ports and counts are whole; caps take "off".
  refused(
    { LIPSYNC_REQUEST_TIMEOUT_SECONDS: '0x10' },
    /LIPSYNC_REQUEST_TIMEOUT_SECONDS is not valid: must be a number/,
  );
  refused({ LIPSYNC_HTTP_PORT: '0x50' }, /must be a number/);
  refused({ LIPSYNC_HTTP_PORT: '0.5' }, /LIPSYNC_HTTP_PORT is not valid: must be a whole number/);
  refused({ LIPSYNC_DATABASE_POOL_SIZE: '2.5' }, /must be a whole number/);
  assert.equal(load({ LIPSYNC_REQUEST_TIMEOUT_SECONDS: '1.5' }).requestTimeoutMs, 1500);
  assert.equal(load({ LIPSYNC_CAP_JOGG_CREDITS_PER_DAY: 'off' }).spend.capJoggCredits, undefined);
  assert.equal(load({ LIPSYNC_CAP_JOGG_CREDITS_PER_DAY: ' OFF ' }).spend.capJoggCredits, undefined);
  assert.equal(load({ LIPSYNC_CAP_JOGG_CREDITS_PER_DAY: '1e2' }).spend.capJoggCredits, 100);
  refused({ LIPSYNC_CAP_JOGG_CREDITS_PER_DAY: '0x5' }, /must be a number/);
  // The fix can be followed without starting anything (doctor refuses a bad setting too).
  assert.throws(
    () => load({ LIPSYNC_ALLOW_PRIVATE_URLS: 'yes' }),
    (e: Error & { hint?: string }) =>
      /Fix or unset LIPSYNC_ALLOW_PRIVATE_URLS/.test(e.hint ?? '') &&
      /README/.test(e.hint ?? '') &&
      !/doctor/.test(e.hint ?? ''),
  );
  // The first refused setting in table order is the one reported.
  refused({ LIPSYNC_HTTP_PORT: 'x', LIPSYNC_LOG_LEVEL: 'loud' }, /LIPSYNC_LOG_LEVEL/);
  // An alias is checked as its setting; text is trimmed.
  assert.equal(
    (load({ JOGGAI_API_KEY: ' k-123456789 ' }).jogg.apiKey as { value: string }).value,
    'k-123456789',
  );
  // A database URL: the message never repeats the value.
  refused(
    { LIPSYNC_DATABASE_URL: 'mysql://u:hunter2@h/db' },
    /must be a postgres:\/\/ or postgresql:\/\/ URL\.$/,
  );
  assert.throws(
    () => load({ LIPSYNC_DATABASE_URL: 'mysql://u:hunter2@h/db' }),
    (e: Error) => !e.message.includes('hunter2'),
  );
  assert.equal(load({ LIPSYNC_DATABASE_URL: ' postgres://h/db ' }).database.url, 'postgres://h/db');
  // The same checks answer the CLI's flags.
  assert.equal(checkSetting('LIPSYNC_HTTP_PORT', '8080'), undefined);
  assert.equal(checkSetting('LIPSYNC_HTTP_PORT', 'eighty'), 'must be a number');
});
