/**
 * Offline speech with a fake espeak-ng (a tiny script on a temp PATH): how the local engine finds it,
 * that the text never reaches a command line, and what a failing or hanging espeak-ng looks like to
 * the user (a message with a fix, no stack trace, bounded by the timeout).
 */
import assert from 'node:assert/strict';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { systemClock } from '../../../src/clock.js';
import { isAppError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/logger.js';
import {
  createLocalProvider,
  type LocalProvider,
  locateEspeak,
  SPEECH_MAX_CHARS,
} from '../../../src/providers/local/index.js';
import { speechParams } from '../../../src/providers/local/speech.js';
import type { Snapshot } from '../../../src/providers/provider.js';
import { makeAudio, makeSpeechLike, mediaTools, tempDir } from '../../helpers/media.js';
import { fileEvent } from '../../helpers/wait.js';

let dir = '';
let cleanup = async () => {};
let wav = '';

before(async () => {
  ({ dir, cleanup } = await tempDir('lipsync-espeak-'));
  wav = await makeAudio({
    file: join(dir, 'said.wav'),
    pcm: makeSpeechLike(5, 1.5, 22_050),
    sampleRate: 22_050,
  });
});
after(() => cleanup());

/** Writes `bin/espeak-ng` in a fresh folder (a temp PATH entry) and returns that folder. */
async function fakeEspeak(name: string, body: string): Promise<string> {
  const bin = join(dir, name);
  await mkdir(bin, { recursive: true });
  const file = join(bin, 'espeak-ng');
  await writeFile(file, `#!/bin/sh\n${body}\n`);
  await chmod(file, 0o755);
  return bin;
}

async function providerWith(binDir: string, timeoutMs?: number): Promise<LocalProvider> {
  const t = await mediaTools();
  const found = locateEspeak({ path: undefined, pathDirs: [join(dir, 'empty'), binDir] });
  assert.equal(found.location?.source, 'PATH');
  return createLocalProvider({
    mode: 'inline',
    ffmpegPath: t.ffmpeg,
    ffprobePath: t.ffprobe,
    espeakPath: found.location?.path,
    speechTimeoutMs: timeoutMs,
    clock: systemClock,
    log: silentLogger(),
  });
}

let n = 0;
/** prepare + start + drain, as the JobService does; returns the final snapshot. */
async function speak(p: LocalProvider, params: Record<string, string>): Promise<Partial<Snapshot>> {
  const log = silentLogger();
  const signal = new AbortController().signal;
  const canonical = p.normalizeParams?.('audio', params) ?? params;
  const prepared = await p.prepare(
    { kind: 'audio', inputs: {}, params: canonical },
    { asset: async () => '', signal, log, progress: () => {} },
  );
  const started = await p.start(prepared, {
    signal,
    log,
    progress: () => {},
    workDir: join(dir, 'work'),
    taskId: `speech-${++n}`,
  });
  let final: Partial<Snapshot> = started.snapshot;
  for await (const ev of started.events ?? []) final = ev;
  return final;
}

test('espeak-ng is found on PATH, and the local engine offers speech only then', async () => {
  const bin = await fakeEspeak('found', 'exit 0');
  assert.equal(locateEspeak({ path: undefined, pathDirs: [bin] }).location?.path, join(bin, 'espeak-ng'));
  assert.deepEqual(locateEspeak({ path: undefined, pathDirs: [join(dir, 'empty')] }), {});
  const wrong = locateEspeak({ path: join(dir, 'nope'), pathDirs: [bin] });
  assert.equal(wrong.location, undefined, 'a wrong LIPSYNC_ESPEAK_PATH is not replaced by another binary');
  assert.match(wrong.problem ?? '', /LIPSYNC_ESPEAK_PATH points to .*nope/);

  assert.deepEqual((await providerWith(bin)).capabilities.kinds, ['lip_sync', 'audio']);
  const t = await mediaTools();
  const without = createLocalProvider({
    ffmpegPath: t.ffmpeg,
    ffprobePath: t.ffprobe,
    clock: systemClock,
    log: silentLogger(),
  });
  assert.deepEqual(without.capabilities.kinds, ['lip_sync']);
});

test('the text goes to espeak-ng in a file, never on its command line; the WAV is checked and kept', async () => {
  const argsFile = join(dir, 'args.txt');
  const textCopy = join(dir, 'text-seen.txt');
  // Records its arguments and the text file it was given, then "speaks" a prepared WAV into -w.
  const bin = await fakeEspeak(
    'records',
    [
      `printf '%s\\n' "$@" > '${argsFile}'`,
      'while [ $# -gt 0 ]; do case "$1" in -f) f="$2"; shift;; -w) w="$2"; shift;; esac; shift; done',
      `cp "$f" '${textCopy}'`,
      `cp '${wav}' "$w"`,
    ].join('\n'),
  );
  const text = 'Hello $(touch /tmp/pwned) `id`; -v de --stdout "quoted"';
  const final = await speak(await providerWith(bin), { kind: 'speech', text, voice: 'EN-us' });
  assert.equal(final.status, 'success', JSON.stringify(final.error));
  const args = (await readFile(argsFile, 'utf8')).trim().split('\n');
  assert.deepEqual(args.slice(0, 4), ['-b', '1', '-v', 'en-us']);
  assert.ok(!args.some((a) => a.includes('Hello')), `the text is not an argument: ${args.join(' ')}`);
  assert.equal(await readFile(textCopy, 'utf8'), text);
  assert.ok(final.resultUrl?.endsWith('.wav'), final.resultUrl);
  assert.ok(Math.abs((final.durationSeconds ?? 0) - 1.5) < 0.1, `duration ${final.durationSeconds}`);
  assert.equal(final.extra?.voice, 'en-us');
});

test('a failing espeak-ng: its own words and a fix, no stack trace', async () => {
  const bin = await fakeEspeak('fails', 'echo "Error: something broke inside" >&2\nexit 3');
  const final = await speak(await providerWith(bin), { kind: 'speech', text: 'Hello there' });
  assert.equal(final.status, 'failed');
  const message = final.error?.message ?? '';
  assert.match(message, /^espeak-ng failed: Error: something broke inside/);
  assert.match(message, /espeak-ng --version/);
  assert.doesNotMatch(message, /\n\s+at /, 'no stack trace');

  const noVoice = await fakeEspeak(
    'novoice',
    'echo "Error: The specified espeak-ng voice does not exist." >&2\nexit 1',
  );
  const bad = await speak(await providerWith(noVoice), { kind: 'speech', text: 'Hallo', voice: 'xx' });
  assert.equal(bad.status, 'failed');
  assert.match(bad.error?.message ?? '', /espeak-ng has no voice "xx".*espeak-ng --voices/);

  const silent = await fakeEspeak('silent', 'exit 0');
  const none = await speak(await providerWith(silent), { kind: 'speech', text: '...' });
  assert.equal(none.status, 'failed');
  assert.match(none.error?.message ?? '', /espeak-ng made no sound for this text/);
});

test('a hanging espeak-ng is stopped at the timeout, with a message that says so', async () => {
  const bin = await fakeEspeak('hangs', 'exec sleep 30');
  const started = Date.now();
  const final = await speak(await providerWith(bin, 300), { kind: 'speech', text: 'Hello' });
  assert.equal(final.status, 'failed');
  assert.match(final.error?.message ?? '', /espeak-ng did not finish within 300 ms and was stopped/);
  assert.ok(Date.now() - started < 10_000, 'stopped at the timeout, not after the sleep');
});

test('closing the engine stops a running speech job (the abort signal reaches espeak-ng)', async () => {
  const started = join(dir, 'hang-started');
  const bin = await fakeEspeak('hangs2', `touch '${started}'\nexec sleep 30`);
  const p = await providerWith(bin, 60_000);
  const job = speak(p, { kind: 'speech', text: 'Hello' });
  await fileEvent(started, 'the fake espeak-ng to start (it touches a file first)');
  await p.close();
  const final = await job;
  assert.equal(final.status, 'failed');
  assert.match(final.error?.message ?? '', /stopped before it finished/);
});

test('speech params: voice names, the text limit, and what the local engine refuses', () => {
  const refused = (params: Record<string, unknown>, re: RegExp) =>
    assert.throws(
      () => speechParams(params as never),
      (e) => isAppError(e) && re.test(`${e.message} ${e.hint}`),
    );
  assert.deepEqual(speechParams({ kind: 'speech', text: '  Hi  ' }), {
    kind: 'speech',
    text: 'Hi',
    voice: 'en',
  });
  assert.deepEqual(speechParams({ kind: 'speech', text: 'Hallo', language: 'DE' }), {
    kind: 'speech',
    text: 'Hallo',
    voice: 'de',
  });
  assert.equal(speechParams({ kind: 'speech', text: 'Hi', voice: 'mb-en1' }).voice, 'mb-en1');
  refused({ kind: 'speech', text: 'Hi', voice: 'warm female' }, /not an espeak-ng voice name.*en-us/);
  refused({ kind: 'speech', text: 'Hi', voice: '-w /etc/passwd' }, /not an espeak-ng voice name/);
  refused({ kind: 'speech', text: 'Hi', language: 'German' }, /language "German" is not an espeak-ng voice/);
  refused({ kind: 'speech', text: 'x'.repeat(SPEECH_MAX_CHARS + 1) }, /at most 5000/);
  refused({ kind: 'music', prompt: 'calm piano' }, /only makes speech.*director/);
  refused({ kind: 'speech', text: 'Hi', duration: 3 }, /cannot use duration/);
  refused({ kind: 'speech', text: '   ' }, /needs text/);
});
