import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { AppError } from '../../src/errors.js';
import type { HttpClient } from '../../src/http/client.js';
import { downloadResult, safeName } from '../../src/jobs/download.js';
import { Ledger, type TaskRow } from '../../src/jobs/ledger.js';
import { ManualClock } from '../helpers/clock.js';

const root = mkdtempSync(join(tmpdir(), 'lipsync-dlname-'));
const outputDir = join(root, 'outputs');
mkdirSync(outputDir, { recursive: true });
const ledger = new Ledger(join(root, 'ledger.sqlite'));
after(() => {
  ledger.close();
  rmSync(root, { recursive: true, force: true });
});

const noHttp = {} as HttpClient; // a file: result needs no HTTP
const deps = { ledger, http: noHttp, clock: new ManualClock(), outputDir };

function finished(id: string): TaskRow {
  const src = join(outputDir, `src-${id}.mp4`);
  writeFileSync(src, `result of ${id}`);
  return {
    id,
    status: 'success',
    snapshot: { status: 'success', resultUrl: pathToFileURL(src).toString() },
  } as unknown as TaskRow;
}

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

describe('download_result file names and the file system limit (255 bytes per name)', () => {
  const long = `${'é'.repeat(130)}.mp4`; // 134 characters (inside the schema's 200), 264 bytes

  test('a 264-byte name is an invalid_input error that says bytes and how to fix it', async () => {
    assert.equal(long.length, 134);
    assert.equal(bytes(long), 264);
    const row = finished('t-long');
    const before = readdirSync(outputDir).length;
    await assert.rejects(downloadResult(deps, row, long), (err: unknown) => {
      assert.ok(err instanceof AppError, `an AppError, not ${String(err)}`);
      assert.equal(err.code, 'invalid_input');
      assert.match(err.message, /264 bytes/);
      assert.match(err.message, /255 bytes/);
      assert.match(err.hint ?? '', /shorter name/);
      return true;
    });
    assert.equal(readdirSync(outputDir).length, before, 'no temp file left behind');
  });

  test('safeName counts bytes, not characters, including an appended extension', () => {
    assert.throws(() => safeName(long, 'x.mp4'), /264 bytes/);
    assert.throws(() => safeName('語'.repeat(84), 'x.mp4'), /256 bytes/); // 252 + ".mp4"
    const fits = `${'é'.repeat(123)}.mp4`; // 250 bytes
    assert.equal(safeName(fits, 'x.mp4'), fits);
  });

  test('the longest accepted name still downloads, also when a "-1" suffix is needed', async () => {
    const name = `${'é'.repeat(123)}.mp4`;
    const first = await downloadResult(deps, finished('t-fit-1'), name);
    assert.equal(first.path, join(outputDir, name));
    const second = await downloadResult(deps, finished('t-fit-2'), name);
    assert.equal(second.path, join(outputDir, `${'é'.repeat(123)}-1.mp4`));
  });
});
