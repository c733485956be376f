/**
 * A crash between the paid create and the recorded answer (issue 24 item 13): the CLI is SIGKILLed
 * while Jogg holds the answer to a create it accepted. The first re-ask — MCP or CLI, with or without
 * the server's start-up recovery running — answers the real task (Jogg's latest-matching query finds
 * it), as a never-crashed call does, and the fake sees exactly one create.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { type FakeJogg, startFakeJogg } from '../fakes/jogg/index.js';
import { harness, structured, type TestEnv, testEnv } from '../helpers/app.js';
import { makePair } from '../helpers/clips.js';
import { CLI, runCli } from '../helpers/spawn.js';

const CREATE = '/v2/create_lip_sync_video';
type View = { task_id: string; status: string; provider_task_id?: string; action?: string };

describe('re-asking after a crash between the paid create and its record', () => {
  let fake: FakeJogg;
  before(async () => {
    fake = await startFakeJogg();
  });
  after(async () => {
    await fake.close();
  });

  let seed = 700;
  /** Runs `run --no-poll` in a child, SIGKILLs it once Jogg has accepted the create; returns the task. */
  async function crashAfterCreate(env: TestEnv) {
    const { video, audio } = await makePair(env.work, seed++);
    const c0 = fake.count('POST', CREATE);
    fake.faults.holdCreates = 1;
    const child = spawn(
      process.execPath,
      [CLI, 'run', '--video', video, '--audio', audio, '--provider', 'jogg', '--no-poll'],
      { env: env.env, stdio: ['ignore', 'ignore', 'ignore'] },
    );
    const exited = new Promise((r) => child.once('exit', r));
    await fake.seen((c) => c.method === 'POST' && c.path === CREATE && fake.count('POST', CREATE) > c0);
    child.kill('SIGKILL');
    await exited;
    fake.faults.holdCreates = 0;
    const task = [...fake.tasks.values()].at(-1);
    assert.ok(task, 'Jogg has the task');
    return { video, audio, jobId: task.task_id, c0 };
  }

  const envOf = () => testEnv({ JOGG_API_KEY: fake.apiKey, JOGG_BASE_URL: fake.url });

  test('CLI: the re-run answers the real task at once, one create', async () => {
    const env = envOf();
    try {
      const { video, audio, jobId, c0 } = await crashAfterCreate(env);
      const r = await runCli(
        ['run', '--video', video, '--audio', audio, '--provider', 'jogg', '--no-poll'],
        env.env,
      );
      assert.equal(r.code, 0, r.stderr.slice(-800));
      const out = JSON.parse(r.stdout.trim()) as View;
      assert.equal(out.status === 'unknown' ? `unknown: ${r.stdout}` : out.provider_task_id, jobId);
      assert.equal(fake.count('POST', CREATE) - c0, 1, 'exactly one create');
    } finally {
      env.cleanup();
    }
  });

  test('CLI killed during the video upload: the re-run (polling) follows the one paid task to success', async () => {
    const env = envOf();
    try {
      const { video, audio } = await makePair(env.work, seed++);
      const c0 = fake.count('POST', CREATE);
      const u0 = fake.count('PUT', '/signed/');
      const args = ['run', '--video', video, '--audio', audio, '--provider', 'jogg'];
      fake.faults.delayMs = 400;
      const child = spawn(process.execPath, [CLI, ...args, '--no-poll'], {
        env: env.env,
        stdio: ['ignore', 'ignore', 'ignore'],
      });
      const exited = new Promise((r) => child.once('exit', r));
      await fake.seen((c) => c.method === 'PUT' && fake.count('PUT', '/signed/') > u0);
      child.kill('SIGKILL');
      await exited;
      fake.faults.delayMs = 0;
      const r = await runCli(
        [...args, '--poll', '--poll-interval-seconds', '1', '--max-wait-seconds', '600'],
        env.env,
      );
      assert.equal(r.code, 0, r.stderr.slice(-800));
      const out = JSON.parse(r.stdout.trim()) as View;
      assert.equal(out.status, 'success', r.stdout);
      assert.equal(fake.count('POST', CREATE) - c0, 1, 'exactly one create');
    } finally {
      fake.faults.delayMs = 0;
      env.cleanup();
    }
  });

  for (const withRecovery of [false, true]) {
    const how = withRecovery ? ' while the start-up recovery runs' : '';
    test(`MCP create_lip_sync: the first re-ask answers the real task${how}, one create`, async () => {
      const env = envOf();
      try {
        const { video, audio, jobId, c0 } = await crashAfterCreate(env);
        const h = await harness(env.env);
        try {
          if (withRecovery) await h.app.jobs.recover();
          const v = structured<View>(await h.call('create_lip_sync', { video, audio, provider: 'jogg' }));
          assert.equal(v.status === 'unknown' ? `unknown: ${JSON.stringify(v)}` : v.provider_task_id, jobId);
          assert.equal(v.action, 'reused_existing_task');
          assert.equal(fake.count('POST', CREATE) - c0, 1, 'exactly one create');
          // The task found is the one the crashed call paid for: it still counts as paid (caps, reports).
          const listed = structured<{ tasks: { task_id: string; cost?: { source: string } }[] }>(
            await h.call('list_tasks', {}),
          ).tasks.find((t) => t.task_id === v.task_id);
          assert.notEqual(listed?.cost?.source, 'reused', `counted as free: ${JSON.stringify(listed?.cost)}`);
        } finally {
          await h.close();
        }
      } finally {
        env.cleanup();
      }
    });

    test(`MCP get_task_status: the first ask answers the real task${how}, one create`, async () => {
      const env = envOf();
      try {
        const { jobId, c0 } = await crashAfterCreate(env);
        const h = await harness(env.env);
        try {
          const [row] = (await h.app.ledger.page({ limit: 1 })).rows;
          assert.ok(row, 'the claim is in the ledger');
          if (withRecovery) await h.app.jobs.recover();
          const v = structured<View>(await h.call('get_task_status', { task_id: row.id }));
          assert.equal(v.status === 'unknown' ? `unknown: ${JSON.stringify(v)}` : v.provider_task_id, jobId);
          assert.equal(fake.count('POST', CREATE) - c0, 1, 'exactly one create');
        } finally {
          await h.close();
        }
      } finally {
        env.cleanup();
      }
    });
  }
});
