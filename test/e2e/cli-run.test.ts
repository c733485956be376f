import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type FakeJogg, startFakeJogg } from '../fakes/jogg/index.js';
import { testEnv, writeBytes } from '../helpers/app.js';
import { makePair } from '../helpers/clips.js';
import { runCli } from '../helpers/spawn.js';

describe('lipsync-mcp run (the CLI contract)', () => {
  let fake: FakeJogg;
  before(async () => {
    fake = await startFakeJogg();
  });
  after(async () => {
    await fake.close();
  });

  test('create with --no-poll, the same files again from another path reuse the task, then --task-id --poll finishes', async () => {
    const env = testEnv({ JOGG_API_KEY: fake.apiKey, JOGG_BASE_URL: fake.url, LIPSYNC_LOG_LEVEL: 'info' });
    try {
      const { video, audio } = await makePair(env.work, 101, { video: 'talk.mp4', audio: 'dub_es.wav' });
      const c0 = fake.count('POST', '/v2/create_lip_sync_video');
      const u0 = fake.puts.length;
      const first = await runCli(['run', '--video', video, '--audio', audio, '--no-poll'], env.env);
      assert.equal(first.code, 0, first.stderr);
      const lines = first.stdout.trim().split('\n');
      assert.equal(lines.length, 1, 'exactly one JSON object on stdout');
      const a = JSON.parse(lines[0]!);
      assert.equal(a.action, 'created_new_task');
      assert.equal(a.reused, false);
      assert.ok(['pending', 'processing'].includes(a.status));
      assert.equal(a.completed, false);
      assert.ok(a.provider_task_id);
      assert.match(first.stderr, /uploading/, 'progress on stderr');
      assert.equal(a.next_step.includes(`lipsync-mcp run --task-id ${a.task_id} --poll`), true, a.next_step);
      assert.doesNotMatch(a.next_step, /get_task_status|wait_seconds|create_lip_sync/);

      mkdirSync(join(env.work, 'other'));
      copyFileSync(video, join(env.work, 'other', 'v.mp4'));
      copyFileSync(audio, join(env.work, 'other', 'a.wav'));
      const second = await runCli(
        [
          'run',
          '--video',
          join(env.work, 'other', 'v.mp4'),
          '--audio',
          join(env.work, 'other', 'a.wav'),
          '--no-poll',
        ],
        env.env,
      );
      assert.equal(second.code, 0, second.stderr);
      const b = JSON.parse(second.stdout);
      assert.equal(b.action, 'reused_existing_task');
      assert.equal(b.reused, true);
      assert.equal(b.task_id, a.task_id);
      assert.equal(fake.count('POST', '/v2/create_lip_sync_video') - c0, 1);
      assert.equal(fake.puts.length - u0, 2);

      const polled = await runCli(
        ['run', '--task-id', a.task_id, '--poll', '--poll-interval-seconds', '1'],
        env.env,
      );
      assert.equal(polled.code, 0, polled.stderr);
      const c = JSON.parse(polled.stdout);
      assert.equal(c.action, 'queried_task');
      assert.equal(c.status, 'success');
      assert.equal(c.completed, true);
      assert.match(c.result_url, /^http/);
      assert.equal(typeof c.duration_seconds, 'number');
    } finally {
      env.cleanup();
    }
  });

  test('four concurrent CLI processes with identical inputs make exactly one create', async () => {
    const env = testEnv({ JOGG_API_KEY: fake.apiKey, JOGG_BASE_URL: fake.url, LIPSYNC_LOG_LEVEL: 'warn' });
    try {
      const { video, audio } = await makePair(env.work, 102, { video: 'p.mp4', audio: 'p.wav' });
      const c0 = fake.count('POST', '/v2/create_lip_sync_video');
      fake.faults.delayMs = 30;
      const results = await Promise.all(
        Array.from({ length: 4 }, () =>
          runCli(['run', '--video', video, '--audio', audio, '--no-poll'], env.env),
        ),
      );
      fake.faults.delayMs = 0;
      for (const r of results) assert.equal(r.code, 0, r.stderr);
      const outs = results.map((r) => JSON.parse(r.stdout));
      assert.equal(new Set(outs.map((o) => o.task_id)).size, 1);
      assert.equal(outs.filter((o) => o.reused === false).length, 1);
      assert.equal(fake.count('POST', '/v2/create_lip_sync_video') - c0, 1, 'one create across processes');
    } finally {
      fake.faults.delayMs = 0;
      env.cleanup();
    }
  });

  test('with LIPSYNC_CONFIRM_PAID a paid run is refused (hint names --confirm, nothing sent); --confirm makes one create', async () => {
    const env = testEnv({
      JOGG_API_KEY: fake.apiKey,
      JOGG_BASE_URL: fake.url,
      LIPSYNC_CONFIRM_PAID: 'true',
    });
    try {
      const { video, audio } = await makePair(env.work, 103, { video: 'c.mp4', audio: 'c.wav' });
      const c0 = fake.count('POST', '/v2/create_lip_sync_video');
      const refused = await runCli(['run', '--video', video, '--audio', audio, '--no-poll'], env.env);
      assert.notEqual(refused.code, 0, 'a refused paid run exits non-zero');
      assert.equal(refused.stdout, '');
      const err = lastJson(refused.stderr);
      assert.equal(err.code, 'confirmation_required', refused.stderr);
      assert.match(String(err.hint), /--confirm/, 'the hint names the CLI flag');
      assert.doesNotMatch(String(err.hint), /confirm: true/, 'not the MCP argument');
      assert.equal(fake.count('POST', '/v2/create_lip_sync_video') - c0, 0, 'nothing created');

      const ok = await runCli(['run', '--video', video, '--audio', audio, '--no-poll', '--confirm'], env.env);
      assert.equal(ok.code, 0, ok.stderr);
      const out = JSON.parse(ok.stdout);
      assert.equal(out.action, 'created_new_task');
      assert.equal(fake.count('POST', '/v2/create_lip_sync_video') - c0, 1, 'one create with --confirm');
    } finally {
      env.cleanup();
    }
  });

  test('errors are one JSON object on stderr with a non-zero exit: missing key names JOGG_API_KEY, no request', async () => {
    const env = testEnv({ JOGG_BASE_URL: fake.url, LIPSYNC_DEFAULT_PROVIDER: 'jogg' });
    try {
      const calls0 = fake.calls.length;
      const video = writeBytes(join(env.work, 'm.mp4'), 'mk-video');
      const audio = writeBytes(join(env.work, 'm.wav'), 'mk-audio');
      const r = await runCli(['run', '--video', video, '--audio', audio], env.env);
      assert.equal(r.code, 1);
      assert.equal(r.stdout, '');
      const err = JSON.parse(r.stderr.trim().split('\n').at(-1)!);
      assert.equal(err.missing_key, 'JOGG_API_KEY');
      assert.match(err.hint, /api-pricing/);
      assert.equal(fake.calls.length, calls0);
      const bad = await runCli(
        ['run', '--video', video, '--audio', audio, '--playback-type', 'zigzag'],
        env.env,
      );
      assert.equal(bad.code, 2, 'a bad value is a usage error');
      const badErr = JSON.parse(bad.stderr.trim().split('\n').at(-1)!);
      assert.equal(badErr.flag, '--playback-type');
      assert.match(badErr.error, /normal_reverse/);
    } finally {
      env.cleanup();
    }
  });
});

