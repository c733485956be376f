/** The npm-bundled ffmpeg (a 2018 build) is a last resort: doctor and the first job that uses it say so. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createApp } from '../../src/app.js';
import { buildReport } from '../../src/cli/doctor.js';
import { loadConfig } from '../../src/config.js';
import { locateFfmpeg } from '../../src/media/ffmpeg.js';
import { harness, structured, testEnv } from '../helpers/app.js';
import { makePair } from '../helpers/clips.js';
import { statusUntil } from '../helpers/wait.js';

test('doctor warns about the bundled ffmpeg with its version and how to install a current one', async () => {
  const env = testEnv();
  const media = await locateFfmpeg({ ffmpegPath: undefined, ffprobePath: undefined, pathDirs: [] });
  const app = await createApp(loadConfig({ env: env.env }), { media, cwd: env.home });
  try {
    const report = buildReport(app);
    assert.match(report.ffmpeg.warning ?? '', /bundled ffmpeg 2018/);
    const warned = report.problems.filter((p) => /apt-get install ffmpeg/.test(p));
    assert.ok(warned.length >= 1, JSON.stringify(report.problems));
    assert.ok(
      warned.some((p) => /ffmpeg 2018\d{4}/.test(p)),
      'names the version',
    );
  } finally {
    await app.close(0);
    env.cleanup();
  }
});

test('doctor has no bundled-build warning when ffmpeg comes from the system', async () => {
  const env = testEnv();
  const app = await createApp(loadConfig({ env: env.env }), {
    media: {
      ffmpeg: { path: '/usr/bin/ffmpeg', source: 'PATH' },
      ffprobe: { path: '/usr/bin/ffprobe', source: 'PATH' },
    },
    cwd: env.home,
  });
  try {
    const report = buildReport(app);
    assert.equal(report.ffmpeg.warning, undefined);
    assert.ok(!report.problems.some((p) => /bundled/.test(p)));
  } finally {
    await app.close(0);
    env.cleanup();
  }
});

test('the first job decoded with the bundled build carries the warning, once per process', async () => {
  const env = testEnv();
  const media = await locateFfmpeg({ ffmpegPath: undefined, ffprobePath: undefined, pathDirs: [] });
  const h = await harness(env.env, { media });
  try {
    const one = await makePair(env.work, 301, { video: 'one.mp4', audio: 'one.wav' });
    const two = await makePair(env.work, 302, { video: 'two.mp4', audio: 'two.wav' });
    const first = structured<{ task_id: string; warnings: string[] }>(
      await h.call('create_lip_sync', { ...one, provider: 'local' }),
    );
    assert.ok(
      first.warnings.some((w) => /bundled ffmpeg 2018.*apt-get install ffmpeg/.test(w)),
      JSON.stringify(first.warnings),
    );
    const second = structured<{ task_id: string; warnings: string[] }>(
      await h.call('create_lip_sync', { ...two, provider: 'local' }),
    );
    assert.ok(!second.warnings.some((w) => /bundled/.test(w)), 'said once');
    assert.ok(
      h.logs.some((l) => /bundled ffmpeg/.test(l)),
      'and in the log',
    );
    // The jobs run in worker processes that write under the output folder: let them end before the
    // folder is removed (removing it under a running worker fails with ENOTEMPTY).
    for (const id of [first.task_id, second.task_id])
      await statusUntil(h, id, (s) => s.status === 'success' || s.status === 'failed');
  } finally {
    await h.close();
    env.cleanup();
  }
});

test('a second start on the same LIPSYNC_HOME does not repeat the warning; doctor always shows it', async () => {
  const env = testEnv();
  const media = await locateFfmpeg({ ffmpegPath: undefined, ffprobePath: undefined, pathDirs: [] });
  const ids: string[] = [];
  try {
    for (const [i, seed] of [303, 304].entries()) {
      const h = await harness(env.env, { media });
      try {
        const pair = await makePair(env.work, seed, { video: `s${seed}.mp4`, audio: `s${seed}.wav` });
        const made = structured<{ task_id: string; warnings: string[] }>(
          await h.call('create_lip_sync', { ...pair, provider: 'local' }),
        );
        ids.push(made.task_id);
        const warned = made.warnings.some((w) => /bundled ffmpeg/.test(w));
        assert.equal(warned, i === 0, `start ${i + 1}: ${JSON.stringify(made.warnings)}`);
        assert.equal(
          h.logs.some((l) => /bundled ffmpeg/.test(l)),
          i === 0,
          `start ${i + 1} logs it only the first time`,
        );
        await statusUntil(h, made.task_id, (s) => s.status === 'success' || s.status === 'failed');
      } finally {
        await h.close();
      }
    }
    const app = await createApp(loadConfig({ env: env.env }), { media, cwd: env.home });
    try {
      assert.match(buildReport(app).ffmpeg.warning ?? '', /bundled ffmpeg 2018.*FFMPEG_PATH/);
    } finally {
      await app.close(0);
    }
  } finally {
    env.cleanup();
  }
});
