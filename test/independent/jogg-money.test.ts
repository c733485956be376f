// Never pay twice, clear errors and no leaks, against an independent Jogg fake, through the built stdio server.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { JoggFake } from './fakes/jogg.js';
import {
  CANARY,
  call,
  errCode,
  type Home,
  joggEnv,
  leaks,
  leaksInTree,
  type Mcp,
  makeHome,
  mediaPair,
  STACK,
  startMcp,
} from './helpers.js';

const CREATE = 'POST /v2/create_lip_sync_video';

describe('jogg over stdio: reuse', () => {
  let fake: JoggFake;
  let h: Home;
  let m: Mcp;
  const outputs: string[] = [];
  const create = async (seed: number, extra: Record<string, unknown> = {}) => {
    const p = mediaPair(h.media, seed);
    const r = await call(m, 'create_lip_sync', {
      video: p.video,
      audio: p.audio,
      provider: 'jogg',
      ...extra,
    });
    outputs.push(r.text);
    return r;
  };

  before(async () => {
    fake = await new JoggFake(CANARY.jogg).start();
    h = makeHome();
    m = await startMcp(joggEnv(h, fake.url));
  });
  after(async () => {
    await m.close();
    await fake.close();
  });

  test('a create answers at once with a task id and one paid create', async () => {
    const before = fake.creates;
    const r = await create(1);
    assert.equal(r.isError, false, r.text);
    assert.match(String(r.data.task_id), /\S/);
    assert.equal(r.data.action, 'created_new_task');
    assert.equal(fake.creates - before, 1);
  });

  test('the same call again reuses the task (no second create, no re-upload)', async () => {
    const a = await create(2);
    const uploads = fake.count('POST', '/v2/upload/asset');
    const creates = fake.creates;
    const b = await create(2);
    assert.equal(b.data.task_id, a.data.task_id);
    assert.equal(b.data.reused, true);
    assert.equal(fake.creates, creates);
    assert.equal(fake.count('POST', '/v2/upload/asset'), uploads, 'no re-upload');
  });

  test('the same content under another path and name is the same job', async () => {
    const a = await create(3);
    mkdirSync(join(h.media, 'copy'), { recursive: true });
    const p = mediaPair(h.media, 3);
    copyFileSync(p.video, join(h.media, 'copy', 'other-name.mp4'));
    copyFileSync(p.audio, join(h.media, 'copy', 'other-name.wav'));
    const creates = fake.creates;
    const b = await call(m, 'create_lip_sync', {
      video: join(h.media, 'copy', 'other-name.mp4'),
      audio: join(h.media, 'copy', 'other-name.wav'),
      provider: 'jogg',
    });
    assert.equal(b.data.task_id, a.data.task_id);
    assert.equal(fake.creates, creates);
  });

  test('ten concurrent identical calls in one server make one create', async () => {
    const creates = fake.creates;
    const p = mediaPair(h.media, 4);
    const args = { video: p.video, audio: p.audio, provider: 'jogg' };
    const rs = await Promise.all(Array.from({ length: 10 }, () => call(m, 'create_lip_sync', args)));
    const ids = new Set(rs.map((r) => r.data.task_id));
    assert.equal(ids.size, 1, JSON.stringify(rs.map((r) => r.text)));
    assert.equal(fake.creates - creates, 1);
  });
});

