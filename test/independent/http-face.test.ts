// The HTTP face (serve --http): token, Origin, DNS-rebinding Host, body limit, sessions.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { within } from '../helpers/wait.js';
import { CANARY, CLI, leaks, leaksInTree, makeHome, STACK } from './helpers.js';

interface Served {
  proc: ChildProcess;
  url: URL;
  stderr: () => string;
  stdout: () => string;
  /** Resolves once `check(stderr so far)` holds, re-checked on every chunk; fails with `what` at the hang guard. */
  stderrUntil: (check: (err: string) => boolean, what: string) => Promise<void>;
}

/** How many sessions the server has logged as ended (expired, closed or shut down) in `err`. */
const sessionsEnded = (err: string) => err.match(/"msg":"http session ended"/g)?.length ?? 0;

function serve(env: Record<string, string>): Promise<Served> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [CLI, 'serve', '--http', '--port', '0'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    const onErr = new Set<() => void>();
    const stderrUntil = (ok: (e: string) => boolean, what: string) => {
      let look: (() => void) | undefined;
      const seen = new Promise<void>((res) => {
        look = () => {
          if (ok(err)) res();
        };
        onErr.add(look);
        look();
      });
      return within(seen, what).finally(() => onErr.delete(look!));
    };
    const check = () => {
      const m = /"listening":"([^"]+)"/.exec(out + err);
      if (m) resolve({ proc, url: new URL(m[1]!), stderr: () => err, stdout: () => out, stderrUntil });
    };
    proc.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      for (const look of [...onErr]) look();
      check();
    });
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      check();
    });
    proc.on('exit', (c) => reject(new Error(`serve exited ${c}: ${err.slice(-500)}`)));
  });
}

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function raw(
  url: URL,
  headers: Record<string, string>,
  body: string | Buffer,
  method = 'POST',
): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method,
        headers,
        setHost: !('Host' in headers),
      },
      (res) => {
        let b = '';
        res.on('data', (d: Buffer) => {
          b += d.toString();
          if (b.length > 100_000) res.destroy();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: b }));
        res.on('error', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: b }));
      },
    );
    req.on('error', (e) => {
      // a server may cut an oversize upload short: that counts as refused
      if (
        (e as NodeJS.ErrnoException).code === 'ECONNRESET' ||
        (e as NodeJS.ErrnoException).code === 'EPIPE'
      ) {
        resolve({ status: 413, headers: {}, body: 'reset' });
      } else reject(e);
    });
    req.end(body);
  });
}

const INIT = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
});
const BASE = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

describe('serve --http with a token', () => {
  let s: Served;
  const h = makeHome({
    LIPSYNC_HTTP_TOKEN: CANARY.http,
    LIPSYNC_HTTP_MAX_BODY_KB: '16',
    LIPSYNC_HTTP_MAX_SESSIONS: '3',
    JOGG_API_KEY: CANARY.jogg,
  });
  const auth = { ...BASE, authorization: `Bearer ${CANARY.http}` };
  const seen: string[] = [];
  before(async () => {
    s = await serve(h.env);
  });
  after(() => {
    s.proc.kill('SIGTERM');
    assert.deepEqual(leaks(seen.join('\n') + s.stdout()), []);
    assert.deepEqual(leaks(s.stderr()), []);
    assert.deepEqual(leaksInTree(h.root), []);
  });

  test('no token: 401', async () => {
    const r = await raw(s.url, BASE, INIT);
    seen.push(r.body);
    assert.equal(r.status, 401);
  });
  test('wrong token: 401, and the right token is not echoed', async () => {
    const r = await raw(s.url, { ...BASE, authorization: 'Bearer nope' }, INIT);
    seen.push(r.body);
    assert.equal(r.status, 401);
  });
  test('token as a query string is not accepted', async () => {
    const u = new URL(s.url);
    u.searchParams.set('token', CANARY.http);
    const r = await raw(u, BASE, INIT);
    assert.equal(r.status, 401);
  });
  test('a token differing only in case or with a prefix is refused', async () => {
    const r1 = await raw(s.url, { ...BASE, authorization: `Bearer ${CANARY.http.toUpperCase()}` }, INIT);
    const r2 = await raw(s.url, { ...BASE, authorization: `Bearer ${CANARY.http}x` }, INIT);
    const r3 = await raw(s.url, { ...BASE, authorization: `Bearer ${CANARY.http.slice(0, -1)}` }, INIT);
    assert.deepEqual([r1.status, r2.status, r3.status], [401, 401, 401]);
  });
  test('right token: initialize works', async () => {
    const r = await raw(s.url, auth, INIT);
    seen.push(r.body);
    assert.equal(r.status, 200, r.body);
  });
  test('a foreign Origin is refused (403)', async () => {
    const r = await raw(s.url, { ...auth, origin: 'https://evil.example' }, INIT);
    assert.equal(r.status, 403, r.body);
  });
  test('Origin "null" (sandboxed page) is refused', async () => {
    const r = await raw(s.url, { ...auth, origin: 'null' }, INIT);
    assert.equal(r.status, 403, r.body);
  });
  test('a loopback Origin passes', async () => {
    const r = await raw(s.url, { ...auth, origin: `http://127.0.0.1:${s.url.port}` }, INIT);
    assert.equal(r.status, 200, r.body);
  });
  test('DNS rebinding: a foreign Host header is refused', async () => {
    const r = await raw(s.url, { ...auth, Host: `evil.example:${s.url.port}` }, INIT);
    assert.ok([400, 403, 421].includes(r.status), `${r.status} ${r.body}`);
  });
  test('DNS rebinding: a Host that merely starts with 127.0.0.1 is refused', async () => {
    const r = await raw(s.url, { ...auth, Host: `127.0.0.1.evil.example:${s.url.port}` }, INIT);
    assert.ok([400, 403, 421].includes(r.status), `${r.status} ${r.body}`);
  });
  test('an oversize body is refused with 413 and no stack', async () => {
    const big = JSON.stringify({
      jsonrpc: '2.0',
      id: 2,
      method: 'ping',
      params: { pad: 'x'.repeat(64 * 1024) },
    });
    const r = await raw(s.url, auth, big);
    assert.equal(r.status, 413, r.body.slice(0, 300));
    assert.ok(!STACK.test(r.body));
  });
  test('garbage JSON is a JSON-RPC parse error, not a stack', async () => {
    const r = await raw(s.url, auth, '{"jsonrpc": "2.0", "id": 1, "method": ');
    assert.ok(r.status >= 400 && r.status < 500, `${r.status}`);
    assert.ok(!STACK.test(r.body), r.body);
  });
  test('an unknown session id is 404', async () => {
    const r = await raw(
      s.url,
      { ...auth, 'mcp-session-id': 'does-not-exist' },
      JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/list' }),
    );
    assert.ok([400, 404].includes(r.status), `${r.status} ${r.body}`);
  });
  test('more sessions than allowed: 503 with Retry-After', async () => {
    const codes: number[] = [];
    let retry: unknown;
    for (let i = 0; i < 6; i++) {
      const r = await raw(s.url, auth, INIT);
      codes.push(r.status);
      if (r.status === 503) retry = r.headers['retry-after'];
    }
    assert.ok(codes.includes(503), codes.join(','));
    assert.ok(retry !== undefined);
  });
});

