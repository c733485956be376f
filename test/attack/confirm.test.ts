/**
 * Attack: confirming a paid job over HTTP, the boundary between the eras. 2026-07-28: input_required
 * with a signed requestState (MRTR, basic/patterns/mrtr.mdx: "MUST treat requestState as
 * attacker-controlled ... MUST reject state that fails verification"; replay across requests SHOULD be
 * rejected). 2025 clients on the stateless fallback (README: "a question from the server has no channel.
 * Those clients get confirmation_required") — even when they declare elicitation.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { type FakeJogg, startFakeJogg } from '../fakes/jogg/index.js';
import { makePair } from '../helpers/clips.js';
import { makeAudio, makeSpeechLike } from '../helpers/media.js';
import { type PgTestDatabase, pgSkip, pgTestDatabase } from '../helpers/pg.js';
import { within } from '../helpers/wait.js';
import { call26, rpcResult, type Served, serve } from './serve.js';

interface InputRequired {
  resultType: string;
  inputRequests?: Record<
    string,
    {
      method: string;
      params: {
        message?: string;
        requestedSchema?: { properties?: Record<string, { type?: string }>; required?: string[] };
      };
    }
  >;
  requestState?: string;
  isError?: boolean;
  content?: Array<{ text?: string }>;
  structuredContent?: { task_id?: string; reused?: boolean; error?: { code: string } };
}

const ELICIT = { elicitation: { form: {} } };
const creates = (j: FakeJogg) => j.count('POST', '/v2/create_lip_sync_video');

/** An accepting answer to each elicitation request: every required boolean true, strings "yes". */
function accept(ir: InputRequired): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, req] of Object.entries(ir.inputRequests ?? {})) {
    const content: Record<string, unknown> = {};
    for (const [name, prop] of Object.entries(req.params.requestedSchema?.properties ?? {}))
      content[name] =
        prop.type === 'boolean' ? true : prop.type === 'number' || prop.type === 'integer' ? 1 : 'yes';
    out[key] = { action: 'accept', content };
  }
  return out;
}

function errorCode(r: InputRequired): string | undefined {
  if (r.structuredContent?.error?.code) return r.structuredContent.error.code;
  try {
    return (JSON.parse(r.content?.[0]?.text ?? '{}') as { error?: { code: string } }).error?.code;
  } catch {
    return undefined;
  }
}

