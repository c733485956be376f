/**
 * Two users of one `serve --http` in OAuth mode (issue 29 items 3 and 4): each sees only their own
 * tasks through every tool and resource, each one's cap holds, and a paid result is reused across users
 * only with LIPSYNC_TEAM_REUSE (saying so). Tokens come from a real issuer on loopback. The attacks
 * (oauth-attacks.ts) take a URL and tokens only; test/e2e/oauth-load-balancer.test.ts runs them against
 * three instances behind nginx.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { errorOf, structured } from '../helpers/app.js';
import { makePair } from '../helpers/clips.js';
import { BOTH_SCOPES as BOTH, startIssuer, type TestIssuer, userClient } from '../helpers/oidc.js';
import { type Created, call, connect, crossUserAttacks, modernCrossUserAttacks } from './oauth-attacks.js';
import { type OAuthServed, serveOAuth } from './oauth-helpers.js';

const alice = userClient('alice');
const bob = userClient('bob');

describe('two OAuth users on one server', () => {
  let issuer: TestIssuer;
  let s: OAuthServed;
  let a: Client;
  let b: Client;
  let pairs: { video: string; audio: string }[] = [];
  const tasks = { alice: '', bob: '' };
  before(async () => {
    issuer = await startIssuer({ clients: [alice, bob] });
    s = await serveOAuth(issuer.issuer, { LIPSYNC_CAP_PAID_CREATES_PER_USER_PER_DAY: '2' });
    const url = s.server.url;
    a = await connect(url, await issuer.token(alice, { resource: url, scope: BOTH }));
    b = await connect(url, await issuer.token(bob, { resource: url, scope: BOTH }));
    pairs = [
      await makePair(s.env.work, 2901),
      await makePair(s.env.work, 2902, { video: 'v2.mp4', audio: 'a2.wav' }),
      await makePair(s.env.work, 2904, { video: 'v3.mp4', audio: 'a3.wav' }),
    ];
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await s?.stop();
    await issuer?.close();
  });

  test('identical requests of two users are two tasks; neither reaches the other by any tool or resource', async () => {
    const mine = structured<Created>(await call(a, 'create_lip_sync', { ...pairs[0], provider: 'jogg' }));
    const theirs = structured<Created>(await call(b, 'create_lip_sync', { ...pairs[0], provider: 'jogg' }));
    assert.notEqual(mine.task_id, theirs.task_id, 'no reuse across users (LIPSYNC_TEAM_REUSE is off)');
    tasks.alice = mine.task_id;
    tasks.bob = theirs.task_id;
    assert.equal(theirs.reused, false);
    assert.equal(s.fake.count('POST', '/v2/create_lip_sync_video'), 2, 'each user pays for their own job');

    const bobOnAlice = await crossUserAttacks(b, mine.task_id, theirs.task_id);
    const aliceOnBob = await crossUserAttacks(a, theirs.task_id, mine.task_id);
    process.stderr.write(
      `${JSON.stringify({ attacks: bobOnAlice.tried.length * 2, tried: bobOnAlice.tried, crossReads: bobOnAlice.crossReads + aliceOnBob.crossReads })}\n`,
    );
    assert.equal(bobOnAlice.crossReads + aliceOnBob.crossReads, 0);
  });

  test("a 2026-07-28 client of one user reaches none of the other's tasks either, nor hears them", async () => {
    assert.ok(tasks.alice && tasks.bob, 'the test before made both tasks');
    const url = s.server.url;
    const token = await issuer.token(bob, { resource: url, scope: BOTH });
    const report = await modernCrossUserAttacks(url, token, tasks.alice, tasks.bob);
    assert.equal(report.crossReads, 0, report.tried.join(', '));
  });

  test("each user's daily cap holds on its own", async () => {
    // Each has one paid job from the test before; the cap is 2.
    structured<Created>(await call(a, 'create_lip_sync', { ...pairs[1], provider: 'jogg' }));
    const third = await call(a, 'create_lip_sync', { ...pairs[2], provider: 'jogg' });
    const err = errorOf(third);
    assert.equal(err.code, 'spend_cap');
    assert.match(err.message, /your daily cap of 2 paid jobs \(LIPSYNC_CAP_PAID_CREATES_PER_USER_PER_DAY\)/);
    // Bob's own count is his: his second job passes.
    const bobs = structured<Created>(await call(b, 'create_lip_sync', { ...pairs[1], provider: 'jogg' }));
    assert.equal(bobs.reused, false);
    assert.equal(s.fake.count('POST', '/v2/create_lip_sync_video'), 4);
  });
});

describe("two OAuth users' credit caps: each one's own, and all together", () => {
  let issuer: TestIssuer;
  let s: OAuthServed;
  before(async () => {
    issuer = await startIssuer({ clients: [alice, bob] });
    // Each Jogg job of the fake costs 1 credit (its balance drops by 1 per create).
    s = await serveOAuth(issuer.issuer, {
      LIPSYNC_CAP_JOGG_CREDITS_PER_USER_PER_DAY: '2',
      LIPSYNC_CAP_JOGG_CREDITS_PER_DAY: '3',
    });
  });
  after(async () => {
    await s?.stop();
    await issuer?.close();
  });

  test("a user's Jogg credits stop at their own cap; the other's are their own; the total cap counts everyone", async () => {
    const url = s.server.url;
    const a = await connect(url, await issuer.token(alice, { resource: url, scope: BOTH }));
    const b = await connect(url, await issuer.token(bob, { resource: url, scope: BOTH }));
    try {
      const pairs = await Promise.all(
        [0, 1, 2, 3].map((i) => makePair(s.env.work, 2910 + i, { video: `c${i}.mp4`, audio: `c${i}.wav` })),
      );
      const job = (c: typeof a, i: number) => call(c, 'create_lip_sync', { ...pairs[i], provider: 'jogg' });
      structured<Created>(await job(a, 0));
      structured<Created>(await job(a, 1));
      const third = errorOf(await job(a, 2));
      assert.equal(third.code, 'spend_cap', third.message);
      assert.match(
        third.message,
        /your daily cap of 2 Jogg credits \(LIPSYNC_CAP_JOGG_CREDITS_PER_USER_PER_DAY\): you spent 2 credits today, 0 left; this job would cost 1 credit/,
      );
      assert.match(third.hint ?? '', /raise LIPSYNC_CAP_JOGG_CREDITS_PER_USER_PER_DAY/);
      // A dry run says so beforehand, and lists the user's own caps beside the others.
      const dry = structured<{ warnings: string[]; next_step: string; caps: { setting: string }[] }>(
        await call(a, 'create_lip_sync', { ...pairs[2], provider: 'jogg', dry_run: true }),
      );
      assert.ok(
        dry.warnings.some((w) =>
          /LIPSYNC_CAP_JOGG_CREDITS_PER_USER_PER_DAY\): you spent 2 credits today, 0 left/.test(w),
        ),
        JSON.stringify(dry.warnings),
      );
      assert.match(dry.next_step, /refused by the cap/);
      assert.deepEqual(
        dry.caps.map((c) => c.setting),
        ['LIPSYNC_CAP_JOGG_CREDITS_PER_DAY', 'LIPSYNC_CAP_JOGG_CREDITS_PER_USER_PER_DAY'],
      );
      // Bob's credits are his own: his first job passes. Then the total (3) is reached, for him too.
      structured<Created>(await job(b, 2));
      const total = errorOf(await job(b, 3));
      assert.equal(total.code, 'spend_cap', total.message);
      assert.match(total.message, /Jogg's daily cap of 3 credits \(LIPSYNC_CAP_JOGG_CREDITS_PER_DAY\)/);
      assert.equal(s.fake.count('POST', '/v2/create_lip_sync_video'), 3);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe('two OAuth users with LIPSYNC_TEAM_REUSE on', () => {
  let issuer: TestIssuer;
  let s: OAuthServed;
  before(async () => {
    issuer = await startIssuer({ clients: [alice, bob] });
    s = await serveOAuth(issuer.issuer, { LIPSYNC_TEAM_REUSE: 'true' });
  });
  after(async () => {
    await s?.stop();
    await issuer?.close();
  });

  test("a user's identical request reuses a teammate's paid task, says so, and can follow it", async () => {
    const url = s.server.url;
    const a = await connect(url, await issuer.token(alice, { resource: url, scope: BOTH }));
    const b = await connect(url, await issuer.token(bob, { resource: url, scope: BOTH }));
    try {
      const pair = await makePair(s.env.work, 2903);
      const mine = structured<Created>(await call(a, 'create_lip_sync', { ...pair, provider: 'jogg' }));
      const theirs = structured<Created>(await call(b, 'create_lip_sync', { ...pair, provider: 'jogg' }));
      assert.equal(theirs.task_id, mine.task_id);
      assert.equal(theirs.reused, true);
      assert.ok(
        theirs.warnings.some((w) => /reused from the team/.test(w)),
        JSON.stringify(theirs.warnings),
      );
      assert.equal(s.fake.count('POST', '/v2/create_lip_sync_video'), 1, 'paid once for the team');
      const followed = structured<{ task_id: string }>(
        await call(b, 'get_task_status', { task_id: mine.task_id }),
      );
      assert.equal(followed.task_id, mine.task_id);
      // Lists stay per user.
      const listed = structured<{ tasks: { task_id: string }[] }>(await call(b, 'list_tasks', {}));
      assert.ok(!listed.tasks.some((t) => t.task_id === mine.task_id));
    } finally {
      await a.close();
      await b.close();
    }
  });
});
