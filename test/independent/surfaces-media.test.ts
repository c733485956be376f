// Issue 24, surface 1: media reads lipsync://tasks/{id}/media/{original|result}{?offset,length} over stdio.
// Ranged reads answer at most 4 MiB with _meta["lipsync/media"]; an unranged read of a file over 4 MiB
// answers a JSON text saying how to get it (never a message over ~10 MiB); only regular files are served.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Raw } from './bundle-helpers.js';
import { type Home, makeHome, mediaPair } from './helpers.js';
import {
  BIN,
  type BinMcp,
  bigVideo,
  localTask,
  rpcError,
  startBin,
  stillAnswers,
} from './surfaces-helpers.js';

const MiB = 1024 * 1024;
type Content = { uri: string; blob?: string; text?: string; _meta?: Record<string, unknown> };
type ReadOut = { contents: Content[]; _meta?: Record<string, unknown> };

interface MediaMeta {
  size: number;
  offset: number;
  length: number;
  next?: number | string;
}

function mediaMeta(r: ReadOut): MediaMeta | undefined {
  return (r._meta?.['lipsync/media'] ?? r.contents[0]?._meta?.['lipsync/media']) as MediaMeta | undefined;
}

/** Where `next` goes on: an offset, or the URI of the next range (its `offset`); either is a fair reading. */
function nextOffset(next: number | string | undefined): number {
  if (typeof next === 'number') return next;
  return Number(new URL(String(next)).searchParams.get('offset'));
}

