// The Director and NemoVideo against independent fakes: odd statuses, _corrected_api, no-id creates,
// daily limits, SSE with no done event or dropped mid-stream, anonymous tokens.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DirectorFake } from './fakes/director.js';
import { NemoFake } from './fakes/nemo.js';
import {
  CANARY,
  call,
  errCode,
  type Home,
  leaks,
  leaksInTree,
  type Mcp,
  makeHome,
  mediaPair,
  STACK,
  startMcp,
} from './helpers.js';

describe('The Director over stdio', { timeout: 170_000 }, () => {
  let fake: DirectorFake;
  let h: Home;
  let m: Mcp;
  const texts: string[] = [];
  let n = 0;
  const gen = async (extra: Record<string, unknown> = {}) => {
    n++;
    const r = await call(m, 'generate_video', { prompt: `a cat surfing, take ${n}`, ...extra });
    texts.push(r.text);
    return r;
  };
  const follow = async (id: unknown) => {
    let s = await call(m, 'get_task_status', { task_id: id, wait_seconds: 0 });
    for (let i = 0; i < 5 && !['success', 'failed'].includes(String(s.data.status)); i++) {
      s = await call(m, 'get_task_status', { task_id: id, wait_seconds: 0 });
    }
    texts.push(s.text);
    return s;
  };

  before(async () => {
    fake = await new DirectorFake(CANARY.gateway).start();
    fake.finishAfter = 1;
    h = makeHome();
    m = await startMcp({ ...h.env, GATEWAY_TOKEN: CANARY.gateway, DIRECTOR_GATEWAY_URL: `${fake.url}/gw` });
  });
  after(async () => {
    await m.close();
    await fake.close();
  });

  test('agent create answers at once with a task id; the same prompt again is reused', async () => {
    const a = await gen({ prompt: 'same prompt twice' });
    assert.equal(a.isError, false, a.text);
    const c = fake.creates;
    const b = await call(m, 'generate_video', { prompt: 'same prompt twice' });
    assert.equal(b.data.task_id, a.data.task_id);
    assert.equal(fake.creates, c);
  });

  test('numeric status 1 with video_url: success with the URL', async () => {
    const a = await gen();
    const s = await follow(a.data.task_id);
    assert.equal(s.data.status, 'success', s.text);
    assert.match(String(s.data.result_url), /\/media\//);
  });

  test('string statuses ("0", "2", "1") are understood', async () => {
    fake.stringStatus = true;
    try {
      const a = await gen();
      const s = await follow(a.data.task_id);
      assert.equal(s.data.status, 'success', s.text);
    } finally {
      fake.stringStatus = false;
    }
  });

  for (const place of ['output_urls', 'output', 'tool_results'] as const) {
    test(`the video URL found in ${place}`, async () => {
      fake.urlPlace = place;
      try {
        const a = await gen();
        const s = await follow(a.data.task_id);
        assert.equal(s.data.status, 'success', s.text);
        assert.match(String(s.data.result_url), /\/media\//, s.text);
      } finally {
        fake.urlPlace = 'video_url';
      }
    });
  }

  test('_corrected_api: tool — later queries use api "tool"', async () => {
    fake.correctToTool = true;
    try {
      const a = await gen();
      const from = fake.queriesByApi.length;
      const s = await follow(a.data.task_id);
      assert.equal(s.data.status, 'success', s.text);
      assert.ok(
        fake.queriesByApi.slice(from).every((x) => x === 'tool'),
        fake.queriesByApi.join(','),
      );
    } finally {
      fake.correctToTool = false;
    }
  });

  test('status -1: failed with the provider message', async () => {
    fake.failWith = 'content policy: rejected';
    try {
      const a = await gen();
      const s = await follow(a.data.task_id);
      assert.equal(s.data.status, 'failed', s.text);
      assert.match(s.text, /content policy/);
    } finally {
      fake.failWith = undefined;
    }
  });

  test('success: false on a query is a failure, never a success without a URL', async () => {
    fake.successFalse = true;
    try {
      const a = await gen();
      const s = await follow(a.data.task_id);
      assert.notEqual(s.data.status, 'success', s.text);
    } finally {
      fake.successFalse = false;
    }
  });

  test('a create answer with no id is a failure and nothing is polled', async () => {
    fake.noIdOnCreate = true;
    try {
      const q = fake.queriesByApi.length;
      // The product may retry a create that made no task (providers.md allows it); it must answer
      // before the client limit, never poll an id it does not have, and never report success.
      const a = await call(m, 'generate_video', { prompt: 'no id answer' }, 56_000);
      texts.push(a.text);
      assert.notEqual(a.data.status, 'success', a.text);
      assert.equal(fake.queriesByApi.length, q, `queried: ${fake.queriedIds.slice(q).join(', ')}`);
      assert.ok(!STACK.test(a.text));
    } finally {
      fake.noIdOnCreate = false;
    }
  });

  test('429 video_limit_reached: daily_limit, not retried', async () => {
    fake.dailyLimit = true;
    try {
      const before = fake.count('POST', '/gw');
      const a = await gen({ model: 'veo3' });
      assert.equal(errCode(a), 'daily_limit', a.text);
      assert.equal(fake.count('POST', '/gw') - before, 1, 'the create was retried');
    } finally {
      fake.dailyLimit = false;
    }
  });

  test('the create answer is lost: not resent by the next identical call', async () => {
    fake.faults.push({ route: 'POST /gw', kind: 'lost' });
    const c = fake.creates;
    await gen({ prompt: 'lost director answer' });
    await call(m, 'generate_video', { prompt: 'lost director answer' });
    assert.equal(fake.creates - c, 1);
  });

  test('a 503 on create with no model named: answers before the client limit, at most three models tried', async () => {
    fake.faults.push({ route: 'POST /gw', kind: 'status503', times: 5 });
    const before = fake.count('POST', '/gw');
    const a = await call(m, 'generate_video', { prompt: 'capacity' }, 56_000);
    texts.push(a.text);
    fake.faults.length = 0;
    assert.ok(fake.count('POST', '/gw') - before <= 3 * 3, 'too many creates');
    assert.ok(!STACK.test(a.text), a.text);
  });

  test('user-facing text never names the underlying vendor', () => {
    assert.ok(!/sjinn/i.test(texts.join('\n')), texts.filter((t) => /sjinn/i.test(t)).join('\n'));
  });

  test('no gateway token: generate_video says video generation is not configured, no network', async () => {
    const h2 = makeHome();
    const m2 = await startMcp({ ...h2.env, DIRECTOR_GATEWAY_URL: `${fake.url}/gw` });
    try {
      const before = fake.log.length;
      const r = await call(m2, 'generate_video', { prompt: 'x' });
      assert.equal(errCode(r), 'missing_credentials', r.text);
      assert.match(r.text, /isn't configured|not configured/i);
      assert.ok(!/sjinn/i.test(r.text), r.text);
      assert.equal(fake.log.length, before);
    } finally {
      await m2.close();
    }
  });

  test('the gateway token is read from ~/.openclaw/.env and never leaks', async () => {
    const h3 = makeHome();
    const { mkdirSync, writeFileSync } = await import('node:fs');
    mkdirSync(join(h3.home, '.openclaw'), { recursive: true });
    writeFileSync(join(h3.home, '.openclaw', '.env'), `GATEWAY_TOKEN=${CANARY.gateway}\n`);
    const m3 = await startMcp({ ...h3.env, DIRECTOR_GATEWAY_URL: `${fake.url}/gw` });
    try {
      const r = await call(m3, 'generate_video', { prompt: 'from dotenv' });
      assert.equal(r.isError, false, r.text);
      assert.deepEqual(leaks(r.text + m3.stderr()), []);
      assert.deepEqual(leaksInTree(join(h3.env.LIPSYNC_HOME!)), []);
    } finally {
      await m3.close();
    }
  });

  test('no planted secret in outputs, logs or the ledger', () => {
    assert.deepEqual(leaks(texts.join('\n') + m.stderr()), []);
    assert.deepEqual(leaksInTree(h.env.LIPSYNC_HOME!), []);
  });
});

describe('NemoVideo over stdio', { timeout: 120_000 }, () => {
  let fake: NemoFake;
  let h: Home;
  let m: Mcp;
  const texts: string[] = [];
  before(async () => {
    fake = await new NemoFake().start();
    h = makeHome();
    m = await startMcp({ ...h.env, NEMO_BASE_URL: fake.url, LIPSYNC_REQUEST_TIMEOUT_SECONDS: '3' });
  });
  after(async () => {
    await m.close();
    await fake.close();
  });

  let seed = 700;
  const edit = async (instruction: string, extra: Record<string, unknown> = {}) => {
    const video = mediaPair(h.media, seed++).video;
    const r = await call(m, 'edit_video', { instruction, video, ...extra }, 56_000);
    texts.push(r.text);
    return r;
  };

  test('edit_video gets an anonymous token with an X-Client-Id and answers; the stream had no done event', async () => {
    const r = await edit('add background music');
    assert.equal(r.isError, false, r.text);
    const anon = fake.log.find((s) => s.path === '/api/auth/anonymous-token');
    assert.ok(anon?.headers['x-client-id'], 'no X-Client-Id');
    assert.equal(fake.chats, 1);
  });

  test('attribution headers are sent on every call', () => {
    for (const s of fake.log.filter((x) => x.path.startsWith('/api/') || x.path === '/run_sse')) {
      assert.ok(
        s.headers['x-skill-source'] && s.headers['x-skill-version'] && s.headers['x-skill-platform'],
        s.path,
      );
    }
  });

  test('the token cache is mode 0600', () => {
    const files: string[] = [];
    const walk = (d: string) => {
      for (const n of readdirSync(d)) {
        const p = join(d, n);
        if (statSync(p).isDirectory()) walk(p);
        else files.push(p);
      }
    };
    walk(h.env.LIPSYNC_HOME!);
    const tokenFiles = files.filter((f) => readFileSync(f).toString('latin1').includes('nemo_anon_'));
    assert.ok(tokenFiles.length > 0, 'token not cached');
    for (const f of tokenFiles.filter((x) => !/\.(db|sqlite|db-wal|db-shm)$/.test(x))) {
      assert.equal(statSync(f).mode & 0o077, 0, `${f} is readable by others`);
    }
  });

  test('the anonymous token is reused by a second server (one token per client)', async () => {
    const m2 = await startMcp({ ...h.env, NEMO_BASE_URL: fake.url });
    try {
      const before = fake.anonTokens;
      await call(m2, 'check_credits', { provider: 'nemovideo' });
      assert.equal(fake.anonTokens, before);
    } finally {
      await m2.close();
    }
  });

  test('an SSE stream dropped mid-message is never resent', async () => {
    fake.faults.push({ route: 'POST /run_sse', kind: 'sseDrop' });
    const c = fake.chats;
    const r = await edit('trim the first 2 seconds');
    assert.ok(!STACK.test(r.text), r.text);
    await edit('trim the first 2 seconds');
    assert.equal(fake.chats - c, 1, 'the message was sent twice');
  });

  test('an SSE stream that only sends heartbeats: the tool answers before the client limit and does not resend', async () => {
    fake.sseHang = true;
    const c = fake.chats;
    try {
      const r = await edit('add subtitles');
      assert.ok(r.text.length > 0);
      const r2 = await edit('add subtitles');
      assert.ok(r2.text.length > 0);
      assert.equal(fake.chats - c, 1);
    } finally {
      fake.sseHang = false;
    }
  });

  test('an edit with no text events still answers (state read instead)', async () => {
    fake.sseSilent = true;
    try {
      const r = await edit('make it brighter');
      assert.equal(r.isError, false, r.text);
    } finally {
      fake.sseSilent = false;
    }
  });

  test('export_render renders the session and finds the URL in data.outputUrl', async () => {
    fake.urlInOutput = false;
    fake.renderAfter = 1;
    const e = await edit('add a title card');
    const st = await call(m, 'get_task_status', { task_id: e.data.task_id, wait_seconds: 0 });
    const sid = e.data.session_id ?? st.data.session_id ?? [...fake.sessions].pop();
    assert.ok(sid, e.text);
    const r = await call(m, 'export_render', { session_id: sid, wait_seconds: 0 });
    texts.push(r.text);
    assert.equal(r.isError, false, r.text);
    let s = r;
    for (let i = 0; i < 5 && s.data.status !== 'success'; i++) {
      s = await call(m, 'get_task_status', { task_id: r.data.task_id, wait_seconds: 0 });
    }
    assert.equal(s.data.status, 'success', s.text);
    assert.match(String(s.data.result_url), /render_/);
  });

  test('an expired token (1001) is renewed once, transparently', async () => {
    fake.expireOnce = true;
    const r = await call(m, 'check_credits', { provider: 'nemovideo' });
    texts.push(r.text);
    assert.match(r.text, /100/, r.text);
  });

  test('create_lip_sync via nemovideo does not send the chat twice under a lost answer', async () => {
    const p = mediaPair(h.media, 601);
    fake.faults.push({ route: 'POST /run_sse', kind: 'reset' });
    const c = fake.chats;
    const a = await call(m, 'create_lip_sync', { ...p, provider: 'nemovideo' }, 56_000);
    await call(m, 'create_lip_sync', { ...p, provider: 'nemovideo' }, 56_000);
    texts.push(a.text);
    assert.ok(fake.chats - c <= 1);
  });

  test('no NEMO token or canary leaks in outputs or logs', () => {
    assert.deepEqual(leaks(texts.join('\n') + m.stderr()), []);
    assert.ok(!/nemo_anon_/.test(texts.join('\n')), 'anonymous token shown to the user');
  });
});
