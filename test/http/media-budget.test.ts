/**
 * Media reads have a global cap (issue 24 item 1): the bytes of media answers not yet taken by their
 * clients are capped per session and per process (low caps here, through the settings), a read over
 * the cap is refused with a clear error, and an answer its client does not read is dropped after
 * LIPSYNC_MEDIA_SEND_TIMEOUT_SECONDS (a manual clock: no real waiting). Memory figures live in the bench.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { until as untilEvent } from '../helpers/wait.js';
import { seedTask } from '../mcp/seed.js';
import { INIT, JSON_HEADERS, ManualClock, raw, type Served, serve } from './helpers.js';

async function session(s: Served): Promise<string> {
  const init = await raw(s.server.url, { headers: JSON_HEADERS, body: INIT });
  const sid = init.headers['mcp-session-id'] as string;
  assert.ok(sid, `a session id: ${init.status} ${init.body}`);
  const headers = { ...JSON_HEADERS, 'mcp-session-id': sid, 'mcp-protocol-version': '2025-06-18' };
  await raw(s.server.url, {
    headers,
    body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
  });
  return sid;
}

const reads = (uri: string, n: number, from = 10) =>
  JSON.stringify(
    Array.from({ length: n }, (_, i) => ({
      jsonrpc: '2.0',
      id: from + i,
      method: 'resources/read',
      params: { uri },
    })),
  );

/** The JSON-RPC messages of an SSE body. */
const messages = (body: string) =>
  body
    .split('\n')
    .filter((l) => l.startsWith('data: '))
    .map((l) => JSON.parse(l.slice(6)) as { id: number; result?: unknown; error?: { message: string } });

async function seedLocal(s: Served, id: string, bytes: Buffer): Promise<void> {
  const path = join(s.env.work, `${id}.mp4`);
  writeFileSync(path, bytes);
  await seedTask(s.app.ledger, id, {
    provider: 'local',
    status: 'success',
    request: { inputs: { video: { type: 'file', path } } },
    snapshot: { status: 'success', resultUrl: 'file:///nowhere.mp4' },
  });
}

test('a batch of media reads over the cap: one is answered, the others are refused with a clear error; then reads work again', async () => {
  const s = await serve({
    env: {
      LIPSYNC_MEDIA_MAX_INFLIGHT_KB: '64',
      LIPSYNC_MEDIA_SESSION_INFLIGHT_KB: '64',
      LIPSYNC_MEDIA_WAIT_SECONDS: '0',
    },
  });
  try {
    await seedLocal(s, 'capped', randomBytes(200 * 1024));
    const sid = await session(s);
    const headers = { ...JSON_HEADERS, 'mcp-session-id': sid, 'mcp-protocol-version': '2025-06-18' };
    const batch = await raw(s.server.url, {
      headers,
      // Ranges: an unranged read of a file larger than the caps answers where to get it, no bytes.
      body: reads('lipsync://tasks/capped/media/original?offset=0', 6),
    });
    const answers = messages(batch.body);
    assert.equal(answers.length, 6, batch.body.slice(0, 300));
    // A range is cut to what the caps let one read hold (64 KiB here), with next.
    const first = answers.find((m) => m.result)?.result as { contents: { blob: string }[] } | undefined;
    assert.equal(Buffer.from(first?.contents[0]?.blob ?? '', 'base64').length, 64 * 1024);
    const served = answers.filter((m) => m.result);
    const refused = answers.filter((m) => m.error);
    assert.equal(served.length, 1, `one read fits the cap: ${answers.map((m) => m.error?.message ?? 'ok')}`);
    assert.equal(refused.length, 5);
    for (const r of refused)
      assert.match(r.error?.message ?? '', /Too much media is being sent at once.*one after another/);
    // The answer was taken: its bytes no longer count, so the next read is served.
    const again = messages(
      (
        await raw(s.server.url, {
          headers,
          body: reads('lipsync://tasks/capped/media/original?offset=0', 1, 50),
        })
      ).body,
    );
    assert.ok(again[0]?.result, JSON.stringify(again[0]?.error));
  } finally {
    await s.stop();
  }
});

test('an answer its client does not read is dropped after the send timeout, and its bytes are freed', async () => {
  const clock = new ManualClock();
  const s = await serve({
    clock,
    env: {
      LIPSYNC_MEDIA_SEND_TIMEOUT_SECONDS: '30',
      LIPSYNC_MEDIA_WAIT_SECONDS: '0',
      // Room for all four ranges, so that all of them wait on the unread socket.
      LIPSYNC_MEDIA_MAX_INFLIGHT_KB: '16384',
      LIPSYNC_MEDIA_SESSION_INFLIGHT_KB: '16384',
    },
  });
  try {
    await seedLocal(s, 'unread', randomBytes(4 * 1024 * 1024));
    const sid = await session(s);
    const timers = clock.pending;
    const url = new URL(s.server.url);
    // Four 4 MiB ranges (about 22 MB of SSE) on one connection whose reader never reads.
    const body = reads('lipsync://tasks/unread/media/original?offset=0', 4);
    const sock = connect(Number(url.port), url.hostname);
    let closed = false;
    sock.on('close', () => {
      closed = true;
    });
    sock.on('error', () => undefined);
    sock.write(
      `POST ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\ncontent-type: application/json\r\naccept: application/json, text/event-stream\r\nmcp-session-id: ${sid}\r\nmcp-protocol-version: 2025-06-18\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    sock.pause();
    await untilEvent(() => clock.pending > timers, 'a send timeout is armed for the unread answer');
    assert.equal(closed, false);
    clock.advance(30_000);
    await s.waitForLog(/http answer not taken in time/);
    // The reader wakes up: it finds the connection closed before the whole answer came.
    let got = '';
    sock.on('data', (d) => {
      got += d;
    });
    sock.resume();
    await untilEvent(() => closed, 'the server closed the connection of the unread answer');
    assert.ok(!got.includes('"id":13'), 'the unread answer was dropped, not delivered late');
    // Its bytes are free: another client's read is served at once (the wait for room is 0).
    const headers = { ...JSON_HEADERS, 'mcp-session-id': sid, 'mcp-protocol-version': '2025-06-18' };
    const next = messages(
      (
        await raw(s.server.url, {
          headers,
          body: reads('lipsync://tasks/unread/media/original?offset=0&length=10', 1, 90),
        })
      ).body,
    );
    assert.ok(next[0]?.result, JSON.stringify(next[0]?.error));
  } finally {
    await s.stop();
  }
});
