/**
 * Offline speech (issue 18 item 6): the dubbing workflow without an account — generate_audio speaks
 * text with espeak-ng on the local engine, create_lip_sync on `local` uses that audio, download_result
 * saves both. Where espeak-ng is absent the local engine offers no speech, and says how to get it.
 * The tests that need the real espeak-ng skip, saying why, where it is not installed (CI installs it).
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createApp } from '../../src/app.js';
import { buildReport } from '../../src/cli/doctor.js';
import { loadConfig } from '../../src/config.js';
import { probe } from '../../src/media/probe.js';
import { availableTools } from '../../src/server.js';
import { type FakeDirector, startFakeDirector } from '../fakes/director/index.js';
import { errorOf, type Harness, harness, structured, type TestEnv, testEnv } from '../helpers/app.js';
import { makeVideo, mediaTools } from '../helpers/media.js';
import { espeakSkip } from '../helpers/system-tools.js';

interface View {
  action?: string;
  reused?: boolean;
  task_id: string;
  provider: string;
  kind: string;
  status: string;
  result_url?: string;
  duration_seconds?: number;
  error?: { message: string; hint?: string };
  extra?: Record<string, unknown>;
}

const NO_ESPEAK = espeakSkip;

let media: { ffmpeg: { path: string; source: string }; ffprobe: { path: string; source: string } };
before(async () => {
  const t = await mediaTools();
  media = { ffmpeg: { path: t.ffmpeg, source: 'bundled' }, ffprobe: { path: t.ffprobe, source: 'bundled' } };
});

async function follow(h: Harness, taskId: string): Promise<View> {
  let view = structured<View>(await h.call('get_task_status', { task_id: taskId }));
  for (let i = 0; i < 200 && view.status !== 'success' && view.status !== 'failed'; i++) {
    view = structured<View>(await h.call('get_task_status', { task_id: taskId, wait_seconds: 50 }));
  }
  return view;
}

describe('offline dubbing with real espeak-ng', { skip: NO_ESPEAK }, () => {
  let env: TestEnv;
  let h: Harness;
  before(async () => {
    // The downloaded speech is fed back as an input, so the output folder is an allowed folder too.
    env = testEnv({ LIPSYNC_LOG_LEVEL: 'warn' });
    mkdirSync(env.outputs, { recursive: true });
    env.env.LIPSYNC_ALLOWED_DIRS = [env.home, env.outputs].join(delimiter);
    h = await harness(env.env, { media });
  });
  after(async () => {
    await h.close();
    env.cleanup();
  });

  const TEXT = 'Hello! This is the offline demo, speaking without an account.';

  test('speech -> reuse -> lip sync on local with that audio -> download', async () => {
    assert.ok(availableTools(h.app).includes('generate_audio'), 'generate_audio is listed');
    // No provider named and The Director not configured: offline speech.
    const first = structured<View>(
      await h.call('generate_audio', { kind: 'speech', text: TEXT, voice: 'en-us', wait_seconds: 20 }),
    );
    assert.equal(first.provider, 'local');
    assert.equal(first.action, 'created_new_task');
    const done = await follow(h, first.task_id);
    assert.equal(done.status, 'success', JSON.stringify(done.error));
    assert.equal(done.kind, 'audio');
    const wav = fileURLToPath(done.result_url ?? '');
    assert.match(wav, /\.wav$/);
    const info = await probe(media.ffprobe.path, wav);
    assert.ok(info.audio, 'the result has an audio stream');
    assert.equal(info.video, undefined);
    const seconds = info.audio.durationSeconds ?? info.durationSeconds ?? 0;
    // About 10 words at espeak-ng's ~175 words a minute: a few seconds.
    assert.ok(seconds > 1.5 && seconds < 12, `plausible length: ${seconds} s`);
    assert.ok(Math.abs((done.duration_seconds ?? 0) - seconds) < 0.05);
    assert.equal(done.extra?.voice, 'en-us');

    // The same request (the voice spelt differently) is the same task, and nothing runs again.
    const stateFile = `${wav}.state.json`;
    const before = { wav: statSync(wav).mtimeMs, state: readFileSync(stateFile, 'utf8') };
    const again = structured<View>(
      await h.call('generate_audio', {
        kind: 'speech',
        text: `  ${TEXT} `,
        voice: 'EN-US',
        provider: 'local',
      }),
    );
    assert.equal(again.task_id, first.task_id);
    assert.equal(again.reused, true);
    assert.equal(again.action, 'reused_existing_task');
    assert.equal(again.status, 'success');
    assert.deepEqual({ wav: statSync(wav).mtimeMs, state: readFileSync(stateFile, 'utf8') }, before);

    const saved = structured<{ path: string; mime_type: string }>(
      await h.call('download_result', { task_id: first.task_id }),
    );
    assert.match(saved.path, /\.wav$/);
    assert.match(saved.mime_type, /audio/);
    assert.ok(existsSync(saved.path));

    const video = await makeVideo({ file: join(env.work, 'face.mp4'), seconds: 2, width: 160, height: 120 });
    const sync = structured<View>(
      await h.call('create_lip_sync', { video, audio: saved.path, provider: 'local', wait_seconds: 20 }),
    );
    const synced = await follow(h, sync.task_id);
    assert.equal(synced.status, 'success', JSON.stringify(synced.error));
    const dl = structured<{ path: string }>(await h.call('download_result', { task_id: sync.task_id }));
    assert.match(dl.path, /\.mp4$/);
    const out = await probe(media.ffprobe.path, dl.path);
    assert.ok(out.video && out.audio, 'the dubbed video has picture and sound');
    assert.ok(
      Math.abs((out.durationSeconds ?? 0) - seconds) < 0.5,
      `the video lasts as long as the speech: ${out.durationSeconds} vs ${seconds}`,
    );
  });

  test('what offline speech cannot do is refused in words, before anything runs', async () => {
    const voice = errorOf(
      await h.call('generate_audio', { kind: 'speech', text: 'Hi', voice: 'warm female', provider: 'local' }),
    );
    assert.equal(voice.code, 'invalid_input');
    assert.match(voice.message, /not an espeak-ng voice name/);
    assert.match(voice.hint ?? '', /en-us/);
    const music = errorOf(
      await h.call('generate_audio', { kind: 'music', prompt: 'calm piano', provider: 'local' }),
    );
    assert.equal(music.code, 'unsupported');
    assert.match(music.hint ?? '', /director/);
  });
});

describe('offline speech and The Director side by side', { skip: NO_ESPEAK }, () => {
  let fake: FakeDirector;
  before(async () => {
    fake = await startFakeDirector();
  });
  after(() => fake.close());

  test('with The Director configured, speech without a provider still goes to The Director', async () => {
    const env = testEnv({ GATEWAY_TOKEN: fake.token, DIRECTOR_GATEWAY_URL: fake.url });
    const h = await harness(env.env, { media });
    try {
      assert.ok(h.app.providers.get('local')?.capabilities.kinds.includes('audio'));
      const director = structured<View>(await h.call('generate_audio', { kind: 'speech', text: 'Hola' }));
      assert.equal(director.provider, 'director');
      const local = structured<View>(
        await h.call('generate_audio', { kind: 'speech', text: 'Hola', voice: 'es', provider: 'local' }),
      );
      assert.equal(local.provider, 'local');
      assert.notEqual(local.task_id, director.task_id);
    } finally {
      await h.close();
      env.cleanup();
    }
  });
});

describe('without espeak-ng', () => {
  let env: TestEnv;
  before(() => {
    env = testEnv();
    // A PATH with no espeak-ng on it (ffmpeg is injected, so nothing else is looked up there).
    const empty = join(env.root, 'empty-bin');
    mkdirSync(empty);
    env.env.PATH = empty;
  });
  after(() => env.cleanup());

  test('the local engine offers no speech: no audio kind, and generate_audio is not listed for it', async () => {
    const h = await harness(env.env, {
      media,
      providers: (built) => new Map([...built].filter(([name]) => name === 'local')),
    });
    try {
      assert.deepEqual(h.app.providers.get('local')?.capabilities.kinds, ['lip_sync']);
      const { tools } = await h.client.listTools();
      const names = tools.map((t) => t.name);
      assert.ok(names.includes('create_lip_sync'), names.join(', '));
      assert.ok(!names.includes('generate_audio'), `generate_audio is not offered: ${names.join(', ')}`);
    } finally {
      await h.close();
    }
  });

  test('with The Director configured, generate_audio is there for it; "local" says how to get espeak-ng', async () => {
    const h = await harness(
      { ...env.env, GATEWAY_TOKEN: 'gw-token-for-listing-only' },
      {
        media,
        providers: (built) => new Map([...built].filter(([name]) => name === 'local' || name === 'director')),
      },
    );
    try {
      const { tools } = await h.client.listTools();
      assert.ok(tools.some((t) => t.name === 'generate_audio'));
      const err = errorOf(
        await h.call('generate_audio', { kind: 'speech', text: 'Hello', provider: 'local' }),
      );
      assert.equal(err.code, 'unavailable');
      assert.match(err.message, /needs espeak-ng, which was not found/);
      assert.match(err.hint ?? '', /apt-get install espeak-ng.*brew install espeak-ng.*Windows/);
      assert.equal((await h.app.ledger.page({ limit: 10 })).rows.length, 0, 'no task was recorded');
    } finally {
      await h.close();
    }
  });

  test('doctor says whether espeak-ng was found, and how to install it when it was not', async () => {
    const report = async (extra: Record<string, string>) => {
      const app = await createApp(loadConfig({ env: { ...env.env, ...extra } }), { media, cwd: env.home });
      try {
        return buildReport(app);
      } finally {
        await app.close(0);
      }
    };
    const absent = await report({});
    assert.equal(absent.espeak.path, undefined);
    assert.equal(absent.espeak.offered, false);
    assert.match(
      absent.espeak.fix ?? '',
      /sudo apt-get install espeak-ng.*brew install espeak-ng.*Windows installer/,
    );

    const bin = join(env.root, 'espeak-bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'espeak-ng'), '#!/bin/sh\nexit 0\n');
    chmodSync(join(bin, 'espeak-ng'), 0o755);
    const found = await report({ PATH: bin });
    assert.deepEqual(found.espeak, { path: join(bin, 'espeak-ng'), source: 'PATH', offered: true });

    const wrong = await report({ LIPSYNC_ESPEAK_PATH: join(bin, 'missing') });
    assert.equal(wrong.espeak.offered, false);
    assert.ok(
      wrong.problems.some((p) => /LIPSYNC_ESPEAK_PATH points to/.test(p)),
      wrong.problems.join('\n'),
    );
  });
});
