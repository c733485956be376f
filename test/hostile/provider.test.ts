/**
 * Part (b): broken answers from the fake Jogg. Each scenario must end in a clear result or error, no
 * crash, a ledger that still answers for the task, and no file written outside the output directory.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { type JoggFaults, startFakeJogg } from '../fakes/jogg/index.js';
import { harness } from '../helpers/app.js';
import { makePair } from '../helpers/clips.js';
import { CANARIES, checkResult, filesWithSecrets, hostileEnv, listFiles } from './shared.js';

type Scenario = { name: string; before?: Partial<JoggFaults>; after?: Partial<JoggFaults> };

test('broken provider answers: clear errors, consistent ledger, nothing written outside outputs', async () => {
  const fake = await startFakeJogg({ apiKey: CANARIES.JOGG_API_KEY });
  const env = hostileEnv(fake);
  const home = env.env.LIPSYNC_HOME as string;
  let unhandled = 0;
  const onUnhandled = () => {
    unhandled++;
  };
  process.on('unhandledRejection', onUnhandled);
  const h = await harness(env.env);
  const defaults = { ...fake.faults };
  // Every optional switch named, so a reset really clears what the previous scenario set.
  const reset = () =>
    Object.assign(fake.faults, defaults, {
      truncateJson: false,
      hugeBody: undefined,
      allCode: undefined,
      resultUrl: undefined,
      resultRedirect: undefined,
    });
  const scenarios: Scenario[] = [
    { name: 'HTML page with HTTP 200', before: { htmlOk: true } },
    { name: 'truncated JSON', before: { truncateJson: true } },
    { name: 'multi-megabyte body', before: { hugeBody: 6 * 1024 * 1024 } },
    { name: 'envelope error code on every call', before: { allCode: 10105 } },
    { name: 'wrong field types in the result', after: { wrongTypes: true } },
    {
      name: 'result URL with ../ in its file name',
      after: { resultUrl: `${fake.url}/result/..%2F..%2F..%2Fescape.mp4` },
    },
    {
      name: 'result URL with a literal ../ path',
      after: { resultUrl: `${fake.url}/result/x/../../../../escape.mp4` },
    },
    { name: 'redirect to file://', after: { resultRedirect: 'file:///etc/passwd' } },
    { name: 'redirect to ftp://', after: { resultRedirect: 'ftp://example.invalid/x.mp4' } },
    { name: 'status answers turn to HTML mid-task', after: { htmlOk: true } },
  ];
  const outcomes: Record<string, string> = {};
  try {
    let seed = 900;
    for (const sc of scenarios) {
      reset();
      Object.assign(fake.faults, sc.before ?? {});
      const { video, audio } = await makePair(env.work, seed++, {
        video: `v${seed}.mp4`,
        audio: `a${seed}.wav`,
      });
      const before = listFiles(env.root);
      const steps: string[] = [];
      const created = await h.call('create_lip_sync', { video, audio, provider: 'jogg' });
      const c = checkResult(created, `${sc.name}: create`);
      steps.push(c.error ? `create:${c.error.code}` : 'create:ok');
      const taskId = (created.structuredContent as { task_id?: string } | undefined)?.task_id;
      Object.assign(fake.faults, sc.after ?? {});
      if (taskId) {
        let status = 'pending';
        for (let i = 0; i < 4 && !['success', 'failed'].includes(status); i++) {
          const r = await h.call('get_task_status', { task_id: taskId, wait_seconds: 20 });
          const s = checkResult(r, `${sc.name}: status`);
          status = s.error
            ? `error:${s.error.code}`
            : String((r.structuredContent as { status: string }).status);
        }
        steps.push(`status:${status}`);
        const d = await h.call('download_result', { task_id: taskId });
        const dr = checkResult(d, `${sc.name}: download`);
        const saved = d.structuredContent as { path: string } | undefined;
        steps.push(
          dr.error
            ? `download:${dr.error.code}`
            : `download:ok(${saved?.path.slice(env.outputs.length + 1)})`,
        );
        if (!dr.error) {
          const path = (d.structuredContent as { path: string }).path;
          assert.ok(path.startsWith(`${env.outputs}/`), `${sc.name}: saved inside outputs (${path})`);
          assert.ok(!readFileSync(path, 'utf8').includes('root:'), `${sc.name}: not /etc/passwd`);
        }
        // The ledger still answers for the task, with the faults gone or not.
        reset();
        const again = await h.call('get_task_status', { task_id: taskId });
        checkResult(again, `${sc.name}: status afterwards`);
        const listed = await h.call('list_tasks', {});
        assert.ok(JSON.stringify(listed.structuredContent).includes(taskId), `${sc.name}: task listed`);
      }
      const added = listFiles(env.root).filter((f) => !before.includes(f));
      for (const f of added)
        assert.ok(
          f.startsWith(`${env.outputs}/`) ||
            (f.startsWith(`${home}/`) && !f.slice(home.length + 1).includes('/')),
          `${sc.name}: file written outside the output directory: ${f}`,
        );
      outcomes[sc.name] = steps.join(' ');
    }
    await h.client.ping();
    assert.equal(unhandled, 0, 'no unhandled rejection');
    const logs = h.logs.join('');
    for (const k of Object.values(CANARIES)) assert.ok(!logs.includes(k), 'no secret in the logs');
    assert.deepEqual(filesWithSecrets(home), [], 'no secret in files');
    console.log(`hostile provider: ${scenarios.length} scenarios ${JSON.stringify(outcomes, null, 1)}`);
  } finally {
    process.off('unhandledRejection', onUnhandled);
    await h.close();
    await fake.close();
    env.cleanup();
  }
});
