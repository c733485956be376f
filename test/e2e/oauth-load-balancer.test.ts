/**
 * Two OAuth users on three instances behind the load balancer (issue 29 item 4): a real issuer
 * (oidc-provider on loopback, tokens from its token endpoint), a real nginx round-robin with no
 * affinity, three `serve --http` instances in OAuth mode on one PostgreSQL ledger, the Jogg fake.
 * - Each user runs a local job and a paid job to the end and downloads them; then each tries every
 *   tool and resource of both protocol eras on the other's tasks (oauth-attacks.ts), the requests
 *   landing on all three instances: every attempt answers as for a task that does not exist, 0 reads.
 * - Each user's daily cap (LIPSYNC_CAP_PAID_CREATES_PER_USER_PER_DAY, checked inside the claim's
 *   transaction) holds with their creates spread over the three instances, at once or one by one,
 *   whichever instance answers; the other user is unaffected.
 * The figures (requests, requests per instance, cross-user reads, creates per job) are printed.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { type FakeJogg, startFakeJogg } from '../fakes/jogg/index.js';
import { errorOf, structured, type TestEnv, testEnv } from '../helpers/app.js';
import { makePair } from '../helpers/clips.js';
import { type Cluster, startCluster } from '../helpers/cluster.js';
import { BOTH_SCOPES, startIssuer, type TestIssuer, userClient } from '../helpers/oidc.js';
import { type PgTestDatabase, pgTestDatabase } from '../helpers/pg.js';
import { nginxSkip, postgresSkip } from '../helpers/system-tools.js';
import {
  type AttackReport,
  type Created,
  call,
  connect,
  crossUserAttacks,
  modernCrossUserAttacks,
} from '../http/oauth-attacks.js';

const CREATE = '/v2/create_lip_sync_video';
const CAP = 2;
const CAP_MESSAGE = new RegExp(
  `your daily cap of ${CAP} paid jobs \\(LIPSYNC_CAP_PAID_CREATES_PER_USER_PER_DAY\\): you created ${CAP} paid job\\(s\\) today`,
);
const skip = nginxSkip || postgresSkip;
const alice = userClient('alice');
const bob = userClient('bob');

/** Every HTTP request the test's clients send (to nginx), counted. */
let requests = 0;
const counted: typeof fetch = (input, init) => {
  requests++;
  return fetch(input, init);
};

interface User {
  name: string;
  token: string;
  client: Client;
  local: string;
  paid: string;
  paidArgs: Record<string, unknown>;
}

async function untilDone(c: Client, taskId: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 40; i++) {
    const s = structured(await call(c, 'get_task_status', { task_id: taskId, wait_seconds: 50 }));
    if (s.status === 'success' || s.status === 'failed') return s;
  }
  throw new Error(`task ${taskId} never finished`);
}

async function runToDownload(c: Client, created: CallToolResult): Promise<string> {
  const id = structured<Created>(created).task_id;
  const done = await untilDone(c, id);
  assert.equal(done.status, 'success', JSON.stringify(done));
  const saved = structured<{ path: string }>(await call(c, 'download_result', { task_id: id }));
  assert.ok(existsSync(saved.path), JSON.stringify(saved));
  return id;
}

