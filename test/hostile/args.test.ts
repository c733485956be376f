/**
 * Part (a): a few hundred seeded random and adversarial argument sets for every registered tool. Each
 * result must be normal or a clear isError; invalid calls must not reach any provider; the server must
 * keep answering and leave no unhandled rejection; no canary secret may surface anywhere.
 */
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { startFakeJogg } from '../fakes/jogg/index.js';
import { harness } from '../helpers/app.js';
import { CANARIES, checkResult, filesWithSecrets, hostileEnv, prng } from './shared.js';

const CASES_PER_TOOL = 40;
const SEED = 0x5eed_0006;

type JsonSchema = { type?: string; enum?: unknown[]; maxLength?: number };

function deep(depth: number): unknown {
  let o: unknown = 'bottom';
  for (let i = 0; i < depth; i++) o = { a: o, b: [o] };
  return o;
}

test('hostile tool arguments: only clear results, nothing reaches a provider when invalid', async () => {
  const fake = await startFakeJogg({ apiKey: CANARIES.JOGG_API_KEY });
  const env = hostileEnv(fake);
  let unhandled = 0;
  const onUnhandled = () => {
    unhandled++;
  };
  process.on('unhandledRejection', onUnhandled);
  const h = await harness(env.env);
  try {
    const w = env.work;
    writeFileSync(join(w, '.env'), `JOGG_API_KEY=${CANARIES.JOGG_API_KEY}\n`);
    mkdirSync(join(w, '.ssh'));
    writeFileSync(join(w, '.ssh', 'id_rsa'), 'PRIVATE');
    symlinkSync('/etc/passwd', join(w, 'link.mp4'));
    symlinkSync('/etc', join(w, 'linkdir'));
    symlinkSync(join(w, '.env'), join(w, 'innocent.wav'));
    const strings = [
      '..',
      '../../../../etc/passwd',
      '%2e%2e/%2e%2e/etc/passwd',
      '..%2f..%2fetc%2fpasswd',
      `${w}/%2e%2e/%2e%2e/%2e%2e/etc/passwd`,
      'talk.mp4\0.wav',
      `${w}/a\0/../../etc/passwd`,
      'C:\\Windows\\System32\\drivers\\etc\\hosts',
      'C:/Users/x/video.mp4',
      '\\\\evil-host\\share\\a.mp4',
      '//evil-host/share/a.mp4',
      `${w}/link.mp4`,
      `${w}/linkdir/passwd`,
      `${w}/innocent.wav`,
      `${w}/.env`,
      `${w}/.ssh/id_rsa`,
      '~/.ssh/id_rsa',
      '~/../../etc/shadow',
      w,
      '/dev/zero',
      '/dev/stdin',
      '/proc/self/environ',
      'file:///etc/passwd',
      'ftp://example.invalid/a.mp4',
      'javascript:alert(1)',
      'data:video/mp4;base64,AAAA',
      'http://user:pw@127.0.0.1:1/a.mp4',
      'http://[::1',
      '',
      ' ',
      '\u202egnp.exe',
      '😀'.repeat(500),
      'a\u0301'.repeat(200),
      '\ud800\udfff\ud800',
      'CON',
      'NUL.mp4',
      "'; DROP TABLE tasks; --",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal unsubstituted template
      '${JOGG_API_KEY}',
      '\r\nX-Injected: 1',
    ];
    const others: unknown[] = [-1, 0, 1.5, 51, 1e308, -1e308, true, false, null, [], ['a', 1], {}, { x: 1 }];
    const huge = 'x'.repeat(1024 * 1024);
    const rnd = prng(SEED);
    const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)] as T;
    const value = (): unknown => {
      const r = rnd();
      if (r < 0.03) return huge;
      if (r < 0.06) return deep(200);
      if (r < 0.65) return pick(strings);
      return pick(others);
    };

    const typedValue = (sch: JsonSchema | undefined): unknown => {
      if (sch?.enum) return pick(sch.enum);
      if (sch?.type === 'number' || sch?.type === 'integer') return pick([0, 1, 50]);
      if (sch?.type === 'boolean') return pick([true, false]);
      if (sch?.type === 'string') return pick(strings.filter((x) => x.length <= (sch.maxLength ?? 1e9)));
      return value();
    };

    const { tools } = await h.client.listTools();
    assert.ok(tools.length >= 6, 'tools are registered');
    const counts: Record<string, { cases: number; errors: number; ok: number }> = {};
    let echoed = 0;
    let protocolErrors = 0;
    const codes: Record<string, number> = {};
    // DIRECTOR_GATEWAY_URL is the fake's bare base here, so The Director's gateway calls are `/?action=`.
    const valid = new Set(['/v2/', '/api/', '/signed/', '/result/', '/?action=']);
    for (const tool of tools) {
      const shape = (tool.inputSchema.properties ?? {}) as Record<string, JsonSchema>;
      const props = Object.keys(shape);
      const c = { cases: 0, errors: 0, ok: 0 };
      counts[tool.name] = c;
      for (let i = 0; i < CASES_PER_TOOL; i++) {
        const args: Record<string, unknown> = {};
        // Half the cases are well-typed (they pass the schema), so the path tricks reach the input policy.
        const typed = i % 2 === 0;
        for (const p of props) if (rnd() < 0.75) args[p] = typed ? typedValue(shape[p]) : value();
        // An own `__proto__` key, as JSON.parse would make it on a real transport.
        if (rnd() < 0.15)
          Object.defineProperty(args, pick(['__proto__', 'constructor', 'extra', '\u0000', 'video_url']), {
            value: value(),
            enumerable: true,
          });
        const before = fake.calls.length;
        const creates = fake.count('POST', '/v2/create_lip_sync_video');
        const what = `${tool.name} case ${i}`;
        let r: Awaited<ReturnType<typeof h.call>>;
        try {
          r = await h.call(tool.name, args);
        } catch (err) {
          // A JSON-RPC error instead of a tool result: zod v4's record check (inside the SDK) refuses
          // an own `constructor` key with -32603. The server still answers; the message must be clean.
          const msg = String((err as Error).message);
          assert.ok(
            !/\bat .*\.js:\d+/.test(msg) && !Object.values(CANARIES).some((k) => msg.includes(k)),
            what,
          );
          assert.equal(fake.calls.length, before, `${what}: a refused call reached a provider`);
          protocolErrors++;
          c.cases++;
          c.errors++;
          continue;
        }
        const res = checkResult(r, what);
        const { error } = res;
        if (res.echoed) echoed++;
        c.cases++;
        if (error) {
          c.errors++;
          codes[error.code] = (codes[error.code] ?? 0) + 1;
        } else c.ok++;
        if (error && ['invalid_input', 'sdk_validation'].includes(error.code))
          assert.equal(
            fake.calls.length,
            before,
            `${what}: an invalid call reached a provider (${error.message})`,
          );
        assert.equal(fake.count('POST', '/v2/create_lip_sync_video'), creates, `${what}: nothing is paid`);
        assert.equal(fake.puts.length, 0, `${what}: nothing is uploaded`);
      }
    }
    for (const call of fake.calls)
      assert.ok(
        [...valid].some((v) => call.path.startsWith(v)),
        `a provider request escaped its API paths: ${call.path}`,
      );
    // Still answering after all of it.
    await h.client.ping();
    assert.equal((await h.call('list_tasks', {})).isError, undefined);
    assert.equal(unhandled, 0, 'no unhandled rejection');
    const logs = h.logs.join('');
    for (const c of Object.values(CANARIES)) assert.ok(!logs.includes(c), 'no secret in the logs');
    assert.deepEqual(filesWithSecrets(env.env.LIPSYNC_HOME as string), [], 'no secret in files');
    const total = Object.values(counts).reduce((n, c) => n + c.cases, 0);
    console.log(
      `hostile args: ${total} cases over ${tools.length} tools, ${echoed} SDK validation errors echoed a huge value, ${protocolErrors} JSON-RPC errors; codes ${JSON.stringify(codes)}; ${JSON.stringify(counts)}`,
    );
  } finally {
    process.off('unhandledRejection', onUnhandled);
    await h.close();
    await fake.close();
    env.cleanup();
  }
});
