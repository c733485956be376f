// Settings read by the shipped bundle (README configuration table), its logger at debug/trace, and its
// provider HTTP path (a loopback Jogg fake), compared with the module build where it matters.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { BIN, Raw, resultText, runProgram } from './bundle-helpers.js';
import { JoggFake } from './fakes/jogg.js';
import { CANARY, CLI, type Home, lastJson, leaks, makeHome, STACK } from './helpers.js';

/** Runs the command at `bin` with node. */
const run = (bin: string, args: string[], env: Record<string, string>) =>
  runProgram(process.execPath, [bin, ...args], env);

describe('bundle settings: refused values', () => {
  let h: Home;
  before(() => {
    h = makeHome({ LIPSYNC_LOG_LEVEL: 'info' });
  });
  const bad: Array<[string, string]> = [
    ['LIPSYNC_ALLOW_PRIVATE_URLS', 'yes'],
    ['LIPSYNC_ALLOW_PRIVATE_URLS', 'maybe'],
    ['LIPSYNC_CONFIRM_PAID', 'Off'],
    ['LIPSYNC_HTTP_TRUST_ROOTS', 'enabled'],
    ['LIPSYNC_REQUEST_TIMEOUT_SECONDS', '-1'],
    ['LIPSYNC_REQUEST_TIMEOUT_SECONDS', 'NaN'],
    ['LIPSYNC_REQUEST_TIMEOUT_SECONDS', 'Infinity'],
    ['LIPSYNC_REQUEST_TIMEOUT_SECONDS', '99999999999999999999'],
    ['LIPSYNC_REQUEST_TIMEOUT_SECONDS', '5s'],
    ['LIPSYNC_MAX_INPUT_MB', '0'],
    ['LIPSYNC_HTTP_PORT', '65536'],
    ['LIPSYNC_DATABASE_POOL_SIZE', '-3'],
    ['LIPSYNC_CAP_JOGG_CREDITS_PER_DAY', '-1'],
    ['LIPSYNC_DEFAULT_PROVIDER', 'bogus'],
    ['LIPSYNC_LOG_LEVEL', 'verbose'],
  ];
  for (const [name, value] of bad) {
    test(`stdio start with ${name}=${JSON.stringify(value)} is refused: named, exit 1, no stack, stdout empty`, async () => {
      const r = await run(BIN, [], { ...h.env, [name]: value });
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stdout, '', 'stdout of the stdio server must stay JSON-RPC only');
      const e = lastJson(r.stderr);
      assert.match(String(e.error), new RegExp(`^Configuration value ${name} is not valid: .+`));
      assert.match(String(e.hint), /\S/);
      assert.doesNotMatch(r.stderr, STACK);
    });
  }

  test('a PostgreSQL URL with a password is never echoed when refused or unreachable', async () => {
    const pw = 'pw-CANARY-3c5e7a9b1d';
    for (const url of [
      `mysql://u:${pw}@h/d`,
      `postgres://u:${pw}@`,
      `postgres://u:${pw}@h:99999/d`,
      `postgres://u:${pw}@127.0.0.1:9/db`,
      `not a url ${pw}`,
    ]) {
      const r = await run(BIN, ['doctor', '--json'], { ...h.env, LIPSYNC_DATABASE_URL: url });
      assert.equal(r.code, 1, `${url}: ${r.stderr}`);
      assert.ok(!(r.stdout + r.stderr).includes(pw), `password echoed: ${r.stdout}${r.stderr}`);
      assert.doesNotMatch(r.stderr, STACK);
    }
  });

  test('accepted spellings: TRUE, 1, surrounding spaces, empty (default)', async () => {
    for (const [name, value] of [
      ['LIPSYNC_ALLOW_PRIVATE_URLS', 'TRUE'],
      ['LIPSYNC_ALLOW_PRIVATE_URLS', ' 1 '],
      ['LIPSYNC_ALLOW_PRIVATE_URLS', ''],
      ['LIPSYNC_DEFAULT_PROVIDER', ' local '],
      ['LIPSYNC_DEFAULT_PROVIDER', '   '],
      ['LIPSYNC_REQUEST_TIMEOUT_SECONDS', ''],
      ['LIPSYNC_LOG_LEVEL', ''],
    ] as const) {
      const r = await run(BIN, ['doctor', '--json'], { ...h.env, [name]: value });
      assert.equal(r.code, 0, `${name}=${JSON.stringify(value)}: ${r.stderr}`);
    }
  });

  test("the documented default of a spend cap, 'off', is accepted when written out", {}, async () => {
    const r = await run(BIN, ['doctor', '--json'], { ...h.env, LIPSYNC_CAP_JOGG_CREDITS_PER_DAY: 'off' });
    assert.equal(r.code, 0, r.stderr);
  });

  test('a hexadecimal number is not a number of seconds', {}, async () => {
    const r = await run(BIN, ['doctor', '--json'], { ...h.env, LIPSYNC_REQUEST_TIMEOUT_SECONDS: '0x10' });
    assert.equal(r.code, 1, r.stdout);
    assert.match(String(lastJson(r.stderr).error), /LIPSYNC_REQUEST_TIMEOUT_SECONDS/);
  });

  test('a fractional LIPSYNC_HTTP_PORT is refused as that setting (not blamed on an absent --port flag)', {}, async () => {
    const r = await run(BIN, ['serve', '--http'], { ...h.env, LIPSYNC_HTTP_PORT: '0.5' });
    assert.equal(r.code, 1, r.stderr);
    assert.match(String(lastJson(r.stderr).error), /^Configuration value LIPSYNC_HTTP_PORT is not valid/);
  });

  // Fixed by pointing the hint at the README's table (doctor reads the same settings, so it refuses the
  // same value): the message itself names what is accepted.
  test('the fix a refusal gives can be followed: the message names the accepted values, the hint where all are listed', async () => {
    const env = { ...h.env, LIPSYNC_ALLOW_PRIVATE_URLS: 'yes' };
    const first = await run(BIN, [], env);
    const e = lastJson(first.stderr);
    assert.match(
      String(e.error),
      /LIPSYNC_ALLOW_PRIVATE_URLS is not valid: must be one of true, false, 1, 0/,
    );
    const hint = String(e.hint);
    if (/doctor/.test(hint)) {
      const d = await run(BIN, ['doctor'], env);
      assert.equal(d.code, 0, d.stderr);
    } else assert.match(hint, /README/);
  });
});

