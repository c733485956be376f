import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { createHttpClient } from '../../src/http/client.js';
import { drivenClock } from '../helpers/clock.js';

/** A loopback server that holds every request until `release`, counting sockets and requests. */
async function holdingServer(): Promise<{
  url: string;
  sockets: () => number;
  waiting: () => number;
  release(): void;
  close(): Promise<void>;
}> {
  let sockets = 0;
  const held: (() => void)[] = [];
  let released = false;
  const server: Server = createServer((_req, res) => {
    const answer = () => res.end('{}');
    if (released) answer();
    else held.push(answer);
  });
  server.on('connection', () => sockets++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    sockets: () => sockets,
    waiting: () => held.length,
    release() {
      released = true;
      for (const a of held.splice(0)) a();
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

test('the HTTP client opens a bounded number of connections per origin, however many requests wait', async () => {
  const srv = await holdingServer();
  const http = createHttpClient({ clock: drivenClock(), timeoutMs: 60_000, connectionsPerOrigin: 4 });
  try {
    const all = Array.from({ length: 40 }, () =>
      http.request({ method: 'GET', url: srv.url, service: 'Test' }).then((r) => r.text()),
    );
    // Wait until the server holds as many requests as the client may have in flight.
    while (srv.waiting() < 4) await new Promise((r) => setImmediate(r));
    srv.release();
    await Promise.all(all);
    assert.ok(srv.sockets() <= 4, `sockets: ${srv.sockets()}`);
  } finally {
    await http.close();
    await srv.close();
  }
});

test('the default bound is finite', async () => {
  const srv = await holdingServer();
  const http = createHttpClient({ clock: drivenClock(), timeoutMs: 60_000 });
  try {
    const all = Array.from({ length: 300 }, () =>
      http.request({ method: 'GET', url: srv.url, service: 'Test' }).then((r) => r.text()),
    );
    while (srv.waiting() < 8) await new Promise((r) => setImmediate(r));
    srv.release();
    await Promise.all(all);
    assert.ok(srv.sockets() <= 32, `sockets: ${srv.sockets()}`);
  } finally {
    await http.close();
    await srv.close();
  }
});