describe('jogg over stdio: lost answers', () => {
  let fake: JoggFake;
  let h: Home;
  let m: Mcp;
  const outputs: string[] = [];
  const create = async (seed: number, extra: Record<string, unknown> = {}) => {
    const p = mediaPair(h.media, seed);
    const r = await call(m, 'create_lip_sync', {
      video: p.video,
      audio: p.audio,
      provider: 'jogg',
      ...extra,
    });
    outputs.push(r.text);
    return r;
  };

  before(async () => {
    fake = await new JoggFake(CANARY.jogg).start();
    h = makeHome();
    m = await startMcp(joggEnv(h, fake.url));
  });
  after(async () => {
    await m.close();
    await fake.close();
  });

  test('create accepted but answer lost: one create, never resent by a second call', async () => {
    fake.faults.push({ route: CREATE, kind: 'lost' });
    const creates = fake.creates;
    const a = await create(5);
    assert.ok(!a.isError || /unknown|timeout|unavailable/.test(a.text), a.text);
    const b = await create(5);
    const c = await create(5);
    assert.equal(fake.creates - creates, 1, 'paid once');
    if (a.data.task_id) assert.equal(b.data.task_id, a.data.task_id);
    assert.equal(c.data.task_id, b.data.task_id);
  });

  test('create answer truncated after acceptance: one create over three calls', async () => {
    fake.faults.push({ route: CREATE, kind: 'truncated' });
    const creates = fake.creates;
    await create(6);
    await create(6);
    await create(6);
    assert.equal(fake.creates - creates, 1);
  });

  test('create answer is malformed JSON: never a second create request', async () => {
    fake.faults.push({ route: CREATE, kind: 'malformed' });
    const n = fake.count('POST', '/v2/create_lip_sync_video');
    const a = await create(7);
    await create(7);
    assert.ok(!STACK.test(a.text), a.text);
    assert.equal(fake.count('POST', '/v2/create_lip_sync_video') - n, 1, 'the create request left once');
  });

  test('create hangs: the call answers (bounded by the request timeout) and is not resent', async () => {
    fake.faults.push({ route: CREATE, kind: 'hang' });
    const n = fake.count('POST', '/v2/create_lip_sync_video');
    const a = await call(m, 'create_lip_sync', { ...pair(8), provider: 'jogg' }, 55_000);
    assert.ok(a.text.length > 0);
    const b = await create(8);
    assert.ok(b.text.length > 0);
    assert.equal(fake.count('POST', '/v2/create_lip_sync_video') - n, 1);
  });

  function pair(seed: number) {
    return mediaPair(h.media, seed);
  }
});

describe('jogg over stdio: transport faults', () => {
  let fake: JoggFake;
  let h: Home;
  let m: Mcp;
  const outputs: string[] = [];
  const create = async (seed: number, extra: Record<string, unknown> = {}) => {
    const p = mediaPair(h.media, seed);
    const r = await call(m, 'create_lip_sync', {
      video: p.video,
      audio: p.audio,
      provider: 'jogg',
      ...extra,
    });
    outputs.push(r.text);
    return r;
  };

  before(async () => {
    fake = await new JoggFake(CANARY.jogg).start();
    h = makeHome();
    m = await startMcp(joggEnv(h, fake.url));
  });
  after(async () => {
    await m.close();
    await fake.close();
  });

  test('connection reset on create: at most one paid job across retries', async () => {
    fake.faults.push({ route: CREATE, kind: 'reset' });
    const creates = fake.creates;
    const a = await create(9);
    await create(9);
    await create(9);
    assert.ok(fake.creates - creates <= 1);
    assert.ok(!STACK.test(a.text));
  });

  test('HTTP 500 on create: at most one paid job across retries, clear error', async () => {
    fake.faults.push({ route: CREATE, kind: 'status500' });
    const creates = fake.creates;
    const a = await create(10);
    await create(10);
    assert.ok(fake.creates - creates <= 1);
    assert.ok(!STACK.test(a.text), a.text);
  });

  test('HTML 502 from a proxy on create: clear error, no HTML soup, no stack', async () => {
    fake.faults.push({ route: CREATE, kind: 'html502' });
    const a = await create(11);
    assert.ok(!STACK.test(a.text), a.text);
    assert.ok(!/<html>/i.test(a.text), a.text);
  });

  test('429 with Retry-After on create: rate_limited (or retried), then exactly one job', async () => {
    fake.faults.push({ route: CREATE, kind: 'status429', retryAfter: 1 });
    const creates = fake.creates;
    const a = await create(12);
    if (a.isError) assert.equal(errCode(a), 'rate_limited', a.text);
    const b = await create(12);
    assert.equal(b.isError, false, b.text);
    assert.equal(fake.creates - creates, 1);
  });

  test('envelope 18020 on HTTP 200: insufficient_credits, nothing started', async () => {
    fake.createCode = { code: 18020, msg: 'insufficient credit' };
    try {
      const a = await create(13);
      assert.equal(a.isError, true, a.text);
      assert.equal(errCode(a), 'insufficient_credits', a.text);
    } finally {
      fake.createCode = undefined;
    }
  });
});

