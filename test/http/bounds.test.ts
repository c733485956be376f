/**
 * Bounds of `serve --http` (issue 26 item 3): parallel new sessions all fit under the cap; a full server
 * answers 503 with Retry-After, never silence; slow-loris connections are cut by the headers timeout
 * and idle keep-alive connections give their place up, so neither locks new clients out.
 */
import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { after, describe, test } from 'node:test';
import { DEFAULT_LIMITS } from '../../src/http-server/limits.js';
import { until } from '../helpers/wait.js';
import { type Served, serve } from './helpers.js';

const INIT = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bounds', version: '1' } },
});
const HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

/** A POST initialize on its own connection (or `agent`'s): status and Retry-After. */
function initialize(url: string, agent?: Agent): Promise<{ status: number; retryAfter?: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: HEADERS, agent: agent ?? false }, (res) => {
      res.resume();
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          retryAfter: res.headers['retry-after'] as string | undefined,
        }),
      );
    });
    req.on('error', reject);
    req.end(INIT);
  });
}

/** A connection that sends part of its headers and then nothing (slow loris). */
function slowLoris(url: string): Promise<Socket> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const s = connect(Number(u.port), u.hostname, () => {
      s.write(`POST /mcp HTTP/1.1\r\nHost: ${u.host}\r\n`);
      // Reads (and drops) whatever the server answers, so that its close is seen.
      s.resume();
      resolve(s);
    });
    s.on('error', reject);
  });
}

const closed = (s: Socket) => s.destroyed || s.closed;

describe('serve --http bounds', () => {
  const servers: Served[] = [];
  after(async () => {
    for (const s of servers) await s.stop();
  });

  test('200 parallel initializations under a cap of 200: every one gets a session', async () => {
    const s = await serve({ maxSessions: 200 });
    servers.push(s);
    const answers = await Promise.all(Array.from({ length: 200 }, () => initialize(s.server.url)));
    const refused = answers.filter((a) => a.status !== 200);
    assert.equal(refused.length, 0, `refused: ${JSON.stringify(refused.slice(0, 3))}`);
    assert.equal(s.server.sessions.size, 200);
  });

  test('a full server answers 503 with Retry-After, never silence; once room frees, the next client gets in', async () => {
    const s = await serve({ limits: { ...DEFAULT_LIMITS, maxConnections: 4, headersTimeoutMs: 600_000 } });
    servers.push(s);
    const loris = await Promise.all(Array.from({ length: 4 }, () => slowLoris(s.server.url)));
    await until(() => s.server.connections.open === 4, 'the four slow connections counted');
    const full = await initialize(s.server.url);
    assert.equal(full.status, 503);
    assert.ok(Number(full.retryAfter) >= 1, `Retry-After: ${full.retryAfter}`);
    for (const l of loris) l.destroy();
    await until(() => s.server.connections.open === 0, 'the slow connections gone');
    assert.equal((await initialize(s.server.url)).status, 200);
  });

  test('slow-loris connections are cut by the headers timeout: new clients are not locked out', async () => {
    const s = await serve({ limits: { ...DEFAULT_LIMITS, maxConnections: 4, headersTimeoutMs: 1000 } });
    servers.push(s);
    const loris = await Promise.all(Array.from({ length: 4 }, () => slowLoris(s.server.url)));
    // The server itself ends them (408), however slowly the machine runs: wait for that, not for time.
    await until(() => loris.every(closed), 'the server cut the slow-loris connections', 200_000);
    assert.equal((await initialize(s.server.url)).status, 200);
  });

  test('idle keep-alive connections give their place up to a new client', async () => {
    const s = await serve({ limits: { ...DEFAULT_LIMITS, maxConnections: 4, keepAliveTimeoutMs: 600_000 } });
    servers.push(s);
    const agents = Array.from({ length: 4 }, () => new Agent({ keepAlive: true, maxSockets: 1 }));
    for (const a of agents) assert.equal((await initialize(s.server.url, a)).status, 200);
    assert.equal(s.server.connections.open, 4, 'four idle keep-alive connections held');
    // The newcomer is told to come back (never silence) and the idle connections are let go for it.
    const first = await initialize(s.server.url);
    if (first.status !== 200) {
      assert.equal(first.status, 503);
      assert.ok(first.retryAfter);
      await until(() => s.server.connections.open === 0, 'the idle connections closed');
      assert.equal((await initialize(s.server.url)).status, 200);
    }
    for (const a of agents) a.destroy();
  });
});
