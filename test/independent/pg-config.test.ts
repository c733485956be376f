// LIPSYNC_DATABASE_URL from the outside: unreachable, refused, missing, hostile and foreign databases at
// start; doctor with a database; instances starting together on an empty database (migrations).
// Every failure must be one actionable JSON line naming what to fix, fast, without the password.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { CLI, lastJson, makeHome, STACK } from './helpers.js';
import {
  FakePgAuth,
  instanceEnv,
  PG_ADMIN_URL,
  PG_PASSWORD,
  type PgTestDatabase,
  pgLeaks,
  pgQuery,
  pgSkip,
  pgTestDatabase,
  startHttp,
  stopAll,
  withPassword,
} from './pg-helpers.js';

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs the CLI with stdin kept open (a stdio server must not exit for lack of input); kills at limit. */
function runOpen(env: Record<string, string>, args: string[], limitMs = 45_000): Promise<Run> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const p = spawn(process.execPath, [CLI, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    p.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      // serve --http that came up anyway: stop it, the test reads what it printed.
      if (stderr.includes('"listening"')) p.kill('SIGKILL');
    });
    if (args.length === 0) {
      p.stdin.write(
        `${JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'initialize',
          params: {
            protocolVersion: '2025-06-18',
            capabilities: {},
            clientInfo: { name: 't', version: '1' },
          },
        })}\n`,
      );
    }
    const killer = setTimeout(() => p.kill('SIGKILL'), limitMs);
    p.on('close', (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

/** What each entry point does with one bad database: stdio server, HTTP server, a CLI command, doctor. */
const ENTRY_POINTS: Array<{ label: string; args: string[] }> = [
  { label: 'stdio server', args: [] },
  { label: 'serve --http', args: ['serve', '--http', '--port', '0'] },
  { label: 'run --task-id', args: ['run', '--task-id', 'ls_nope'] },
  { label: 'doctor --json', args: ['doctor', '--json'] },
];

interface Expect {
  codes: string[];
  /** Words the message + hint must contain (case-insensitive). */
  says: RegExp[];
  limitMs?: number;
}

async function expectClearFailure(url: string, want: Expect, entries = ENTRY_POINTS): Promise<void> {
  const h = makeHome();
  const env = instanceEnv(h.env, url);
  const runs = await Promise.all(entries.map((e) => runOpen(env, e.args)));
  const problems: string[] = [];
  runs.forEach((r, i) => {
    const label = entries[i]!.label;
    const all = r.stdout + r.stderr;
    const e = lastJson(r.stderr);
    const words = `${String(e.error ?? '')} ${String(e.hint ?? '')}`;
    if (r.signal === 'SIGKILL' && !r.stderr.includes('"listening"'))
      problems.push(`${label}: still running after ${r.ms} ms (hung at start)`);
    if (r.stderr.includes('"listening"')) problems.push(`${label}: started listening with a bad database`);
    if (r.code === 0) problems.push(`${label}: exit 0`);
    if (r.ms > (want.limitMs ?? 30_000)) problems.push(`${label}: took ${r.ms} ms`);
    if (!want.codes.includes(String(e.code)))
      problems.push(
        `${label}: code ${String(e.code)} (want ${want.codes.join('|')}): ${r.stderr.slice(e.code === 'internal' ? -2000 : -400)}`,
      );
    for (const w of want.says) if (!w.test(words)) problems.push(`${label}: does not say ${w}: ${words}`);
    if (pgLeaks(all).length) problems.push(`${label}: prints the password: ${all.slice(-400)}`);
    if (STACK.test(all)) problems.push(`${label}: prints a stack trace`);
    if (label === 'stdio server' && r.stdout.trim() !== '' && !r.stdout.trim().startsWith('{"'))
      problems.push(`${label}: non-JSON-RPC on stdout: ${r.stdout.slice(0, 200)}`);
  });
  assert.deepEqual(problems, [], problems.join('\n'));
}

describe('PostgreSQL unreachable or refusing at start', { skip: pgSkip }, () => {
  let blackhole: Server;
  let bhPort = 0;
  let fakeAuth: FakePgAuth;
  let db: PgTestDatabase;
  before(async () => {
    blackhole = createServer(() => undefined); // accepts and never answers
    await new Promise<void>((r) => blackhole.listen(0, '127.0.0.1', () => r()));
    bhPort = (blackhole.address() as { port: number }).port;
    fakeAuth = await new FakePgAuth().start();
    db = await pgTestDatabase('config');
  });
  after(async () => {
    blackhole.close();
    await fakeAuth.close();
    await db.drop();
  });

  test('wrong port (nothing listens): every entry point fails fast naming host:port and the setting', async () => {
    await expectClearFailure(`postgres://lipsync:${PG_PASSWORD}@127.0.0.1:9/lipsync`, {
      codes: ['unavailable'],
      says: [/127\.0\.0\.1:9/, /LIPSYNC_DATABASE_URL/],
    });
  });

  test('wrong password: names the user and the password as what to check, never prints it', async () => {
    const before = fakeAuth.passwords.length;
    await expectClearFailure(
      `postgres://lipsync:${PG_PASSWORD}@127.0.0.1:${fakeAuth.port}/lipsync`,
      { codes: ['invalid_input', 'auth'], says: [/lipsync/, /password/i, /LIPSYNC_DATABASE_URL/] },
      ENTRY_POINTS.slice(0, 2),
    );
    assert.ok(fakeAuth.passwords.length > before, 'the server was asked');
  });

  test('a password with URL-special characters is decoded before it is sent, and printed in no form', async () => {
    const pw = `p@ss:w/rd?#%&${PG_PASSWORD}`;
    const u = `postgres://lipsync:${encodeURIComponent(pw)}@127.0.0.1:${fakeAuth.port}/lipsync`;
    const before = fakeAuth.passwords.length;
    const h = makeHome();
    const r = await runOpen(instanceEnv(h.env, u), ['doctor', '--json']);
    assert.equal(fakeAuth.passwords.slice(before)[0], pw, 'the server got the decoded password');
    assert.deepEqual(pgLeaks(r.stdout + r.stderr), []);
    assert.ok(!(r.stdout + r.stderr).includes(encodeURIComponent(pw).slice(0, 20)), r.stderr);
  });

  test('a password given as ?password= in the query is not printed either', async () => {
    await expectClearFailure(
      `postgres://lipsync@127.0.0.1:${fakeAuth.port}/lipsync?password=${PG_PASSWORD}`,
      { codes: ['invalid_input', 'auth'], says: [/LIPSYNC_DATABASE_URL/] },
      ENTRY_POINTS.slice(0, 2),
    );
  });

  test('database missing: names the database and how to create it', async () => {
    const u = new URL(withPassword(db.url));
    u.pathname = '/lipsync_no_such_db';
    await expectClearFailure(u.href, {
      codes: ['invalid_input', 'not_found'],
      says: [/lipsync_no_such_db/, /creat/i],
    });
  });

  test('a host name that does not resolve: names the host', async () => {
    await expectClearFailure(`postgres://lipsync:${PG_PASSWORD}@db.no-such-host.invalid:5432/lipsync`, {
      codes: ['unavailable'],
      says: [/db\.no-such-host\.invalid/],
    });
  });

  test('the server is out of connections (too many clients): unavailable, says so', async () => {
    const full = await new FakePgAuth('tooMany').start();
    try {
      await expectClearFailure(
        `postgres://lipsync:${PG_PASSWORD}@127.0.0.1:${full.port}/lipsync`,
        { codes: ['unavailable'], says: [/too many|connections/i] },
        ENTRY_POINTS.slice(0, 2),
      );
    } finally {
      await full.close();
    }
  });

  test('a server that accepts and never answers: start gives up within the budget and says so', async () => {
    await expectClearFailure(
      `postgres://lipsync:${PG_PASSWORD}@127.0.0.1:${bhPort}/lipsync`,
      { codes: ['unavailable', 'timeout'], says: [new RegExp(`127\\.0\\.0\\.1:${bhPort}`)], limitMs: 40_000 },
      ENTRY_POINTS.slice(0, 2),
    );
  });
});

describe('hostile or unusual LIPSYNC_DATABASE_URL values', { skip: pgSkip }, () => {
  let db: PgTestDatabase;
  before(async () => {
    db = await pgTestDatabase('hostile');
  });
  after(async () => {
    await db.drop();
  });

  const invalid: Array<[string, string]> = [
    ['another scheme', `mysql://root:${PG_PASSWORD}@127.0.0.1:3306/db`],
    ['no scheme at all', `lipsync:${PG_PASSWORD}@127.0.0.1:5432/db`],
    ['a port out of range', `postgres://u:${PG_PASSWORD}@127.0.0.1:99999/db`],
    ['an unclosed IPv6 bracket', `postgres://u:${PG_PASSWORD}@[::1/db`],
    ['a raw newline and a space in the password', `postgres://u:${PG_PASSWORD}\n x@127.0.0.1:5432/db`],
    [
      'a 300-character host name (longer than DNS allows)',
      `postgres://u:${PG_PASSWORD}@${'a'.repeat(300)}:5432/db`,
    ],
    ['a file: URL', `file:///etc/passwd?password=${PG_PASSWORD}`],
  ];
  for (const [what, url] of invalid) {
    test(`${what}: invalid_input about LIPSYNC_DATABASE_URL, nothing echoed`, async () => {
      await expectClearFailure(
        url,
        { codes: ['invalid_input', 'unavailable'], says: [/LIPSYNC_DATABASE_URL/] },
        [ENTRY_POINTS[0]!, ENTRY_POINTS[3]!],
      );
    });
  }

  test('sslmode=require against a server without TLS: says TLS/SSL is the problem (not "internal")', async () => {
    await expectClearFailure(
      `${withPassword(db.url)}?sslmode=require`,
      { codes: ['invalid_input', 'unavailable'], says: [/ssl|tls/i, /LIPSYNC_DATABASE_URL/] },
      [ENTRY_POINTS[0]!, ENTRY_POINTS[3]!],
    );
  });

  test('a database already holding another application\'s "tasks" table: says so instead of "internal"', async () => {
    const other = await pgTestDatabase('foreign');
    try {
      await pgQuery(other.url, 'CREATE TABLE tasks (id serial PRIMARY KEY, title text NOT NULL)');
      await pgQuery(other.url, "INSERT INTO tasks (title) VALUES ('the other app''s data')");
      await expectClearFailure(
        withPassword(other.url),
        { codes: ['invalid_input', 'conflict', 'unavailable'], says: [/tasks/, /database|schema/i] },
        [ENTRY_POINTS[0]!, ENTRY_POINTS[3]!],
      );
      const rows = await pgQuery<{ title: string }>(other.url, 'SELECT title FROM tasks');
      assert.deepEqual(
        rows.map((r) => r.title),
        ["the other app's data"],
        'the other table is untouched',
      );
    } finally {
      await other.drop();
    }
  });

  test('a read-only database (a standby after failover): says it is read-only, not "internal"', async () => {
    const ro = await pgTestDatabase('readonly');
    try {
      // Migrated while writable, then turned read-only, as a replica promoted the wrong way round.
      const h = makeHome();
      const first = await runOpen(instanceEnv(h.env, withPassword(ro.url)), ['spend', '--days', '1']);
      assert.equal(first.code, 0, first.stderr.slice(-300));
      await pgQuery(ro.url, `ALTER DATABASE "${ro.name}" SET default_transaction_read_only = on`);
      await expectClearFailure(
        withPassword(ro.url),
        { codes: ['unavailable', 'invalid_input'], says: [/read.only|standby|primary/i] },
        [ENTRY_POINTS[0]!, ENTRY_POINTS[2]!],
      );
    } finally {
      await ro.drop();
    }
  });

  test('a user without rights on tables the owner created: the hint, once followed, fixes it', async () => {
    const d = await pgTestDatabase('grants');
    const role = `lipsync_user_${process.pid}_${Date.now() % 100000}`;
    try {
      await pgQuery(d.url, `CREATE ROLE ${role} LOGIN`);
      const asUser = new URL(withPassword(d.url));
      asUser.username = role;
      // Before the tables exist, the user may not create them (PostgreSQL 15+: no CREATE on public).
      const h = makeHome();
      const r0 = await runOpen(instanceEnv(h.env, asUser.href), ['spend', '--days', '1']);
      assert.equal(r0.code, 1, r0.stdout);
      // Follow the hint's first way: the owner runs lipsync-mcp once.
      const owner = await runOpen(instanceEnv(h.env, withPassword(d.url)), ['spend', '--days', '1']);
      assert.equal(owner.code, 0, owner.stderr.slice(-300));
      const r1 = await runOpen(instanceEnv(h.env, asUser.href), ['spend', '--days', '1']);
      const e = lastJson(r1.stderr);
      assert.ok(!STACK.test(r1.stderr));
      assert.notEqual(e.code, 'internal', r1.stderr.slice(-300));
      if (r1.code !== 0) {
        // Still refused: then doing what the hint says must be enough.
        const hint = `${String(e.error)} ${String(e.hint)}`;
        const grant = /GRANT [^.(]+?(?= to this user| TO |\)|$)/i.exec(hint)?.[0];
        assert.ok(grant, `the hint names no GRANT: ${hint}`);
        await pgQuery(d.url, `${grant} TO ${role}`);
        const r2 = await runOpen(instanceEnv(h.env, asUser.href), ['spend', '--days', '1']);
        assert.equal(r2.code, 0, `after "${grant} TO ${role}" as the hint said: ${r2.stderr.slice(-300)}`);
      }
    } finally {
      await d.drop();
      await pgQuery(PG_ADMIN_URL!, `DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
    }
  });

  test('a unix-socket URL (host in the query) is accepted like host:port', async (t) => {
    const dir = process.env.LIPSYNC_TEST_PG_DIR;
    if (!dir) return t.skip('LIPSYNC_TEST_PG_DIR (socket folder) not set');
    const tcp = new URL(db.url);
    const u = `postgres:///${db.name}?host=${encodeURIComponent(`${dir}/sock`)}&port=${tcp.port}&user=${tcp.username}&password=${PG_PASSWORD}`;
    const h = makeHome();
    const r = await runOpen(instanceEnv(h.env, u), ['doctor', '--json']);
    assert.equal(r.code, 0, r.stderr.slice(-500));
    assert.deepEqual(pgLeaks(r.stdout + r.stderr), []);
  });
});

describe('doctor with a database URL', { skip: pgSkip }, () => {
  let db: PgTestDatabase;
  before(async () => {
    db = await pgTestDatabase('doctor');
  });
  after(async () => {
    await db.drop();
  });

  test('doctor and doctor --json show the host and the database, never the password', async () => {
    const h = makeHome();
    const u = new URL(db.url);
    const env = instanceEnv(h.env, withPassword(db.url));
    const [text, json] = await Promise.all([runOpen(env, ['doctor']), runOpen(env, ['doctor', '--json'])]);
    assert.equal(text.code, 0, text.stderr.slice(-400));
    assert.match(text.stdout, new RegExp(`${u.hostname}:${u.port}/${db.name}`));
    const ledger = String((JSON.parse(json.stdout) as Record<string, unknown>).ledger);
    assert.match(ledger, new RegExp(`${u.hostname}:${u.port}/${db.name}`));
    assert.deepEqual(pgLeaks(text.stdout + text.stderr + json.stdout + json.stderr), []);
  });

  test('doctor shows the host and database also when the URL carries no password (trust, .pgpass)', async () => {
    const h = makeHome();
    const u = new URL(db.url);
    u.hostname = 'localhost';
    const r = await runOpen(instanceEnv(h.env, u.href), ['doctor', '--json']);
    assert.equal(r.code, 0, r.stderr.slice(-400));
    const ledger = String((JSON.parse(r.stdout) as Record<string, unknown>).ledger);
    assert.match(ledger, new RegExp(`localhost:${u.port}/${db.name}`), `doctor says ledger: ${ledger}`);
  });
});

describe('instances starting together on an empty database', { skip: pgSkip }, () => {
  let db: PgTestDatabase;
  before(async () => {
    db = await pgTestDatabase('migrate');
  });
  after(async () => {
    await db.drop();
  });

  test('three HTTP servers and three CLI commands at once: all start, each migration recorded once', async () => {
    const url = withPassword(db.url);
    const homes = [1, 2, 3, 4, 5, 6].map(() => makeHome());
    const servers = Promise.allSettled(homes.slice(0, 3).map((h) => startHttp(instanceEnv(h.env, url))));
    const clis = Promise.all(
      homes.slice(3).map((h) => runOpen(instanceEnv(h.env, url), ['spend', '--days', '1'])),
    );
    const [ss, cs] = await Promise.all([servers, clis]);
    const up = ss.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    try {
      const failed = ss.flatMap((s) => (s.status === 'rejected' ? [String(s.reason)] : []));
      assert.deepEqual(failed, [], failed.join('\n'));
      for (const c of cs) assert.equal(c.code, 0, c.stderr.slice(-600));
      const rows = await pgQuery<{ version: number; n: string }>(
        db.url,
        'SELECT version, count(*) AS n FROM schema_migrations GROUP BY version ORDER BY version',
      );
      assert.ok(rows.length >= 1, 'migrations recorded');
      for (const r of rows) assert.equal(Number(r.n), 1, `version ${r.version} recorded ${r.n} times`);
      const tables = await pgQuery<{ t: string }>(
        db.url,
        "SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1",
      );
      for (const t of ['tasks', 'costs', 'uploads', 'downloads'])
        assert.ok(
          tables.some((x) => x.t === t),
          `table ${t}`,
        );
      // Every one of them answers on the shared ledger.
      for (const s of up) {
        const l = (await s.mcp.client.callTool({ name: 'list_tasks', arguments: {} })) as {
          isError?: boolean;
        };
        assert.notEqual(l.isError, true);
      }
    } finally {
      await stopAll(up);
    }
  });

  test('a schema recorded as newer than this version is neither downgraded nor damaged', async () => {
    await pgQuery(db.url, "INSERT INTO schema_migrations VALUES (9999, 'from a newer lipsync-mcp', 0)");
    const h = makeHome();
    const r = await runOpen(instanceEnv(h.env, withPassword(db.url)), ['spend', '--days', '1']);
    const e = lastJson(r.stderr);
    if (r.code !== 0) {
      // Refusing is fine if it says why.
      assert.match(`${String(e.error)} ${String(e.hint)}`, /newer|upgrade|version/i, r.stderr.slice(-400));
    }
    const rows = await pgQuery<{ version: number }>(db.url, 'SELECT version FROM schema_migrations');
    assert.ok(
      rows.some((x) => x.version === 9999),
      'the newer version is still recorded',
    );
    assert.ok(!STACK.test(r.stderr));
  });
});
