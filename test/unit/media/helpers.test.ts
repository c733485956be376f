import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { mimeFor } from '../../../src/media/mime.js';
import { tempNameFor, writeFileAtomic } from '../../../src/util/atomic-write.js';
import { isPidAlive } from '../../../src/util/pid.js';

const dir = mkdtempSync(join(tmpdir(), 'lipsync-util-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('shared helpers', () => {
  test('mimeFor: by extension, case-insensitive, unknown is octet-stream', () => {
    assert.equal(mimeFor('talk.mp4'), 'video/mp4');
    assert.equal(mimeFor('/out/Face.JPEG'), 'image/jpeg');
    assert.equal(mimeFor('voice.wav'), 'audio/wav');
    assert.equal(mimeFor('clip.mov'), 'video/quicktime');
    assert.equal(mimeFor('notes.txt'), 'application/octet-stream');
    assert.equal(mimeFor('noext'), 'application/octet-stream');
  });

  test('writeFileAtomic: replaces the file whole, applies the mode, leaves no temp file', async () => {
    const f = join(dir, 'token.json');
    writeFileSync(f, 'old');
    await writeFileAtomic(f, '{"token":"new"}\n', { mode: 0o600, fsync: true });
    assert.equal(readFileSync(f, 'utf8'), '{"token":"new"}\n');
    assert.equal(statSync(f).mode & 0o777, 0o600);
    await Promise.all(Array.from({ length: 8 }, (_, i) => writeFileAtomic(f, `v${i}`)));
    assert.match(readFileSync(f, 'utf8'), /^v[0-7]$/);
    assert.deepEqual(readdirSync(dir), ['token.json']);
    assert.notEqual(tempNameFor(f), tempNameFor(f));
  });

  test('writeFileAtomic: a failed rename removes its temp file and keeps the old file', async () => {
    const target = join(dir, 'adir');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(target, 'full'), { recursive: true }); // renaming a file onto a non-empty folder fails
    await assert.rejects(writeFileAtomic(target, 'x'));
    assert.deepEqual(readdirSync(dir).sort(), ['adir', 'token.json']);
  });

  test('isPidAlive: this process yes, an exited child no, group addresses never', async () => {
    assert.equal(isPidAlive(process.pid), true);
    const child = spawn(process.execPath, ['-e', '']);
    const pid = child.pid;
    await once(child, 'exit');
    assert.equal(isPidAlive(pid), false);
    for (const p of [0, -1, 1.5, Number.NaN, null, undefined]) assert.equal(isPidAlive(p), false, String(p));
  });
});