describe('bundle logger and provider HTTP', () => {
  let fake: JoggFake;
  let h: Home;
  before(async () => {
    fake = await new JoggFake(CANARY.jogg).start();
    h = makeHome();
  });
  after(async () => {
    Raw.killAll();
    await fake.close();
  });

  for (const level of ['debug', 'trace']) {
    test(`LIPSYNC_LOG_LEVEL=${level}: stdout is JSON-RPC only, stderr is log lines, no secret anywhere`, async () => {
      const env = {
        ...h.env,
        LIPSYNC_LOG_LEVEL: level,
        JOGG_API_KEY: CANARY.jogg,
        JOGG_BASE_URL: fake.url,
        GATEWAY_TOKEN: CANARY.gateway,
        NEMO_TOKEN: CANARY.nemo,
        NEMO_BASE_URL: fake.url,
        DIRECTOR_GATEWAY_URL: fake.url,
      };
      const s = new Raw(BIN, env);
      await s.init();
      await s.until(() => /ready on stdio/.test(s.err), 'ready line');
      await s.call(2, 'check_credits', {});
      await s.call(3, 'list_tasks', {});
      await s.call(4, 'get_task_status', { task_id: 'nope' });
      await s.call(5, 'nope', {});
      await s.close();
      assert.deepEqual(s.badLines, []);
      assert.deepEqual(leaks(s.err + s.lines.join('\n')), []);
      for (const l of s.err.split('\n').filter(Boolean)) assert.doesNotThrow(() => JSON.parse(l), l);
    });
  }

  test('the bundled command reaches a provider as the module build does (credits --provider jogg)', {}, async () => {
    const env = { ...h.env, JOGG_API_KEY: CANARY.jogg, JOGG_BASE_URL: fake.url };
    const mod = await run(CLI, ['credits', '--provider', 'jogg'], env);
    assert.equal(mod.code, 0, mod.stderr);
    assert.match(mod.stdout, /42 credits/);
    const n = fake.count('GET', '/v2/user/remaining_quota');
    const b = await run(BIN, ['credits', '--provider', 'jogg'], env);
    assert.equal(fake.count('GET', '/v2/user/remaining_quota') - n, 1, 'the bundle sent no request');
    assert.equal(b.code, 0, b.stdout + b.stderr);
    assert.match(b.stdout, /42 credits/);
  });

  test('a provider failure in the bundle is a readable message (not a bare error class name)', {}, async () => {
    const env = { ...h.env, JOGG_API_KEY: CANARY.jogg, JOGG_BASE_URL: fake.url };
    const s = new Raw(BIN, env);
    await s.init();
    const a = await s.call(2, 'check_credits', { provider: 'jogg' });
    await s.close();
    assert.doesNotMatch(resultText(a), /TypeError/);
  });
});
