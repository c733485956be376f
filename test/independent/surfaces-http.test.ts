// Issue 24, surface 1 over `serve --http` and with low caps: media bytes in flight are capped per session
// and per process (a read over a cap is refused with a clear error, never an internal one or a hang), a
// 12 MiB original never goes out as one message, and many sessions reading at once all get an answer.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { type Home, makeHome } from './helpers.js';
import { bigVideo, localTask, serveHttp, startBin, stillAnswers } from './surfaces-helpers.js';

const MiB = 1024 * 1024;

describe('media caps (stdio, LIPSYNC_MEDIA_SESSION_INFLIGHT_KB=1024)', () => {
  test('a ranged read larger than the session cap is refused with a clear error or cut to fit; a small one still works', async () => {
    const h = makeHome({ LIPSYNC_MEDIA_SESSION_INFLIGHT_KB: '1024', LIPSYNC_MEDIA_WAIT_SECONDS: '1' });
    const m = await startBin(h.env);
    try {
      const id = await localTask(m, h, 41, bigVideo());
      // Either refused with a clear error, or answered with a shorter range that fits the cap.
      const r = await m.client
        .readResource(
          { uri: `lipsync://tasks/${id}/media/original?offset=0&length=${2 * MiB}` },
          { timeout: 20_000 },
        )
        .then((x) => ({ ok: true as const, x }))
        .catch((e: { code?: number; message?: string }) => ({
          ok: false as const,
          code: Number(e.code),
          message: String(e.message),
        }));
      if (r.ok) {
        const c = (r.x as { contents: Array<{ blob?: string }> }).contents[0];
        const n = Buffer.from(c?.blob ?? '', 'base64').length;
        assert.ok(n > 0 && n <= MiB, `a ${n}-byte range was served past a 1 MiB session cap`);
      } else {
        assert.notEqual(r.code, -32001, `the read hung: ${r.message}`);
        assert.notEqual(r.code, -32603, `internal error: ${r.message}`);
        assert.match(
          r.message,
          /LIPSYNC_MEDIA_SESSION_INFLIGHT_KB|in flight|cap|busy|too (many|much)/i,
          `the refusal does not say why: ${r.message}`,
        );
      }
      const ok = (await m.client.readResource({
        uri: `lipsync://tasks/${id}/media/original?offset=0&length=${512 * 1024}`,
      })) as { contents: Array<{ blob?: string }> };
      assert.equal(Buffer.from(ok.contents[0]?.blob ?? '', 'base64').length, 512 * 1024);
      await stillAnswers(m, 'a refused read');
    } finally {
      await m.close();
      rmSync(h.root, { recursive: true, force: true });
    }
  });
});

describe('media over serve --http', () => {
  let h: Home;
  let srv: { proc: ChildProcess; url: URL; stderr: () => string };
  let big: string;
  const clients: Client[] = [];

  const session = async (): Promise<Client> => {
    const c = new Client({ name: `surfaces-http-${clients.length}`, version: '1.0.0' });
    await c.connect(new StreamableHTTPClientTransport(srv.url));
    clients.push(c);
    return c;
  };

  before(async () => {
    h = makeHome({
      LIPSYNC_MEDIA_MAX_INFLIGHT_KB: '8192',
      LIPSYNC_MEDIA_SESSION_INFLIGHT_KB: '4096',
      LIPSYNC_MEDIA_WAIT_SECONDS: '1',
      LIPSYNC_MEDIA_SEND_TIMEOUT_SECONDS: '5',
      LIPSYNC_HTTP_MAX_SESSIONS: '20',
    });
    const m = await startBin(h.env);
    big = await localTask(m, h, 42, bigVideo());
    await m.close();
    srv = await serveHttp(h.env);
  });
  after(async () => {
    for (const c of clients) await c.close().catch(() => undefined);
    srv.proc.kill('SIGTERM');
    rmSync(h.root, { recursive: true, force: true });
  });

  test('an unranged read of the 12 MiB original answers a JSON text, not a 16 MB body', async () => {
    const c = await session();
    const r = (await c.readResource(
      { uri: `lipsync://tasks/${big}/media/original` },
      { timeout: 30_000 },
    )) as {
      contents: Array<{ blob?: string; text?: string }>;
    };
    const size = JSON.stringify(r).length;
    assert.ok(size < 10 * MiB, `a ${size}-char answer`);
    assert.equal(r.contents[0]?.blob, undefined, 'the whole file went out as one blob');
  });

  test('12 sessions reading 4 MiB ranges at once (process cap 8 MiB) all get data or a clear refusal, never internal', async () => {
    const cs = await Promise.all(Array.from({ length: 12 }, () => session()));
    const results = await Promise.all(
      cs.map((c, i) =>
        c
          .readResource(
            { uri: `lipsync://tasks/${big}/media/original?offset=${(i % 3) * 4 * MiB}&length=${4 * MiB}` },
            { timeout: 30_000 },
          )
          .then((r) => ({ ok: true as const, r }))
          .catch((e: { code?: number; message?: string }) => ({
            ok: false as const,
            code: Number(e.code),
            message: String(e.message),
          })),
      ),
    );
    const bad = results.filter(
      (x) =>
        !x.ok &&
        (x.code === -32603 ||
          x.code === -32001 ||
          !/cap|in flight|busy|LIPSYNC_MEDIA|retry/i.test(x.message)),
    );
    assert.equal(
      bad.length,
      0,
      `${bad.length} refusals are internal, hung, or say nothing useful; first: ${String(JSON.stringify(bad[0])).slice(0, 300)}`,
    );
    const served = results.filter((x) => x.ok);
    assert.ok(served.length > 0, 'no session got any data');
    for (const s of served) {
      const r = s.r as {
        contents: Array<{ blob?: string }>;
        _meta?: Record<string, { offset: number; size: number }>;
      };
      const blob = r.contents[0]?.blob ?? '';
      const meta = r._meta?.['lipsync/media'];
      // The last range of the file is shorter.
      const want = meta ? Math.min(4 * MiB, meta.size - meta.offset) : 4 * MiB;
      assert.equal(Buffer.from(blob, 'base64').length, want, 'a served range is not the size asked');
    }
    const again = await session();
    await again.ping({ timeout: 15_000 });
  });
});
