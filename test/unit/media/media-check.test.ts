import assert from 'node:assert/strict';
import { copyFile, stat, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AppError } from '../../../src/errors.js';
import { checkMediaInput } from '../../../src/media/media-check.js';
import type { ProviderView } from '../../../src/media/rules/format.js';
import type { ResolvedInput } from '../../../src/providers/provider.js';
import {
  makeAudio,
  makeSpeechLike,
  makeVideo,
  mediaTools,
  type Tools,
  tempDir,
} from '../../helpers/media.js';

const JOGG_LIKE: ProviderView = {
  displayName: 'Jogg',
  capabilities: {
    formats: { video: ['mp4', 'mov', 'm4v', 'webm'], audio: ['mp3', 'wav', 'm4a', 'aac', 'ogg'] },
  },
};
const MAX = 1 << 30;

let dir = '';
let cleanup = async () => {};
let tools: Tools;
let clip = '';
let voice = '';
let notes = '';
let renamedText = '';
let renamedBinary = '';
let avi = '';

before(async () => {
  ({ dir, cleanup } = await tempDir());
  tools = await mediaTools();
  [clip, voice, avi] = await Promise.all([
    makeVideo({ file: `${dir}/clip.mp4`, seconds: 1 }),
    makeAudio({ file: `${dir}/voice.wav`, pcm: makeSpeechLike(3, 1, 48_000), sampleRate: 48_000 }),
    makeVideo({ file: `${dir}/clip.avi`, seconds: 1 }),
  ]);
  notes = `${dir}/notes.txt`;
  await writeFile(notes, 'Good morning.\nMy bank PIN is in this private document.\n'.repeat(50));
  renamedText = `${dir}/talk.mp4`;
  await copyFile(notes, renamedText);
  renamedBinary = `${dir}/archive.mp4`;
  const junk = Buffer.alloc(64 * 1024);
  for (let i = 0; i < junk.length; i++) junk[i] = (i * 7919 + 13) & 0xff;
  junk[0] = 0x47; // a first byte that looks like an MPEG-TS sync byte, and nothing else does
  await writeFile(renamedBinary, junk);
});
after(() => cleanup());

async function file(path: string): Promise<ResolvedInput> {
  const { size } = await stat(path);
  return {
    type: 'file',
    path,
    filename: basename(path),
    mime: 'application/octet-stream',
    size,
    sha256: 'x',
  };
}

async function refused(p: Promise<unknown>, re: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof AppError, String(err));
    assert.equal(err.code, 'invalid_input');
    assert.match(err.message, re);
    assert.ok(err.hint, 'a hint');
    return true;
  });
}

describe('checkMediaInput (before upload_asset sends a file)', () => {
  test('a real clip passes and returns its probe', async () => {
    const p = await checkMediaInput(await file(clip), 'video', { ffprobePath: tools.ffprobe, maxBytes: MAX });
    assert.equal(p?.video?.width, 320);
    const a = await checkMediaInput(await file(voice), 'audio', {
      ffprobePath: tools.ffprobe,
      maxBytes: MAX,
    });
    assert.equal(a?.audio?.sampleRate, 48_000);
  });

  test('a text document is refused, under its own name or renamed .mp4', async () => {
    for (const f of [notes, renamedText]) {
      await refused(
        checkMediaInput(await file(f), 'video', { ffprobePath: tools.ffprobe, maxBytes: MAX }),
        /could not be read as media/,
      );
    }
  });

  test('a renamed non-media binary is refused', async () => {
    await refused(
      checkMediaInput(await file(renamedBinary), 'video', { ffprobePath: tools.ffprobe, maxBytes: MAX }),
      /archive\.mp4 could not be read as media/,
    );
  });

  test('the stream must fit the role: an audio file is not a video', async () => {
    await refused(
      checkMediaInput(await file(voice), 'video', { ffprobePath: tools.ffprobe, maxBytes: MAX }),
      /voice\.wav has no video stream/,
    );
  });

  test('the size limit applies before anything is read', async () => {
    await refused(
      checkMediaInput(await file(clip), 'video', { ffprobePath: '/nonexistent/ffprobe', maxBytes: 1024 }),
      /above the 0 MiB limit/,
    );
  });

  test("the provider's formats apply when it is named", async () => {
    await refused(
      checkMediaInput(await file(avi), 'video', {
        ffprobePath: tools.ffprobe,
        maxBytes: MAX,
        provider: JOGG_LIKE,
      }),
      /clip\.avi is a \.avi file; Jogg accepts video as mp4/,
    );
    await checkMediaInput(await file(clip), 'video', {
      ffprobePath: tools.ffprobe,
      maxBytes: MAX,
      provider: JOGG_LIKE,
    });
  });

  test('without ffprobe, the first bytes must be a media signature', async () => {
    const none = { maxBytes: MAX };
    assert.equal(await checkMediaInput(await file(clip), 'video', none), undefined);
    assert.equal(await checkMediaInput(await file(voice), 'audio', none), undefined);
    for (const f of [notes, renamedText, renamedBinary])
      await refused(checkMediaInput(await file(f), 'video', none), /does not look like a video file/);
    await refused(checkMediaInput(await file(voice), 'video', none), /voice\.wav does not look like a video/);
  });

  test('a URL is not read (the provider fetches it); only its format is checked', async () => {
    const url: ResolvedInput = {
      type: 'url',
      url: 'https://cdn.example.com/a.mp4',
      filename: 'a.mp4',
      mime: 'video/mp4',
    };
    assert.equal(await checkMediaInput(url, 'video', { maxBytes: 1, provider: JOGG_LIKE }), undefined);
    await refused(
      checkMediaInput({ ...url, url: 'https://cdn.example.com/a.flv', filename: 'a.flv' }, 'video', {
        maxBytes: 1,
        provider: JOGG_LIKE,
      }),
      /a\.flv is a \.flv file/,
    );
  });
});
