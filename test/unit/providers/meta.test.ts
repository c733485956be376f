/**
 * The registry hands out lazy providers (src/providers/lazy.ts): their metadata answers without the
 * implementation, which is imported on the first call. Here each meta.ts is held to what the real
 * factory answers, over configurations that change those answers, so the two cannot drift apart.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { systemClock } from '../../../src/clock.js';
import { type Config, loadConfig } from '../../../src/config.js';
import { isAppError } from '../../../src/errors.js';
import { createHttpClient } from '../../../src/http/client.js';
import { silentLogger } from '../../../src/logger.js';
import { createDirectorProvider } from '../../../src/providers/director/index.js';
import { createProviders } from '../../../src/providers/index.js';
import { createJoggProvider } from '../../../src/providers/jogg/index.js';
import type { LazyProvider } from '../../../src/providers/lazy.js';
import { createLocalProvider } from '../../../src/providers/local/index.js';
import { locateEspeak } from '../../../src/providers/local/speech.js';
import { createNemoVideoProvider } from '../../../src/providers/nemovideo/index.js';
import type { Provider, ProviderName, TaskKind } from '../../../src/providers/provider.js';
import { Redactor } from '../../../src/redact.js';
import { testEnv } from '../../helpers/app.js';

const KINDS: TaskKind[] = [
  'lip_sync',
  'generate_video',
  'edit',
  'render',
  'image',
  'audio',
  'transcript',
  'post',
];
const OPTIONAL = ['findExisting', 'lookupById', 'upload', 'credits', 'stop'] as const;
const FFMPEG = {
  ffmpeg: { path: '/opt/ff/ffmpeg', source: 'PATH' },
  ffprobe: { path: '/opt/ff/ffprobe', source: 'PATH' },
};

function build(config: Config, ffmpeg = FFMPEG) {
  const deps = {
    config,
    http: createHttpClient({ clock: systemClock, timeoutMs: 1000 }),
    clock: systemClock,
    log: silentLogger(),
    redactor: new Redactor(config.secrets),
    version: '0.0.0-test',
  };
  const lazy = createProviders({ ...deps, ffmpeg });
  const jogg = createJoggProvider({ config: config.jogg, http: deps.http, clock: deps.clock, log: deps.log });
  const real = new Map<ProviderName, Provider>([
    ['jogg', jogg],
    ['nemovideo', createNemoVideoProvider({ ...deps, config: config.nemo })],
    [
      'director',
      createDirectorProvider({
        config: config.director,
        http: deps.http,
        clock: deps.clock,
        log: deps.log,
        uploadVia: config.director.uploadVia === 'jogg' ? jogg : undefined,
      }),
    ],
  ]);
  if (ffmpeg.ffmpeg && ffmpeg.ffprobe)
    real.set(
      'local',
      createLocalProvider({
        ffmpegPath: ffmpeg.ffmpeg.path,
        ffprobePath: ffmpeg.ffprobe.path,
        ffmpegSource: ffmpeg.ffmpeg.source,
        espeakPath: locateEspeak(config.espeak).location?.path,
        clock: deps.clock,
        log: deps.log,
      }),
    );
  return { lazy, real };
}

function assertSame(lazy: Map<ProviderName, Provider>, real: Map<ProviderName, Provider>, label: string) {
  assert.deepEqual([...lazy.keys()].sort(), [...real.keys()].sort(), label);
  for (const [name, r] of real) {
    const l = lazy.get(name)!;
    const at = `${label}, ${name}`;
    assert.equal(l.name, r.name, at);
    assert.equal(l.displayName, r.displayName, at);
    assert.deepEqual(l.capabilities, r.capabilities, at);
    assert.deepEqual(l.choices, r.choices, at);
    assert.deepEqual(l.credentials(), r.credentials(), at);
    for (const k of KINDS) assert.deepEqual(l.timing(k), r.timing(k), `${at}, timing(${k})`);
    assert.equal(typeof l.normalizeParams, typeof r.normalizeParams, `${at}: normalizeParams`);
    for (const k of KINDS) {
      const params = { text: ' Hello  there ', voice: 'EN', language: 'de' };
      assert.deepEqual(
        l.normalizeParams?.(k, params),
        r.normalizeParams?.(k, params),
        `${at}: normalizeParams(${k})`,
      );
    }
    const has = (p: Provider) => OPTIONAL.filter((m) => typeof p[m] === 'function');
    assert.deepEqual(has(l), has(r), `${at}: optional methods`);
    assert.equal((l as LazyProvider).loaded(), false, `${at}: nothing above loads the implementation`);
  }
}

test('each provider meta answers as its implementation does, without loading it', () => {
  const env = testEnv();
  try {
    const tokenFile = join(env.root, 'lipsync', 'nemovideo-token.json');
    const cases: [string, Record<string, string>, (() => void)?][] = [
      ['nothing configured', {}],
      ['espeak-ng named but absent (no offline speech)', { LIPSYNC_ESPEAK_PATH: '/nonexistent/espeak-ng' }],
      [
        'every key, uploads via Jogg',
        { JOGG_API_KEY: 'k-1', GATEWAY_TOKEN: 'g-1', NEMO_TOKEN: 'n-1', DIRECTOR_UPLOAD_VIA: 'jogg' },
      ],
      [
        'templates',
        {
          JOGG_API_KEY: `\${JOGG_API_KEY}`,
          GATEWAY_TOKEN: `\${GATEWAY_TOKEN}`,
          SJINN_API_KEY: `\${SJINN_API_KEY}`,
          NEMO_TOKEN: `\${NEMO_TOKEN}`,
        },
      ],
      [
        'direct key only, a template gateway token',
        { SJINN_API_KEY: 's-1', GATEWAY_TOKEN: `\${GATEWAY_TOKEN}` },
      ],
      [
        'a cached anonymous NemoVideo token',
        { JOGG_LIP_SYNC_DEFAULT_POLL_INTERVAL_SECONDS: '7' },
        () => {
          mkdirSync(join(env.root, 'lipsync'), { recursive: true });
          writeFileSync(
            tokenFile,
            JSON.stringify({ client_id: 'c', token: 't', expires_at: Date.now() + 86_400_000 }),
          );
        },
      ],
      [
        'an expired cached token',
        {},
        () => writeFileSync(tokenFile, JSON.stringify({ client_id: 'c', token: 't', expires_at: 1 })),
      ],
    ];
    for (const [label, extra, setup] of cases) {
      setup?.();
      const { lazy, real } = build(loadConfig({ env: { ...env.env, ...extra } }));
      assertSame(lazy, real, label);
      const director = lazy.get('director')!;
      const params = { prompt: 'a cat', model: 'veo3' };
      assert.deepEqual(
        director.normalizeParams?.('generate_video', params),
        real.get('director')!.normalizeParams?.('generate_video', params),
      );
    }
    const { lazy, real } = build(loadConfig({ env: env.env }), {} as typeof FFMPEG);
    assertSame(lazy, real, 'no ffmpeg');
  } finally {
    env.cleanup();
  }
});

test('a lazy provider loads its implementation on the first call and answers as it does', async () => {
  const env = testEnv();
  try {
    const { lazy, real } = build(loadConfig({ env: env.env }));
    const jogg = lazy.get('jogg') as LazyProvider;
    const signal = AbortSignal.timeout(5000);
    const err = await jogg.credits!(signal).catch((e: unknown) => e);
    const expected = await real.get('jogg')!.credits!(signal).catch((e: unknown) => e);
    assert.ok(isAppError(err) && isAppError(expected));
    assert.equal(err.code, 'missing_credentials');
    assert.equal(err.message, expected.message);
    assert.equal(jogg.loaded(), true);
    assert.equal((lazy.get('director') as LazyProvider).loaded(), false, 'one provider at a time');
    await jogg.close();
  } finally {
    env.cleanup();
  }
});