describe('paid-job confirmation over HTTP (2026 requestState; 2025 stateless fallback)', {
  skip: pgSkip,
}, () => {
  let jogg: FakeJogg;
  let db: PgTestDatabase;
  let s: Served;
  let id = 9000;
  const call = (
    args: Record<string, unknown>,
    caps: Record<string, unknown>,
    extra: Record<string, unknown> = {},
  ) =>
    call26(
      s.url,
      id++,
      'tools/call',
      { name: 'create_lip_sync', arguments: args, ...extra },
      { capabilities: caps },
    );

  before(async () => {
    jogg = await startFakeJogg();
    jogg.faults.queriesToFinish = 1_000_000;
    db = await pgTestDatabase('attack_confirm');
    s = await serve({
      LIPSYNC_DATABASE_URL: db.url,
      JOGG_API_KEY: jogg.apiKey,
      JOGG_BASE_URL: jogg.url,
      JOGG_LIP_SYNC_DEFAULT_POLL_INTERVAL_SECONDS: '600',
    });
  });
  after(async () => {
    await s?.stop();
    await db?.drop();
    await jogg?.close();
  });

  test('2026 client without elicitation: confirmation_required, nothing sent to the provider (README)', async () => {
    const { video, audio } = await makePair(s.work, 301);
    const r = rpcResult<InputRequired>(await call({ provider: 'jogg', video, audio }, {}));
    assert.notEqual(r.resultType, 'input_required', 'no elicitation declared: MRTR must not ask for one');
    assert.equal(errorCode(r), 'confirmation_required', JSON.stringify(r).slice(0, 400));
    assert.equal(creates(jogg), 0);
  });

  let pair: { video: string; audio: string };
  let first: InputRequired;

  test('2026 client with elicitation: input_required with an elicitation and a requestState; nothing sent', async () => {
    pair = await makePair(s.work, 302);
    first = rpcResult<InputRequired>(await call({ provider: 'jogg', ...pair }, ELICIT));
    assert.equal(first.resultType, 'input_required', JSON.stringify(first).slice(0, 400));
    const reqs = Object.values(first.inputRequests ?? {});
    assert.ok(
      reqs.length >= 1 && reqs.every((q) => q.method === 'elicitation/create'),
      JSON.stringify(first).slice(0, 400),
    );
    assert.ok(first.requestState, 'a requestState');
    assert.equal(creates(jogg), 0);
  });

  test('a tampered requestState is refused and nothing is sent (MRTR: MUST reject)', async () => {
    assert.ok(first?.requestState);
    const st = first.requestState;
    const i = Math.floor(st.length / 2);
    const flipped = `${st.slice(0, i)}${st[i] === 'A' ? 'B' : 'A'}${st.slice(i + 1)}`;
    for (const requestState of [flipped, `${st}x`, '', 'e30', 'x'.repeat(100_000)]) {
      const a = await call({ provider: 'jogg', ...pair }, ELICIT, {
        inputResponses: accept(first),
        requestState,
      });
      assert.ok(a.status < 500, `${a.status} ${a.text.slice(0, 300)}`);
      const m = a.messages[0] ?? {};
      const r = (m.result ?? {}) as InputRequired;
      assert.ok(
        m.error || r.resultType === 'input_required' || errorCode(r),
        `accepted a forged state: ${a.text.slice(0, 400)}`,
      );
      assert.equal(
        creates(jogg),
        0,
        `a create followed a forged requestState (${requestState.slice(0, 20)}…)`,
      );
    }
  });

  test("a requestState replayed on another job's arguments does not pay for that job unasked (MRTR: replay)", async () => {
    assert.ok(first?.requestState);
    const otherAudio = await makeAudio({
      file: `${s.work}/other.wav`,
      pcm: makeSpeechLike(303, 1.5),
      sampleRate: 16_000,
    });
    const a = await call({ provider: 'jogg', video: pair.video, audio: otherAudio }, ELICIT, {
      inputResponses: accept(first),
      requestState: first.requestState,
    });
    const m = a.messages[0] ?? {};
    const r = (m.result ?? {}) as InputRequired;
    assert.ok(
      m.error || r.resultType === 'input_required' || errorCode(r),
      `paid for another job: ${a.text.slice(0, 400)}`,
    );
    assert.equal(creates(jogg), 0);
  });

  test('inputResponses without the requestState do not count as a confirmation (nothing sent)', async () => {
    assert.ok(first?.requestState);
    const a = await call({ provider: 'jogg', ...pair }, ELICIT, { inputResponses: accept(first) });
    const m = a.messages[0] ?? {};
    const r = (m.result ?? {}) as InputRequired;
    assert.ok(
      m.error || r.resultType === 'input_required' || errorCode(r),
      `created without the signed state: ${a.text.slice(0, 400)}`,
    );
    assert.equal(creates(jogg), 0);
  });

  test('an "accept" whose content says no (every boolean false) creates nothing', async () => {
    assert.ok(first?.requestState);
    const no: Record<string, unknown> = {};
    for (const [key, req] of Object.entries(first.inputRequests ?? {})) {
      const content: Record<string, unknown> = {};
      for (const [name, prop] of Object.entries(req.params.requestedSchema?.properties ?? {}))
        if (prop.type === 'boolean') content[name] = false;
      no[key] = { action: 'accept', content };
    }
    const hasBoolean = Object.values(no).some(
      (v) => Object.keys((v as { content: object }).content).length > 0,
    );
    assert.ok(
      hasBoolean,
      `the question has no yes/no field: ${JSON.stringify(first.inputRequests).slice(0, 300)}`,
    );
    const a = await call({ provider: 'jogg', ...pair }, ELICIT, {
      inputResponses: no,
      requestState: first.requestState,
    });
    assert.ok(a.status < 500, a.text.slice(0, 300));
    assert.equal(creates(jogg), 0, `created on an accept that said no: ${a.text.slice(0, 300)}`);
  });

  test('a decline creates nothing and says declined', async () => {
    assert.ok(first?.requestState);
    const declines = Object.fromEntries(
      Object.keys(first.inputRequests ?? {}).map((k) => [k, { action: 'decline' }]),
    );
    const r = rpcResult<InputRequired>(
      await call({ provider: 'jogg', ...pair }, ELICIT, {
        inputResponses: declines,
        requestState: first.requestState,
      }),
    );
    assert.equal(errorCode(r), 'declined', JSON.stringify(r).slice(0, 400));
    assert.equal(creates(jogg), 0);
  });

  test('the genuine accept creates once; replaying it returns the same task and pays nothing more', async () => {
    assert.ok(first?.requestState);
    const r = rpcResult<InputRequired>(
      await call({ provider: 'jogg', ...pair }, ELICIT, {
        inputResponses: accept(first),
        requestState: first.requestState,
      }),
    );
    assert.notEqual(r.isError, true, JSON.stringify(r).slice(0, 400));
    const taskId = r.structuredContent?.task_id;
    assert.ok(taskId);
    assert.equal(creates(jogg), 1);
    const again = rpcResult<InputRequired>(
      await call({ provider: 'jogg', ...pair }, ELICIT, {
        inputResponses: accept(first),
        requestState: first.requestState,
      }),
    );
    assert.equal(again.structuredContent?.task_id, taskId, JSON.stringify(again).slice(0, 400));
    assert.equal(creates(jogg), 1);
  });

  test('2025 SDK client declaring elicitation on the stateless fallback: confirmation_required, no hang (README)', async () => {
    const { video, audio } = await makePair(s.work, 304);
    const client = new Client(
      { name: 'attack-2025', version: '1.0.0' },
      { capabilities: { elicitation: {} } },
    );
    let asked = 0;
    client.setRequestHandler(ElicitRequestSchema, async () => {
      asked++;
      return { action: 'accept', content: { confirm: true } };
    });
    const transport = new StreamableHTTPClientTransport(new URL(s.url));
    await within(client.connect(transport), '2025 client connects');
    try {
      const before = creates(jogg);
      const r = (await within(
        client.callTool(
          { name: 'create_lip_sync', arguments: { provider: 'jogg', video, audio } },
          undefined,
          { timeout: 55_000 },
        ),
        'the 2025 paid create answers on the stateless fallback',
        70_000,
      )) as unknown as InputRequired;
      assert.equal(
        errorCode(r),
        'confirmation_required',
        `${JSON.stringify(r).slice(0, 400)} (elicitation asked ${asked}×)`,
      );
      assert.equal(creates(jogg), before);
      const ok = (await within(
        client.callTool({
          name: 'create_lip_sync',
          arguments: { provider: 'jogg', video, audio, confirm: true },
        }),
        'the confirmed create answers',
      )) as unknown as InputRequired;
      assert.notEqual(ok.isError, true, JSON.stringify(ok).slice(0, 400));
      assert.equal(creates(jogg), before + 1);
    } finally {
      await client.close();
    }
  });
});