/** The last stderr line is the JSON failure object; what comes before it is for people. */
function lastJson(stderr: string): Record<string, unknown> {
  return JSON.parse(stderr.trim().split('\n').at(-1)!) as Record<string, unknown>;
}

describe('CLI arguments: every subcommand refuses what it does not know (usage error, exit 2)', () => {
  const env = testEnv({ LIPSYNC_LOG_LEVEL: 'warn' });
  after(() => env.cleanup());

  const cases: { args: string[]; flag: string; usage: RegExp; says?: RegExp }[] = [
    { args: ['run', '--bogus'], flag: '--bogus', usage: /lipsync-mcp run --video/ },
    { args: ['run', '--video'], flag: '--video', usage: /lipsync-mcp run --video/, says: /needs a value/ },
    { args: ['run', 'x'], flag: 'x', usage: /lipsync-mcp run --video/, says: /unexpected argument/i },
    { args: ['credits', '--bogus'], flag: '--bogus', usage: /lipsync-mcp credits/ },
    {
      args: ['run', '--task-id', 't', '--max-wait-seconds', '-5'],
      flag: '--max-wait-seconds',
      usage: /lipsync-mcp run --video/,
    },
    {
      args: ['run', '--task-id', 't', '--max-wait-seconds=-5'],
      flag: '--max-wait-seconds',
      usage: /lipsync-mcp run --video/,
      says: /at least 1/,
    },
    {
      args: ['run', '--task-id', 't', '--poll-interval-seconds', 'abc'],
      flag: '--poll-interval-seconds',
      usage: /lipsync-mcp run --video/,
      says: /"abc"/,
    },
    { args: ['run', '--task-id', 't', '--poll=yes'], flag: '--poll', usage: /lipsync-mcp run --video/ },
    { args: ['doctor', '--bogus'], flag: '--bogus', usage: /lipsync-mcp doctor/ },
    { args: ['demo', '--bogus'], flag: '--bogus', usage: /lipsync-mcp demo/ },
    { args: ['serve', '--bogus'], flag: '--bogus', usage: /lipsync-mcp serve/ },
    { args: ['serve', '--http', '--port', '99999'], flag: '--port', usage: /lipsync-mcp serve/ },
    { args: ['serve', '--port', '8080'], flag: '--port', usage: /lipsync-mcp serve/, says: /--http/ },
  ];

  test('unknown flags, missing or bad values and stray arguments name the flag and show the usage', async () => {
    const results = await Promise.all(cases.map((c) => runCli(c.args, env.env)));
    results.forEach((r, i) => {
      const c = cases[i]!;
      const what = c.args.join(' ');
      assert.equal(r.code, 2, `${what}: exit code\n${r.stderr}`);
      assert.equal(r.stdout, '', `${what}: nothing on stdout (serve must not start)`);
      const err = lastJson(r.stderr);
      assert.equal(err.code, 'invalid_input', `${what}: ${r.stderr}`);
      assert.equal(err.flag, c.flag, `${what}: names the flag`);
      assert.ok(String(err.error).includes(c.flag), `${what}: message names the flag: ${err.error}`);
      assert.doesNotMatch(String(err.error), /internal|JOGG_LIP_SYNC/, what);
      if (c.says) assert.match(String(err.error), c.says, what);
      assert.match(r.stderr, c.usage, `${what}: shows the subcommand's usage`);
      assert.match(String(err.hint), /--help/, what);
    });
  });

  test('--help works on every subcommand: usage on stdout, exit 0, nothing started', async () => {
    const subs = ['run', 'credits', 'doctor', 'demo', 'serve'];
    const results = await Promise.all(subs.map((s) => runCli([s, '--help'], env.env)));
    results.forEach((r, i) => {
      const sub = subs[i]!;
      assert.equal(r.code, 0, `${sub} --help\n${r.stderr}`);
      assert.match(r.stdout, new RegExp(`Usage:\\n  lipsync-mcp ${sub}`), `${sub} --help`);
      assert.doesNotMatch(r.stdout, /jsonrpc/);
    });
    const short = await runCli(['run', '-h'], env.env);
    assert.equal(short.code, 0);
    assert.match(short.stdout, /--max-wait-seconds/);
  });
});
