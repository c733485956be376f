/**
 * A provider task id is an outside string that ends up in a URL path (Jogg, NemoVideo) or a JSON body
 * (The Director). Ids with path characters, query or fragment marks, escapes, whitespace, control
 * characters or absurd lengths are refused before any request (issue 24 item 7): every provider is
 * pointed at one fake, which counts every request it receives.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type FakeJogg, startFakeJogg } from '../fakes/jogg/index.js';
import { errorOf, type Harness, harness } from '../helpers/app.js';
import { runCli } from '../helpers/spawn.js';
import { CANARIES, checkResult, hostileEnv } from './shared.js';

export const HOSTILE_IDS = [
  '../x',
  '..',
  '.',
  '../../v2/user/remaining_quota',
  'a/b',
  '/abs',
  'a\\b',
  'x?video_url=1',
  'x#frag',
  '%2e%2e',
  'a%2Fb',
  'a b',
  ' lead',
  'a\tb',
  'a\nb',
  'a\u0000b',
  'a\u007fb',
  'a\u202eb',
  'x'.repeat(300),
];

const PROVIDERS = ['jogg', 'nemovideo', 'director'] as const;

/** NemoVideo looks up only `render_…` ids; a hostile id behind that prefix must be refused too. */
const idFor = (provider: string, id: string) => (provider === 'nemovideo' ? `render_${id}` : id);

describe('hostile provider task ids never reach a provider', () => {
  let fake: FakeJogg;
  let env: ReturnType<typeof hostileEnv>;
  let h: Harness;
  before(async () => {
    fake = await startFakeJogg({ apiKey: CANARIES.JOGG_API_KEY });
    env = hostileEnv(fake);
    h = await harness(env.env);
  });
  after(async () => {
    await h.close();
    await fake.close();
    env.cleanup();
  });

  for (const provider of PROVIDERS) {
    test(`get_task_status refuses hostile ids for ${provider} with invalid_input, sending nothing`, async () => {
      for (const raw of HOSTILE_IDS) {
        const id = idFor(provider, raw);
        const n = fake.calls.length;
        const r = await h.call('get_task_status', { provider, provider_task_id: id });
        const label = `${provider} ${JSON.stringify(id.slice(0, 40))}`;
        checkResult(r, label);
        assert.deepEqual(
          fake.calls.slice(n).map((c) => `${c.method} ${c.path}`),
          [],
          `${label}: a request reached the provider`,
        );
        const e = errorOf(r);
        assert.equal(e.code, 'invalid_input', `${label}: ${e.code} ${e.message}`);
        assert.ok(e.hint, `${label}: no hint`);
      }
    });
  }

  test('a well-formed unknown id still reaches the provider (the check is not a blanket refusal)', async () => {
    const n = fake.calls.length;
    const r = await h.call('get_task_status', { provider: 'jogg', provider_task_id: 'jt_0a1b2c3d' });
    assert.equal(errorOf(r).code, 'not_found');
    assert.equal(fake.calls.length - n, 1);
  });

  test('CLI run --task-id with hostile ids: an error, and nothing reaches any provider', async () => {
    const n = fake.calls.length;
    for (const raw of HOSTILE_IDS.slice(0, 6)) {
      for (const extra of [[], ['--provider', 'jogg']]) {
        const r = await runCli(['run', '--task-id', raw, '--no-poll', ...extra], env.env);
        assert.notEqual(r.code, 0, `${JSON.stringify(raw)} ${extra.join(' ')}: ${r.stdout}`);
        assert.match(r.stderr, /"code":"(invalid_input|not_found)"/, r.stderr.slice(-400));
      }
    }
    assert.deepEqual(
      fake.calls.slice(n).map((c) => `${c.method} ${c.path}`),
      [],
    );
  });
});