describe('jogg over stdio: envelope codes and provider reuse', () => {
  let fake: JoggFake;
  let h: Home;
  let m: Mcp;
  const outputs: string[] = [];
  const create = async (seed: number, extra: Record<string, unknown> = {}) => {
    const p = mediaPair(h.media, seed);
    const r = await call(m, 'create_lip_sync', {
      video: p.video,
      audio: p.audio,
      provider: 'jogg',
      ...extra,
    });
    outputs.push(r.text);
    return r;
  };

  before(async () => {
    fake = await new JoggFake(CANARY.jogg).start();
    h = makeHome();
    m = await startMcp(joggEnv(h, fake.url));
  });
  after(async () => {
    await m.close();
    await fake.close();
  });

  test('envelope 18025 on HTTP 200: plan_required or auth, with the API plan link', async () => {
    fake.createCode = { code: 18025, msg: 'no API permission' };
    try {
      const a = await create(14);
      assert.ok(['plan_required', 'auth'].includes(String(errCode(a))), a.text);
      assert.match(a.text, /jogg\.ai\/api-pricing/);
    } finally {
      fake.createCode = undefined;
    }
  });

  test('envelope 40000 on HTTP 200: invalid_input with the provider message', async () => {
    fake.createCode = { code: 40000, msg: 'parameter error: playback_type' };
    try {
      const a = await create(15);
      assert.equal(a.isError, true);
      assert.equal(errCode(a), 'invalid_input', a.text);
    } finally {
      fake.createCode = undefined;
    }
  });

  test('after a refused create (18020) the same call can create once credits exist', async () => {
    fake.createCode = { code: 18020, msg: 'insufficient credit' };
    await create(16);
    fake.createCode = undefined;
    const creates = fake.creates;
    const b = await create(16);
    assert.equal(b.isError, false, b.text);
    assert.equal(fake.creates - creates, 1);
  });

  test('latest-matching query finds an existing provider task for URL inputs: reused, no create', async () => {
    // URL inputs on a public-looking host; Jogg is asked by exact URL strings.
    const v = 'https://media.example.com/talk.mp4';
    const au = 'https://media.example.com/dub.wav';
    fake.seedTask({ video_url: v, audio_url: au, status: 'processing' });
    const creates = fake.creates;
    const r = await call(m, 'create_lip_sync', { video: v, audio: au, provider: 'jogg' });
    outputs.push(r.text);
    assert.equal(r.isError, false, r.text);
    assert.equal(r.data.reused, true, r.text);
    assert.equal(fake.creates, creates);
  });
});

describe('jogg over stdio: status and download', () => {
  let fake: JoggFake;
  let h: Home;
  let m: Mcp;
  const outputs: string[] = [];
  const create = async (seed: number, extra: Record<string, unknown> = {}) => {
    const p = mediaPair(h.media, seed);
    const r = await call(m, 'create_lip_sync', {
      video: p.video,
      audio: p.audio,
      provider: 'jogg',
      ...extra,
    });
    outputs.push(r.text);
    return r;
  };

  before(async () => {
    fake = await new JoggFake(CANARY.jogg).start();
    h = makeHome();
    m = await startMcp(joggEnv(h, fake.url));
  });
  after(async () => {
    await m.close();
    await fake.close();
  });

  test('a failed provider task is returned as is, and force_recreate pays once more', async () => {
    const v = 'https://media.example.com/failed.mp4';
    const au = 'https://media.example.com/failed.wav';
    fake.seedTask({ video_url: v, audio_url: au, status: 'failed' });
    const creates = fake.creates;
    const r = await call(m, 'create_lip_sync', { video: v, audio: au, provider: 'jogg' });
    assert.equal(r.data.status, 'failed', r.text);
    assert.equal(fake.creates, creates);
    const f = await call(m, 'create_lip_sync', {
      video: v,
      audio: au,
      provider: 'jogg',
      force_recreate: true,
    });
    assert.equal(f.isError, false, f.text);
    assert.equal(fake.creates - creates, 1);
  });

  test('status reaches success with the result nested under data.data', async () => {
    fake.finishAfter = 1;
    const a = await create(17);
    let s = a;
    for (let i = 0; i < 6 && s.data.status !== 'success'; i++) {
      s = await call(m, 'get_task_status', { task_id: a.data.task_id, wait_seconds: 0 });
      outputs.push(s.text);
    }
    assert.equal(s.data.status, 'success', s.text);
    assert.match(String(s.data.result_url), /\/results\/.+\.mp4$/);
  });

  test('download_result saves the video inside the output folder, and a hostile filename stays inside', async () => {
    fake.finishAfter = 1;
    const a = await create(18);
    for (let i = 0; i < 6; i++)
      await call(m, 'get_task_status', { task_id: a.data.task_id, wait_seconds: 0 });
    const d = await call(m, 'download_result', {
      task_id: a.data.task_id,
      filename: '../../../../tmp/evil.mp4',
    });
    outputs.push(d.text);
    if (!d.isError) {
      const p = String(d.data.path ?? d.data.file ?? '');
      assert.ok(p.startsWith(join(h.env.LIPSYNC_HOME!, 'outputs')), `escaped: ${d.text}`);
    } else assert.equal(errCode(d), 'invalid_input', d.text);
    const ok = await call(m, 'download_result', { task_id: a.data.task_id });
    assert.equal(ok.isError, false, ok.text);
  });

  test('download_result of an unfinished task is a clear error, not a stack', async () => {
    fake.finishAfter = 100;
    try {
      const a = await create(19);
      const d = await call(m, 'download_result', { task_id: a.data.task_id });
      assert.equal(d.isError, true, d.text);
      assert.ok(!STACK.test(d.text));
    } finally {
      fake.finishAfter = 2;
    }
  });
});

