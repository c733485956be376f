/**
 * The contract's awkward answers, through the product (issue 31 item 2): statuses as strings, statuses
 * nobody documented, a failed task without `error`. Each is a fake switch (test/fakes/<name>/contract.ts).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type FakeDirector, startFakeDirector } from '../fakes/director/index.js';
import { type FakeJogg, startFakeJogg } from '../fakes/jogg/index.js';
import { harness, structured, testEnv, writeBytes } from '../helpers/app.js';
import { statusUntil } from '../helpers/wait.js';

interface View {
  task_id: string;
  status: string;
  result_url?: string;
  error?: { message: string };
}
const terminal = (v: View) => v.status === 'success' || v.status === 'failed';

describe('contract shapes: The Director', () => {
  let fake: FakeDirector;
  before(async () => {
    fake = await startFakeDirector();
  });
  after(() => fake.close());

  const run = async (label: string): Promise<View> => {
    const env = testEnv({ GATEWAY_TOKEN: fake.token, DIRECTOR_GATEWAY_URL: fake.url });
    const h = await harness(env.env);
    try {
      const c = structured<View>(
        await h.call('generate_video', { prompt: `${label}: a lighthouse at dawn` }),
      );
      return await statusUntil<View>(h, c.task_id, terminal);
    } finally {
      await h.close();
      env.cleanup();
    }
  };

  test('statuses as strings ("0", "2", "1") and an undocumented one end in success with the URL', async () => {
    fake.shapes.statusAsString = true;
    fake.shapes.unknownStatus = 7;
    try {
      const v = await run('strings');
      assert.equal(v.status, 'success', JSON.stringify(v));
      assert.match(String(v.result_url), /^https:\/\//);
    } finally {
      fake.shapes.statusAsString = false;
      fake.shapes.unknownStatus = undefined;
    }
  });

  test('a failed task ("-1") without error is failed, with words a person can act on', async () => {
    fake.shapes.statusAsString = true;
    fake.shapes.failWithoutError = true;
    fake.faults.fail = 'status';
    try {
      const v = await run('failed');
      assert.equal(v.status, 'failed', JSON.stringify(v));
      assert.match(String(v.error?.message), /\w/);
    } finally {
      fake.shapes.statusAsString = false;
      fake.shapes.failWithoutError = false;
      fake.faults.fail = 'none';
    }
  });
});

describe('contract shapes: Jogg', () => {
  let fake: FakeJogg;
  before(async () => {
    fake = await startFakeJogg();
  });
  after(() => fake.close());

  const run = async (seed: string): Promise<View> => {
    const env = testEnv({ JOGG_API_KEY: fake.apiKey, JOGG_BASE_URL: fake.url });
    const h = await harness(env.env);
    try {
      const video = writeBytes(join(env.work, 'v.mp4'), `${seed}-v`);
      const audio = writeBytes(join(env.work, 'a.wav'), `${seed}-a`);
      const c = structured<View>(await h.call('create_lip_sync', { video, audio, provider: 'jogg' }));
      return await statusUntil<View>(h, c.task_id, terminal);
    } finally {
      await h.close();
      env.cleanup();
    }
  };

  test('an undocumented status while running, then success', async () => {
    fake.faults.unknownStatus = 'queued_for_gpu';
    try {
      const v = await run('unknown');
      assert.equal(v.status, 'success', JSON.stringify(v));
    } finally {
      fake.faults.unknownStatus = undefined;
    }
  });

  test('a failed task without error is failed, with a message', async () => {
    fake.faults.failTasks = 'ignored';
    fake.faults.failWithoutError = true;
    try {
      const v = await run('failed');
      assert.equal(v.status, 'failed', JSON.stringify(v));
      assert.match(String(v.error?.message), /failed/);
    } finally {
      fake.faults.failTasks = undefined;
      fake.faults.failWithoutError = false;
    }
  });
});
