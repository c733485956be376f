/**
 * Confirming a paid job with a 2026-07-28 client (issue 25 item 3), over stdio against the built bundle
 * with the Jogg fake: the first call answers `input_required` (the estimate as an elicitation, and a
 * signed `requestState`); the answer "yes" with that state runs exactly one create, "no" sends nothing,
 * and a state replayed for other inputs, another provider, a higher cost, after expiry, or tampered with
 * is refused before any request. Once on the wire (raw JSON-RPC, to replay at will), once through the v2
 * client, which fulfils `input_required` with its own elicitation handler.
 */
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { createRequestStateCodec } from '@modelcontextprotocol/server';
import { loadConfig } from '../../src/config.js';
import { type FakeJogg, startFakeJogg } from '../fakes/jogg/index.js';
import { testEnv } from '../helpers/app.js';
import { makePair } from '../helpers/clips.js';
import { Raw } from '../independent/bundle-helpers.js';
import { DirectorFake } from '../independent/fakes/director.js';
import { CANARY } from '../independent/helpers.js';

const BIN = fileURLToPath(new URL('../../bin/lipsync-mcp.js', import.meta.url));
const KEY = 'confirm-key-for-tests-0123456789-abcdefghij';

const envelope = (caps: Record<string, unknown> = { elicitation: {} }) => ({
  _meta: {
    'io.modelcontextprotocol/protocolVersion': '2026-07-28',
    'io.modelcontextprotocol/clientInfo': { name: 'confirm-2026', version: '1' },
    'io.modelcontextprotocol/clientCapabilities': caps,
  },
});

type Res = {
  resultType?: string;
  isError?: boolean;
  content?: { text: string }[];
  inputRequests?: Record<string, { method: string; params: { message: string } }>;
  requestState?: string;
  structuredContent?: { task_id?: string };
};

const errorOf = (r: Res) =>
  (JSON.parse(r.content?.[0]?.text ?? '{}') as { error: { code: string; message: string } }).error;

/** The signed payload, read in clear (the codec signs, it does not encrypt). */
function payloadOf(state: string): Record<string, unknown> {
  const body = state.split('.')[1] ?? '';
  return (JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as { p: Record<string, unknown> }).p;
}

/** The same state with its payload's estimate raised, and the original signature kept. */
function tampered(state: string): string {
  const [v, body = '', mac] = state.split('.');
  const env = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as { p: { amount: number } };
  env.p.amount += 1000;
  return `${v}.${Buffer.from(JSON.stringify(env)).toString('base64url')}.${mac}`;
}