describe('jogg over stdio: hangs, auth and leaks', () => {
  let fake: JoggFake;
  let h: Home;
  let m: Mcp;
  const outputs: string[] = [];
  const create = async (seed: number, extra: Record<string, unknown> = {}) => {
    const p = mediaPair(h.media, seed);
    const r = await call(m, 'create_lip_sync', {
      video: p.video,
      audio: p.audio,
      provider: 'jogg',
      ...extra,
    });
    outputs.push(r.text);
    return r;
  };

  before(async () => {
    fake = await new JoggFake(CANARY.jogg).start();
    h = makeHome();
    m = await startMcp(joggEnv(h, fake.url));
  });
  after(async () => {
    await m.close();
    await fake.close();
  });

  test('an unknown task id is not_found', async () => {
    const r = await call(m, 'get_task_status', { task_id: 'ls_doesnotexist000' });
    assert.equal(errCode(r), 'not_found', r.text);
  });

  test('status query hangs: get_task_status with a wait still answers before the client limit', async () => {
    const a = await create(20);
    fake.faults.push({ route: 'GET /v2/lip_sync_video/', kind: 'hang', times: 50 });
    try {
      const r = await call(m, 'get_task_status', { task_id: a.data.task_id, wait_seconds: 8 }, 56_000);
      assert.ok(r.text.length > 0);
    } finally {
      fake.faults.length = 0;
    }
  });

  test('provider echoes the key in an auth error: the key never reaches the user', async () => {
    const saved = fake.expectKey;
    fake.expectKey = 'another-key';
    try {
      const r = await create(21);
      outputs.push(r.text);
      assert.equal(errCode(r), 'auth', r.text);
      assert.deepEqual(leaks(r.text), []);
    } finally {
      fake.expectKey = saved;
    }
  });

  test('check_credits reads the balance and never posts', async () => {
    const posts = fake.log.filter((s) => s.method === 'POST').length;
    const r = await call(m, 'check_credits', { provider: 'jogg' });
    outputs.push(r.text);
    assert.equal(r.isError, false, r.text);
    assert.match(r.text, /42/);
    assert.equal(fake.log.filter((s) => s.method === 'POST').length, posts);
  });

  test('every request to Jogg carried the key header and the platform header; the signed URL got no key', () => {
    for (const s of fake.log) {
      if (s.path.startsWith('/signed/'))
        assert.equal(s.headers['x-api-key'], undefined, 'key sent to signed URL');
      else if (s.path.startsWith('/v2/') && fake.expectKey === CANARY.jogg) assert.ok(s.headers['x-api-key']);
    }
  });

  test('no planted secret in any tool output, stderr log or ledger file', async () => {
    await call(m, 'list_tasks', {}).then((r) => outputs.push(r.text));
    assert.deepEqual(leaks(outputs.join('\n')), []);
    assert.deepEqual(leaks(m.stderr()), []);
    assert.deepEqual(leaksInTree(h.root), []);
  });
});