describe('two OAuth users on three instances behind nginx, one PostgreSQL', { skip }, () => {
  let db: PgTestDatabase;
  let fake: FakeJogg;
  let issuer: TestIssuer;
  let env: TestEnv;
  let cluster: Cluster;
  const users: User[] = [];
  let seed = 2950;
  const pair = () => {
    const n = seed++;
    return makePair(env.work, n, { video: `v${n}.mp4`, audio: `a${n}.wav` });
  };
  /** The instance (host:port) that answered the requests `send` made, from nginx's access log. */
  const answering = async <T>(send: () => Promise<T>): Promise<{ value: T; by: string[] }> => {
    const before = cluster.lb.answeredBy();
    const value = await send();
    const by = [...cluster.lb.answeredBy()].flatMap(([k, n]) => Array(n - (before.get(k) ?? 0)).fill(k));
    return { value, by };
  };

  before(async () => {
    db = await pgTestDatabase('oauth_lb');
    fake = await startFakeJogg();
    fake.faults.queriesToFinish = 3;
    issuer = await startIssuer({ clients: [alice, bob] });
    env = testEnv({
      JOGG_API_KEY: fake.apiKey,
      JOGG_BASE_URL: fake.url,
      JOGG_LIP_SYNC_DEFAULT_POLL_INTERVAL_SECONDS: '1',
      LIPSYNC_DATABASE_URL: db.url,
      LIPSYNC_OAUTH_ISSUER: issuer.issuer,
      LIPSYNC_CAP_PAID_CREATES_PER_USER_PER_DAY: String(CAP),
      LIPSYNC_CONFIRM_PAID: 'false',
      LIPSYNC_LOG_LEVEL: 'info',
    });
    // The tokens' audience is the balancer's URL: the one resource all three instances are.
    cluster = await startCluster(env.root, (lbUrl) => ({ ...env.env, LIPSYNC_OAUTH_RESOURCE: lbUrl }));
  });

  after(async () => {
    await Promise.all(users.map((u) => u.client.close().catch(() => undefined)));
    await cluster?.stop();
    await issuer?.close();
    await fake?.close();
    await db?.drop();
    env?.cleanup();
  });

  test('each runs a local and a paid job to download; neither reaches the other by any tool or resource, on any instance', async () => {
    const url = cluster.lb.url;
    const shared = await pair(); // both users send the very same paid job: two tasks, two creates
    for (const [name, who] of [
      ['alice', alice],
      ['bob', bob],
    ] as const) {
      const token = await issuer.token(who, { resource: url, scope: BOTH_SCOPES });
      const client = await connect(url, token, counted);
      const localArgs = { ...(await pair()), provider: 'local' };
      const local = await runToDownload(client, await call(client, 'create_lip_sync', localArgs));
      const paidArgs = { ...shared, provider: 'jogg', wait_seconds: 0 };
      const paid = await runToDownload(client, await call(client, 'create_lip_sync', paidArgs));
      users.push({ name, token, client, local, paid, paidArgs });
    }
    const [a, b] = users as [User, User];
    assert.notEqual(a.paid, b.paid, 'no reuse across users (LIPSYNC_TEAM_REUSE is off)');
    assert.equal(fake.count('POST', CREATE), 2, 'each user paid for their own job, once');

    const reports: AttackReport[] = [];
    const { by } = await answering(async () => {
      for (const [me, other] of [
        [a, b],
        [b, a],
      ] as const) {
        for (const victim of [other.local, other.paid]) {
          reports.push(await crossUserAttacks(me.client, victim, me.paid));
          reports.push(await modernCrossUserAttacks(url, me.token, victim, me.paid, counted));
        }
      }
    });
    const perInstance = Object.fromEntries(by.reduce((m, k) => m.set(k, (m.get(k) ?? 0) + 1), new Map()));
    const crossReads = reports.reduce((s, r) => s + r.crossReads, 0);
    console.log(
      JSON.stringify({
        figures: 'issue 29: two OAuth users, nginx round-robin over 3 instances, one PostgreSQL',
        attack_cases: [...new Set(reports.flatMap((r) => r.tried))],
        attacks_tried: reports.reduce((s, r) => s + r.tried.length, 0),
        requests_made_so_far: requests,
        attack_requests_per_instance: perInstance,
        cross_user_reads: crossReads,
        paid_jobs: 2,
        creates_per_job: fake.count('POST', CREATE) / 2,
      }),
    );
    assert.equal(crossReads, 0, 'no cross-user read');
    assert.equal(Object.keys(perInstance).length, 3, `the attacks reached every instance: ${by.join(' ')}`);
  });

  test("each user's cap holds with their creates spread over the instances; the other's is their own", async () => {
    const [a, b] = users as [User, User];
    assert.ok(a && b, 'the test before made both users and their first paid jobs');
    const creates0 = fake.count('POST', CREATE);
    // One paid job each so far; the cap is 2. Three distinct paid jobs of Alice's at once: one passes.
    const args = await Promise.all([0, 1, 2].map(async () => ({ ...(await pair()), provider: 'jogg' })));
    const { value: burst, by: burstBy } = await answering(() =>
      Promise.all(args.map((x) => call(a.client, 'create_lip_sync', x))),
    );
    const passed = burst.filter((r) => !r.isError);
    const outcomes = burst.map((r) => (r.isError ? errorOf(r).code : structured<Created>(r).task_id));
    assert.equal(passed.length, 1, `one of three passes the cap: ${outcomes.join(', ')}`);
    for (const r of burst.filter((x) => x.isError)) {
      assert.equal(errorOf(r).code, 'spend_cap');
      assert.match(errorOf(r).message, CAP_MESSAGE);
    }
    // Then one by one, until each of the three instances has refused one (round-robin: three calls).
    const refusedBy = new Set<string>();
    for (let i = 0; refusedBy.size < 3; i++) {
      assert.ok(i < 9, `every instance refuses (so far: ${[...refusedBy].join(', ')})`);
      const x = { ...(await pair()), provider: 'jogg' };
      const { value: r, by } = await answering(() => call(a.client, 'create_lip_sync', x));
      assert.equal(errorOf(r).code, 'spend_cap', JSON.stringify(r.structuredContent));
      assert.match(errorOf(r).message, CAP_MESSAGE);
      assert.match(errorOf(r).hint ?? '', /raise LIPSYNC_CAP_PAID_CREATES_PER_USER_PER_DAY/);
      for (const k of by) refusedBy.add(k);
    }
    // Her first job asked again is her task (nothing to pay, so the cap does not stand in the way).
    const again = structured<Created>(await call(a.client, 'create_lip_sync', a.paidArgs));
    assert.equal(again.task_id, a.paid);
    // Bob's count is his own: his second job passes, wherever it lands.
    const bobs = await call(b.client, 'create_lip_sync', { ...(await pair()), provider: 'jogg' });
    assert.notEqual(bobs.isError, true, JSON.stringify(bobs.content));
    assert.equal(fake.count('POST', CREATE) - creates0, 2, "one create for Alice's burst, one for Bob");
    console.log(
      JSON.stringify({
        figures: 'issue 29: per-user cap over 3 instances',
        cap: CAP,
        burst_answered_by: burstBy,
        refused_one_by_one_by: [...refusedBy],
        total_requests_made: requests,
        paid_creates_total: fake.count('POST', CREATE),
      }),
    );
  });
});