describe('serve --http: sessions, tools and idle expiry', () => {
  // The expiry server (idle 1 s of real time, cap 2) is for the expiry test only: on a loaded machine a
  // client's connect (initialize, then its "initialized" notification) can take longer than 1 s, and
  // its session is gone before the client is done connecting. The SDK client tests use `t`.
  let s: Served;
  let t: Served;
  const h = makeHome({ LIPSYNC_HTTP_SESSION_IDLE_SECONDS: '1', LIPSYNC_HTTP_MAX_SESSIONS: '2' });
  const plain = makeHome();
  before(async () => {
    [s, t] = await Promise.all([serve(h.env), serve(plain.env)]);
  });
  after(() => {
    s.proc.kill('SIGTERM');
    t.proc.kill('SIGTERM');
  });

  // A client that finds the cap full waits for the event "a session ended" (the server logs it) and
  // tries again.
  const connect = async () => {
    for (;;) {
      const ended = sessionsEnded(t.stderr());
      const c = new Client({ name: 'http-tester', version: '1' });
      try {
        await c.connect(new StreamableHTTPClientTransport(t.url));
        return c;
      } catch (err) {
        if (!/Too many open sessions/.test(String(err))) throw err;
        await t.stderrUntil((e) => sessionsEnded(e) > ended, 'a session to end and free a place');
      }
    }
  };

  test('without a token on loopback, the SDK client lists every tool', async () => {
    const c = await connect();
    const t = await c.listTools();
    assert.ok(t.tools.some((x) => x.name === 'create_lip_sync'));
    await c.close();
  });

  test('abandoned sessions expire and free their slots for new clients', async () => {
    // Fill both slots and abandon them (no DELETE, no more requests).
    await raw(s.url, BASE, INIT);
    await raw(s.url, BASE, INIT);
    // Wait on the event "an abandoned session expired" (the server logs it), not on a clock. Counted
    // from here: any expiry from now on frees a place that nobody else takes.
    const before = s.stderr().match(/"why":"expired"/g)?.length ?? 0;
    await s.stderrUntil(
      (e) => (e.match(/"why":"expired"/g)?.length ?? 0) > before,
      'an abandoned session to expire (log "http session ended", why "expired")',
    );
    const accepted = await raw(s.url, BASE, INIT);
    assert.equal(accepted.status, 200, 'a new session is accepted once an abandoned one expired');
    // End the accepted session: the abandoned ones expire a few ms apart, so the later one may still
    // hold the other place when the next test connects (a 503 there, about one run in three).
    const id = accepted.headers['mcp-session-id'];
    assert.equal(typeof id, 'string');
    await raw(s.url, { ...BASE, 'mcp-session-id': id as string }, '', 'DELETE');
  });

  test('over HTTP a client cannot read files outside the allowed folders', async () => {
    const c = await connect();
    const r = (await c.callTool({
      name: 'create_lip_sync',
      arguments: { video: '/etc/passwd', audio: '/etc/hosts', provider: 'local' },
    })) as {
      isError?: boolean;
    };
    assert.equal(r.isError, true);
    await c.close();
  });

  test('a server bound off loopback without a token refuses to start', async () => {
    const r = await new Promise<{ code: number | null; err: string }>((resolve) => {
      const p = spawn(process.execPath, [CLI, 'serve', '--http', '--host', '0.0.0.0', '--port', '0'], {
        env: h.env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let err = '';
      p.stderr.on('data', (d: Buffer) => {
        err += d.toString();
      });
      p.stdout.on('data', () => p.kill('SIGKILL'));
      p.stderr.on('data', () => {
        if (err.includes('"listening"')) p.kill('SIGKILL');
      });
      p.on('exit', (code) => resolve({ code, err }));
    });
    assert.notEqual(r.code, 0, r.err);
    assert.notEqual(r.code, null, 'it started listening on 0.0.0.0 without a token');
    assert.match(r.err, /LIPSYNC_HTTP_TOKEN/);
  });
});