describe('media reads (stdio, local engine)', () => {
  let h: Home;
  let m: BinMcp;
  let small: string;
  let big: string;
  let bigBytes: Buffer;

  before(async () => {
    h = makeHome();
    m = await startBin(h.env);
    small = await localTask(m, h, 1);
    big = await localTask(m, h, 2, bigVideo());
    bigBytes = readFileSync(bigVideo());
  });
  after(async () => {
    await m.close();
    rmSync(h.root, { recursive: true, force: true });
  });

  const read = (uri: string, timeout = 30_000) =>
    m.client.readResource({ uri }, { timeout }) as unknown as Promise<ReadOut>;

  test('the media template advertises {?offset,length}', async () => {
    const t = await m.client.listResourceTemplates();
    const media = t.resourceTemplates.find((x) => x.uriTemplate.includes('/media/'));
    assert.ok(media, `no media template: ${JSON.stringify(t)}`);
    assert.equal(
      media.uriTemplate,
      'lipsync://tasks/{task_id}/media/{which}{?offset,length}',
      `expected the ranged template, got ${media.uriTemplate}`,
    );
  });

  test('a ranged read answers exactly the bytes asked, with _meta["lipsync/media"] {size, offset, length, next}', async () => {
    const r = await read(`lipsync://tasks/${big}/media/original?offset=1000&length=5000`);
    const c = r.contents[0]!;
    assert.ok(c.blob !== undefined, `expected a blob, got ${JSON.stringify(c).slice(0, 300)}`);
    const got = Buffer.from(c.blob, 'base64');
    assert.equal(got.length, 5000, `expected 5000 bytes, got ${got.length}`);
    assert.ok(got.equals(bigBytes.subarray(1000, 6000)), 'the bytes are not the file bytes 1000..6000');
    const meta = mediaMeta(r);
    assert.ok(meta, `no _meta["lipsync/media"]: ${JSON.stringify({ ...r, contents: [] })}`);
    assert.equal(meta.size, bigBytes.length);
    assert.equal(meta.offset, 1000);
    assert.equal(meta.length, 5000);
    assert.equal(nextOffset(meta.next), 6000);
  });

  test('a ranged read asking for 10 MiB answers at most 4 MiB and says where to go on', async () => {
    const r = await read(`lipsync://tasks/${big}/media/original?offset=0&length=${10 * MiB}`);
    const c = r.contents[0]!;
    assert.ok(c.blob !== undefined, `expected a blob, got ${JSON.stringify(c).slice(0, 300)}`);
    const got = Buffer.from(c.blob, 'base64');
    assert.ok(got.length <= 4 * MiB && got.length > 0, `expected 1..4 MiB, got ${got.length} bytes`);
    const meta = mediaMeta(r);
    assert.ok(meta, 'no _meta["lipsync/media"]');
    assert.equal(meta.length, got.length);
    assert.equal(
      nextOffset(meta.next),
      got.length,
      `next must point after the answered range: ${JSON.stringify(meta)}`,
    );
  });

  test('following next reads the whole 12 MiB file, byte for byte, and the last range has no next', async () => {
    const parts: Buffer[] = [];
    let offset = 0;
    for (let i = 0; i < 20; i++) {
      const r = await read(`lipsync://tasks/${big}/media/original?offset=${offset}&length=${4 * MiB}`);
      const b = Buffer.from(r.contents[0]?.blob ?? '', 'base64');
      parts.push(b);
      const meta = mediaMeta(r);
      assert.ok(meta, 'no _meta["lipsync/media"]');
      if (meta.next === undefined) break;
      const next = nextOffset(meta.next);
      assert.ok(next > offset, `next does not move on: ${JSON.stringify(meta)}`);
      offset = next;
    }
    const all = Buffer.concat(parts);
    assert.equal(all.length, bigBytes.length, 'ranges do not add up to the file');
    assert.ok(all.equals(bigBytes), 'ranges differ from the file');
  });

  test('an unranged read of a file over 4 MiB answers a JSON text saying how to get it; the client stays connected', async () => {
    const own = await startBin(h.env); // its own client: a disconnect here must not take the other tests down
    try {
      const r = (await own.client.readResource(
        { uri: `lipsync://tasks/${big}/media/original` },
        { timeout: 30_000 },
      )) as unknown as ReadOut;
      const c = r.contents[0]!;
      assert.equal(c.blob, undefined, `a ${bigBytes.length}-byte blob was sent in one message`);
      assert.ok(c.text, 'expected a JSON text');
      const j = JSON.parse(c.text) as Record<string, unknown>;
      assert.match(
        JSON.stringify(j),
        /offset|length|download_result/,
        `the text does not say how: ${c.text}`,
      );
      await stillAnswers(own, 'an unranged 12 MiB read');
    } finally {
      await own.close();
    }
  });

  test('the small result is still served whole without a range', async () => {
    const r = await read(`lipsync://tasks/${small}/media/result`);
    assert.ok(r.contents[0]?.blob, 'no blob for a small result');
    assert.ok(Buffer.from(r.contents[0].blob, 'base64').length > 100);
  });

  for (const [label, q] of [
    ['a negative offset', 'offset=-1&length=10'],
    ['a non-numeric length', 'offset=0&length=abc'],
    ['length zero', 'offset=0&length=0'],
    ['an offset past the end', `offset=${100 * MiB}&length=10`],
    ['a hex offset', 'offset=0x10&length=10'],
    ['an exponent length', 'offset=0&length=1e3'],
    ['a 2^63 offset', 'offset=9223372036854775808&length=10'],
  ] as const) {
    test(`${label} (${q}) is invalid params (-32602)`, async () => {
      const e = await rpcError(label, read(`lipsync://tasks/${big}/media/original?${q}`, 15_000));
      assert.equal(e.code, -32602, `expected -32602 invalid params, got ${e.code}: ${e.message}`);
    });
  }

  test('cancelling a read mid-flight leaves the server answering and the next read whole', async () => {
    const want = (await read(`lipsync://tasks/${small}/media/result`)).contents[0]?.blob;
    for (let i = 0; i < 5; i++) {
      const ac = new AbortController();
      const p = m.client
        .readResource(
          { uri: `lipsync://tasks/${small}/media/result` },
          { signal: ac.signal, timeout: 30_000 },
        )
        .catch((e: Error) => e);
      ac.abort('test cancels');
      await p;
    }
    await stillAnswers(m, 'cancelled media reads');
    const r = await read(`lipsync://tasks/${small}/media/result`);
    assert.equal(r.contents[0]?.blob, want, 'the read after cancellations differs');
  });
});