describe('paid jobs confirmed through input_required (2026-07-28 clients)', () => {
  let jogg: FakeJogg;
  before(async () => {
    jogg = await startFakeJogg();
  });
  after(async () => {
    Raw.killAll();
    await jogg.close();
  });
  const creates = () => jogg.count('POST', '/v2/create_lip_sync_video');
  const confirmEnv = () =>
    testEnv({
      LIPSYNC_CONFIRM_PAID: 'true',
      LIPSYNC_CONFIRM_KEY: KEY,
      LIPSYNC_LOG_LEVEL: 'warn',
      JOGG_API_KEY: jogg.apiKey,
      JOGG_BASE_URL: jogg.url,
    });

  test('on the wire: input_required first; replays for other jobs, costs, times or bytes refused; no sends nothing; yes runs one create', async () => {
    const env = confirmEnv();
    const s = new Raw(BIN, env.env);
    try {
      const a = {
        ...(await makePair(env.work, 901, { video: 'v901.mp4', audio: 'a901.wav' })),
        provider: 'jogg',
      };
      const b = {
        ...(await makePair(env.work, 902, { video: 'v902.mp4', audio: 'a902.wav' })),
        provider: 'jogg',
      };
      let id = 0;
      const call = async (args: unknown, extra: Record<string, unknown> = {}) =>
        (
          await s.request(++id, 'tools/call', {
            name: 'create_lip_sync',
            arguments: args,
            ...extra,
            ...envelope(),
          })
        ).result as Res;
      const c0 = creates();

      const first = await call(a);
      assert.equal(first.resultType, 'input_required', JSON.stringify(first));
      const ask = first.inputRequests?.confirm;
      assert.equal(ask?.method, 'elicitation/create');
      assert.match(ask?.params.message ?? '', /^Start a new paid lip sync job on Jogg\? Expected cost: /);
      const state = first.requestState ?? '';
      assert.match(state, /^v1\./);
      assert.equal(creates(), c0, 'asking sent nothing');

      const yes = { confirm: { action: 'accept', content: { confirm: true } } };
      const p = payloadOf(state);
      const codec = createRequestStateCodec<Record<string, unknown>>({ key: KEY });
      const replays: [string, Record<string, unknown>, unknown, RegExp][] = [
        ['other inputs', { inputResponses: yes, requestState: state }, b, /other inputs/],
        ['tampered', { inputResponses: yes, requestState: tampered(state) }, a, /altered/],
        [
          'a force_recreate',
          { inputResponses: yes, requestState: state },
          { ...a, force_recreate: true },
          /other inputs or settings/,
        ],
        [
          'another provider',
          { inputResponses: yes, requestState: await codec.mint({ ...p, provider: 'director' }) },
          a,
          /another provider/,
        ],
        [
          'a higher cost',
          { inputResponses: yes, requestState: await codec.mint({ ...p, amount: (p.amount as number) - 1 }) },
          a,
          /costs more/,
        ],
        [
          'after expiry',
          { inputResponses: yes, requestState: await codec.mint({ ...p, exp: Date.now() - 1000 }) },
          a,
          /expired/,
        ],
      ];
      assert.equal(typeof p.amount, 'number', `the estimate is bound: ${JSON.stringify(p)}`);
      for (const [what, extra, args, why] of replays) {
        const r = await call(args, extra);
        assert.equal(r.isError, true, `${what}: ${JSON.stringify(r)}`);
        const e = errorOf(r);
        assert.equal(e.code, 'confirmation_required', what);
        assert.match(e.message, why, what);
        assert.match(e.message, /Nothing was sent or paid/, what);
      }
      assert.equal(creates(), c0, 'no replay reached the provider');

      const no = await call(a, { inputResponses: { confirm: { action: 'decline' } }, requestState: state });
      assert.equal(errorOf(no).code, 'declined');
      assert.equal(creates(), c0, 'no sends nothing');

      const ok = await call(a, { inputResponses: yes, requestState: state });
      assert.notEqual(ok.isError, true, JSON.stringify(ok));
      assert.ok(ok.structuredContent?.task_id);
      assert.equal(creates(), c0 + 1, 'yes runs exactly one create');

      // A 2026 client without elicitation cannot answer input_required: it confirms with confirm: true.
      const c = {
        ...(await makePair(env.work, 903, { video: 'v903.mp4', audio: 'a903.wav' })),
        provider: 'jogg',
      };
      const plain = (
        await s.request(++id, 'tools/call', { name: 'create_lip_sync', arguments: c, ...envelope({}) })
      ).result as Res;
      assert.equal(errorOf(plain).code, 'confirmation_required');
      assert.equal(creates(), c0 + 1);
    } finally {
      await s.close();
      env.cleanup();
    }
  });

  test('the v2 client answers input_required with its elicitation handler: no creates nothing, yes creates once', async () => {
    const env = confirmEnv();
    const answers: string[] = [];
    let answer: 'accept' | 'decline' = 'decline';
    const client = new Client(
      { name: 'confirm-2026', version: '1' },
      { capabilities: { elicitation: {} }, versionNegotiation: { mode: { pin: '2026-07-28' } } },
    );
    client.setRequestHandler('elicitation/create', async (req) => {
      answers.push(req.params.message);
      return answer === 'accept' ? { action: 'accept', content: { confirm: true } } : { action: 'decline' };
    });
    await client.connect(new StdioClientTransport({ command: process.execPath, args: [BIN], env: env.env }));
    try {
      const a = {
        ...(await makePair(env.work, 911, { video: 'v911.mp4', audio: 'a911.wav' })),
        provider: 'jogg',
      };
      const c0 = creates();
      const no = (await client.callTool({ name: 'create_lip_sync', arguments: a })) as Res;
      assert.equal(errorOf(no).code, 'declined', JSON.stringify(no));
      assert.equal(answers.length, 1);
      assert.match(answers[0] ?? '', /Expected cost/);
      assert.equal(creates(), c0, 'no sends nothing');
      answer = 'accept';
      const yes = (await client.callTool({ name: 'create_lip_sync', arguments: a })) as Res;
      assert.notEqual(yes.isError, true, JSON.stringify(yes));
      assert.equal(answers.length, 2);
      assert.equal(creates(), c0 + 1, 'yes runs exactly one create');
    } finally {
      await client.close();
      env.cleanup();
    }
  });

  test('without LIPSYNC_CONFIRM_KEY a key is generated once in LIPSYNC_HOME (0600); another process on that home honours the answer', async () => {
    const env = confirmEnv();
    delete env.env.LIPSYNC_CONFIRM_KEY;
    const one = new Raw(BIN, env.env);
    const two = new Raw(BIN, env.env);
    try {
      const a = {
        ...(await makePair(env.work, 921, { video: 'v921.mp4', audio: 'a921.wav' })),
        provider: 'jogg',
      };
      const call = async (s: Raw, id: number, extra: Record<string, unknown> = {}) =>
        (
          await s.request(id, 'tools/call', {
            name: 'create_lip_sync',
            arguments: a,
            ...extra,
            ...envelope(),
          })
        ).result as Res;
      const c0 = creates();
      const first = await call(one, 1);
      assert.equal(first.resultType, 'input_required', JSON.stringify(first));
      const file = join(env.env.LIPSYNC_HOME as string, 'confirm.key');
      assert.equal(statSync(file).mode & 0o777, 0o600);
      const ok = await call(two, 2, {
        inputResponses: { confirm: { action: 'accept', content: { confirm: true } } },
        requestState: first.requestState,
      });
      assert.notEqual(ok.isError, true, JSON.stringify(ok));
      assert.equal(creates(), c0 + 1, 'the second process ran the job the first one asked about');
    } finally {
      await Promise.all([one.close(), two.close()]);
      env.cleanup();
    }
  });

  test('LIPSYNC_CONFIRM_KEY is a secret (redacted by value)', () => {
    const config = loadConfig({ env: { HOME: '/tmp', LIPSYNC_CONFIRM_KEY: KEY } });
    assert.ok(config.secrets.includes(KEY));
  });

  test('every paid tool (The Director) asks through input_required and runs exactly one create on yes', async () => {
    const fake = await new DirectorFake(CANARY.gateway).start();
    const env = testEnv({
      LIPSYNC_CONFIRM_PAID: 'true',
      LIPSYNC_CONFIRM_KEY: KEY,
      LIPSYNC_LOG_LEVEL: 'warn',
      LIPSYNC_ALLOW_PRIVATE_URLS: 'true',
      GATEWAY_TOKEN: CANARY.gateway,
      DIRECTOR_GATEWAY_URL: `${fake.url}/gw`,
    });
    const s = new Raw(BIN, env.env);
    const u = (name: string) => `${fake.url}/media/${name}`;
    const paid: [string, Record<string, unknown>][] = [
      ['generate_video', { prompt: 'a red fox running 2026' }],
      ['generate_image', { prompt: 'a blue teapot 2026' }],
      ['generate_audio', { kind: 'speech', text: 'hello there 2026' }],
      ['generate_audio', { kind: 'music', prompt: 'calm piano 2026' }],
      ['transcribe', { audio: u('speech2026.wav') }],
      ['edit_video', { provider: 'director', operation: 'subtitles', video: u('clip2026.mp4') }],
      ['create_lip_sync', { provider: 'director', image: u('face2026.png'), audio: u('voice2026.wav') }],
    ];
    let id = 0;
    const call = async (name: string, args: unknown, extra: Record<string, unknown> = {}) =>
      (await s.request(++id, 'tools/call', { name, arguments: args, ...extra, ...envelope() })).result as Res;
    try {
      for (const [tool, args] of paid) {
        const c0 = fake.creates;
        const first = await call(tool, args);
        assert.equal(first.resultType, 'input_required', `${tool}: ${JSON.stringify(first)}`);
        assert.equal(fake.creates, c0, `${tool} created before the answer`);
        const yes = { confirm: { action: 'accept', content: { confirm: true } } };
        const ok = await call(tool, args, { inputResponses: yes, requestState: first.requestState });
        assert.notEqual(ok.isError, true, `${tool}: ${JSON.stringify(ok)}`);
        assert.equal(fake.creates, c0 + 1, `${tool}: one create on yes`);
      }
    } finally {
      await s.close();
      await fake.close();
      env.cleanup();
    }
  });
});
