import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { INIT, JSON_HEADERS, ManualClock, raw, type Served, serve, TOKEN, until } from './helpers.js';

const IDLE_MS = 60_000;
const auth = { ...JSON_HEADERS, authorization: `Bearer ${TOKEN}` };

async function open(s: Served): Promise<string> {
  const r = await raw(s.server.url, { headers: auth, body: INIT });
  assert.equal(r.status, 200, r.body);
  return r.headers['mcp-session-id'] as string;
}

const list = (s: Served, id: string) =>
  raw(s.server.url, {
    headers: { ...auth, 'mcp-session-id': id, 'mcp-protocol-version': '2025-06-18' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
  });

describe('HTTP sessions that clients leave open', () => {
  let s: Served;
  const clock = new ManualClock();
  before(async () => {
    s = await serve({ token: TOKEN, clock, sessionIdleMs: IDLE_MS, maxSessions: 3 });
  });
  after(async () => {
    await s.stop();
  });

  test('full -> 503 with Retry-After; idle ones expire on the clock; a used one stays', async () => {
    const a = await open(s);
    await open(s);
    clock.advance(20_000);
    await open(s);
    assert.equal(s.server.sessions.size, 3);

    const full = await raw(s.server.url, { headers: auth, body: INIT });
    assert.equal(full.status, 503);
    // The oldest idle session ends in 40 s: that is when a place frees up.
    assert.equal(full.headers['retry-after'], '40');
    assert.match(full.body, /too many open sessions/i);
    assert.equal(s.server.sessions.size, 3, 'nothing was created');

    clock.advance(30_000);
    assert.equal((await list(s, a)).status, 200, 'a is used at t=50s');
    clock.advance(25_000); // t=75s: b (idle since 0) expires, a (used at 50) and c (20) stay
    await until(() => s.server.sessions.size === 2, 'b expires');
    clock.advance(10_000); // t=85s: c (idle since 20) expires
    await until(() => s.server.sessions.size === 1, 'c expires');
    assert.equal((await list(s, a)).status, 200, 'a still works');

    clock.advance(IDLE_MS + 1_000);
    await until(() => s.server.sessions.size === 0, 'a expires');
    assert.equal((await list(s, a)).status, 404, 'an expired session is unknown');
    await open(s);
    assert.equal(s.server.sessions.size, 1);
  });
});