describe('media reads of files that are not regular (stdio)', () => {
  let h: Home;
  let m: BinMcp;
  before(async () => {
    h = makeHome();
    m = await startBin(h.env);
  });
  after(async () => {
    await m.close();
    rmSync(h.root, { recursive: true, force: true });
  });

  /** Makes a finished local task, then replaces its original file by what `swap` makes. */
  const swapped = async (seed: number, swap: (video: string) => void) => {
    const id = await localTask(m, h, seed);
    swap(join(h.media, `m${seed}.mp4`)); // the path localTask used
    return id;
  };
  const refusedPromptly = async (what: string, id: string) => {
    const e = await rpcError(
      what,
      m.client.readResource({ uri: `lipsync://tasks/${id}/media/original` }, { timeout: 10_000 }),
    );
    assert.notEqual(e.code, -32001, `${what}: the read hung (client timeout): ${e.message}`);
    assert.notEqual(e.code, -32603, `${what}: internal error instead of a clear one: ${e.message}`);
    assert.doesNotMatch(e.message, /\n\s+at /, `${what}: stack trace in ${e.message}`);
    await stillAnswers(m, what);
  };

  test('a FIFO named .mp4 is refused promptly', async () => {
    const id = await swapped(11, (v) => {
      rmSync(v);
      execFileSync('mkfifo', [v]);
    });
    await refusedPromptly('FIFO', id);
  });

  test('a character device (/dev/zero) named .mp4 is refused promptly', async (t) => {
    if (process.getuid?.() !== 0) return t.skip('mknod needs root');
    const id = await swapped(12, (v) => {
      rmSync(v);
      execFileSync('mknod', [v, 'c', '1', '5']);
    });
    await refusedPromptly('char device', id);
  });

  test('a directory named .mp4 is refused promptly', async () => {
    const id = await swapped(13, (v) => {
      rmSync(v);
      mkdirSync(v);
    });
    await refusedPromptly('directory', id);
  });

  test('a symlink out of the allowed folder is refused', async () => {
    const out = mediaPair(h.outside, 99);
    const id = await swapped(14, (v) => {
      rmSync(v);
      symlinkSync(out.video, v);
    });
    await refusedPromptly('symlink out', id);
  });

  test('a file that now lies in a hidden folder is refused', async () => {
    const sub = join(h.media, 'sub15');
    mkdirSync(sub);
    const id = await localTask(m, { ...h, media: sub }, 15);
    renameSync(sub, join(h.media, '.hidden15'));
    symlinkSync(join(h.media, '.hidden15'), sub);
    await refusedPromptly('hidden folder', id);
  });
});

describe('raw stdio: no line over 10 MiB, batches and huge ids', () => {
  let h: Home;
  let r: Raw;
  let big: string;
  before(async () => {
    h = makeHome();
    const m = await startBin(h.env);
    big = await localTask(m, h, 21, bigVideo());
    await m.close();
    r = new Raw(BIN, h.env);
    await r.init();
  });
  after(async () => {
    await r.close();
    Raw.killAll();
    rmSync(h.root, { recursive: true, force: true });
  });

  test('an unranged read of a 12 MiB original never writes a line over 10 MiB; the server keeps answering', async () => {
    const a = await r.request(1, 'resources/read', { uri: `lipsync://tasks/${big}/media/original` });
    const longest = Math.max(...r.lines.map((l) => l.length));
    assert.ok(longest < 10 * MiB, `a ${longest}-char JSON-RPC line was written`);
    assert.ok(a.result || a.error, 'no answer');
    const p = await r.request(2, 'ping', {}, 15_000);
    assert.ok(p.result, `ping after: ${JSON.stringify(p)}`);
  });

  test('a JSON-RPC batch is answered or refused, never crashes, and the server goes on', async () => {
    r.send(
      JSON.stringify([
        { jsonrpc: '2.0', id: 11, method: 'ping' },
        {
          jsonrpc: '2.0',
          id: 12,
          method: 'resources/read',
          params: { uri: `lipsync://tasks/${big}/media/original?offset=0&length=10` },
        },
      ]),
    );
    const p = await r.request(13, 'ping', {}, 15_000);
    assert.ok(p.result, `ping after a batch: ${JSON.stringify(p)}`);
    assert.equal(r.proc.exitCode, null, 'the server exited');
  });

  test('a request with a 100,000-char id is answered (or refused) and the server goes on', async () => {
    const id = 'i'.repeat(100_000);
    r.send({ id, method: 'ping' });
    const p = await r.request(21, 'ping', {}, 15_000);
    assert.ok(p.result, `ping after a huge id: ${JSON.stringify(p).slice(0, 300)}`);
  });

  test('a resources/read with a 1 MB task id is refused as invalid params, not internal', {
    todo: "the SDK's URI template matcher throws before any handler of ours sees the URI (its message is clear, its code internal)",
  }, async () => {
    const a = await r.request(
      31,
      'resources/read',
      { uri: `lipsync://tasks/${'z'.repeat(1_000_000)}/media/original` },
      30_000,
    );
    assert.ok(a.error, `answered: ${JSON.stringify(a).slice(0, 300)}`);
    assert.notEqual(a.error.code, -32603, `internal: ${a.error.message.slice(0, 300)}`);
    assert.ok(a.error.message.length < 2000, `the error echoes ${a.error.message.length} chars`);
  });
});
