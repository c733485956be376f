/** Tasks created elsewhere are followed by the provider's own id (issue 11 item 2), on every provider that can query by id. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type FakeDirector, startFakeDirector } from '../fakes/director/index.js';
import { harness, structured, testEnv } from '../helpers/app.js';

type View = { task_id: string; status: string; provider_task_id?: string; result_url?: string };

describe('foreign provider ids', () => {
  let fake: FakeDirector;
  before(async () => {
    fake = await startFakeDirector();
  });
  after(async () => {
    await fake.close();
  });

  for (const api of ['agent', 'tool'] as const) {
    test(`The Director: a ${api} task created elsewhere is adopted and followed to its video`, async () => {
      const env = testEnv({ GATEWAY_TOKEN: fake.token, DIRECTOR_GATEWAY_URL: fake.url });
      const h = await harness(env.env);
      try {
        const body =
          api === 'agent'
            ? { api, message: 'a cat surfing at sunset', quality: 'cheap' }
            : { api, tool_type: 'veo3-text-to-video-fast-api', input: { prompt: 'a cat surfing' } };
        const c0 = fake.creates().length;
        const res = await fetch(`${fake.url}?action=create`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${fake.token}` },
          body: JSON.stringify(body),
        });
        const data = ((await res.json()) as { data: { chat_id?: string; task_id?: string } }).data;
        const id = String(data.chat_id ?? data.task_id);
        const first = structured<View>(
          await h.call('get_task_status', { provider: 'director', provider_task_id: id }),
        );
        assert.equal(first.provider_task_id, id);
        let v = first;
        for (let i = 0; i < 20 && v.status !== 'success'; i++)
          v = structured(await h.call('get_task_status', { task_id: first.task_id, wait_seconds: 50 }));
        assert.equal(v.status, 'success');
        assert.ok(v.result_url);
        assert.equal(fake.creates().length - c0, 1, 'the server created nothing itself');
      } finally {
        await h.close();
        env.cleanup();
      }
    });
  }
});
