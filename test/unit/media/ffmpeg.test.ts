import assert from 'node:assert/strict';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { isAppError } from '../../../src/errors.js';
import {
  bundledNotice,
  lastErrorLine,
  locateFfmpeg,
  runFfmpeg,
  runProcess,
} from '../../../src/media/ffmpeg.js';
import { mediaTools, tempDir } from '../../helpers/media.js';

let dir = '';
let cleanup = async () => {};
before(async () => {
  ({ dir, cleanup } = await tempDir());
});
after(() => cleanup());

test('locate: explicit path first, then PATH dirs, then the bundled binaries', async () => {
  const bundled = await locateFfmpeg({ ffmpegPath: undefined, ffprobePath: undefined, pathDirs: [] });
  assert.equal(bundled.ffmpeg?.source, 'bundled (@ffmpeg-installer/ffmpeg)');
  assert.equal(bundled.ffprobe?.source, 'bundled (@ffprobe-installer/ffprobe)');

  const bin = `${dir}/bin`;
  await mkdir(bin);
  await writeFile(`${bin}/ffmpeg`, '#!/bin/sh\nexit 0\n');
  await chmod(`${bin}/ffmpeg`, 0o755);
  await writeFile(`${bin}/ffprobe`, 'not executable');
  const fromPath = await locateFfmpeg({
    ffmpegPath: undefined,
    ffprobePath: undefined,
    pathDirs: [`${dir}/nope`, bin],
  });
  assert.deepEqual(fromPath.ffmpeg, { path: `${bin}/ffmpeg`, source: 'PATH' });
  assert.equal(
    fromPath.ffprobe?.source,
    'bundled (@ffprobe-installer/ffprobe)',
    'a non-executable file is skipped',
  );

  const explicit = await locateFfmpeg({
    ffmpegPath: bundled.ffmpeg!.path,
    ffprobePath: undefined,
    pathDirs: [bin],
  });
  assert.deepEqual(explicit.ffmpeg, { path: bundled.ffmpeg!.path, source: 'FFMPEG_PATH' });

  await assert.rejects(
    locateFfmpeg({ ffmpegPath: `${bin}/ffprobe`, ffprobePath: undefined, pathDirs: [] }),
    (e) => isAppError(e) && e.code === 'invalid_input' && /FFMPEG_PATH/.test(e.message),
  );
});

test('only the bundled (2018) build carries a warning with its version and how to install a current one', async () => {
  const bundled = await locateFfmpeg({ ffmpegPath: undefined, ffprobePath: undefined, pathDirs: [] });
  for (const tool of [bundled.ffmpeg, bundled.ffprobe]) {
    assert.match(tool?.warning ?? '', /bundled/);
    assert.match(tool?.warning ?? '', /apt-get install ffmpeg/);
    assert.match(tool?.warning ?? '', /brew install ffmpeg/);
    assert.match(tool?.warning ?? '', /FFMPEG_PATH/);
  }
  assert.match(bundled.ffmpeg?.warning ?? '', /ffmpeg 20181210\S* \(built 2018-12-10\)/, 'names the build');
  assert.match(bundled.ffprobe?.warning ?? '', /ffprobe \d{8}\S* \(built \d{4}-\d\d-\d\d\)/);
  const bin = `${dir}/bin-current`;
  await mkdir(bin);
  for (const name of ['ffmpeg', 'ffprobe']) {
    await writeFile(`${bin}/${name}`, '#!/bin/sh\nexit 0\n');
    await chmod(`${bin}/${name}`, 0o755);
  }
  const system = await locateFfmpeg({ ffmpegPath: undefined, ffprobePath: undefined, pathDirs: [bin] });
  assert.equal(system.ffmpeg?.warning, undefined, "the system's ffmpeg is used as is");
  assert.equal(system.ffprobe?.warning, undefined);
});

test('bundledNotice: the warning once per process (first job), nothing for a system ffmpeg', async () => {
  const bundled = await locateFfmpeg({ ffmpegPath: undefined, ffprobePath: undefined, pathDirs: [] });
  const next = bundledNotice(bundled);
  const first = next();
  assert.match(first ?? '', /apt-get install ffmpeg/);
  assert.equal(next(), undefined, 'said once');
  assert.equal(next(), undefined);
  const none = bundledNotice({ ffmpeg: { path: '/usr/bin/ffmpeg', source: 'PATH' } });
  assert.equal(none(), undefined);
});

test('runProcess: exit codes, stderr tail, timeout, abort, missing program', async () => {
  const ok = await runProcess('/bin/sh', ['-c', 'echo out; echo err1 >&2; echo err2 >&2; exit 3']);
  assert.equal(ok.code, 3);
  assert.equal(ok.stdout.toString(), 'out\n');
  assert.match(ok.stderrTail, /err1\nerr2/);

  const lines: string[] = [];
  await runProcess('/bin/sh', ['-c', 'printf "a\\nb\\nc"  >&2'], { onStderrLine: (l) => lines.push(l) });
  assert.deepEqual(lines, ['a', 'b', 'c']);

  await assert.rejects(
    runProcess('/bin/sh', ['-c', 'sleep 5'], { timeoutMs: 100 }),
    (e) => isAppError(e) && e.code === 'timeout',
  );

  const ac = new AbortController();
  const p = runProcess('/bin/sh', ['-c', 'sleep 5'], { signal: ac.signal });
  setTimeout(() => ac.abort(), 50);
  await assert.rejects(p, (e) => e instanceof Error && e.name === 'AbortError');

  await assert.rejects(
    runProcess(`${dir}/missing-binary`, []),
    (e) => isAppError(e) && e.code === 'unavailable',
  );
});

test('runFfmpeg: a failure names the step and quotes ffmpeg', async () => {
  const { ffmpeg } = await mediaTools();
  await assert.rejects(
    runFfmpeg(ffmpeg, ['-i', `${dir}/none.mp4`, '-f', 'null', '-'], { what: 'testing' }),
    (e) => {
      assert.ok(isAppError(e));
      assert.match(e.message, /^ffmpeg failed while testing: .*No such file or directory/);
      return true;
    },
  );
  assert.equal(lastErrorLine('frame=  10 fps=0\nreal problem here\nframe= 11\n'), 'real problem here');
});
