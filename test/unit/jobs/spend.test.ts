import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../../../src/config.js';
import { checkCaps, checkPrincipalCap } from '../../../src/jobs/caps.js';
import { Ledger } from '../../../src/jobs/ledger.js';
import { buildReport, estimateCost, startOfDay, todayFor } from '../../../src/jobs/spend.js';
import type { Provider, ResolvedInput } from '../../../src/providers/provider.js';

const provider = (name: Provider['name'], paid = true) =>
  ({
    name,
    displayName: name,
    capabilities: { kinds: ['lip_sync'], formats: {}, paid },
  }) as unknown as Provider;
const audio: ResolvedInput = {
  type: 'file',
  path: '/x.wav',
  filename: 'x.wav',
  mime: 'audio/wav',
  size: 1,
  sha256: 'a',
};

test('Jogg: 1 credit per started 125 s of audio; at least 1 when the length is unknown', async () => {
  const signal = new AbortController().signal;
  const est = async (secs: number | undefined) =>
    (
      await estimateCost(
        provider('jogg'),
        'lip_sync',
        { audio },
        { caps: { perProvider: {} }, confirmPaid: false, audioSeconds: async () => secs },
        signal,
      )
    ).amount;
  assert.equal(await est(10), 1);
  assert.equal(await est(125), 1);
  assert.equal(await est(126), 2);
  assert.equal(await est(400), 4);
  assert.equal(await est(undefined), 1);
  assert.equal(
    (await estimateCost(provider('nemovideo'), 'lip_sync', {}, undefined, signal)).amount,
    undefined,
  );
  assert.equal((await estimateCost(provider('director'), 'generate_video', {}, undefined, signal)).amount, 1);
  assert.equal((await estimateCost(provider('local', false), 'lip_sync', {}, undefined, signal)).amount, 0);
  const render = await estimateCost(provider('nemovideo'), 'render', {}, undefined, signal);
  assert.deepEqual([render.amount, render.unit], [0, 'free'], 'a render export is free');
});

test('caps: a job that would pass the cap is refused; a job of unknown cost is refused at the cap', () => {
  const today = { amount: 4, unknown: 0, paidCreates: 4, allPaidCreates: 4 };
  const jogg = { provider: 'jogg' as const, display_name: 'Jogg', unit: 'credits', basis: '' };
  checkCaps({ perProvider: { jogg: 5 } }, { ...jogg, amount: 1 }, today);
  assert.throws(
    () => checkCaps({ perProvider: { jogg: 5 } }, { ...jogg, amount: 2 }, today),
    /daily cap of 5 credits/,
  );
  const nemo = { provider: 'nemovideo' as const, display_name: 'NemoVideo', unit: 'credits', basis: '' };
  checkCaps({ perProvider: { nemovideo: 5 } }, nemo, today);
  assert.throws(
    () => checkCaps({ perProvider: { nemovideo: 4 } }, nemo, today),
    (e: Error & { code?: string }) => e.code === 'spend_cap',
  );
  assert.throws(
    () => checkCaps({ perProvider: {}, paidCreatesPerDay: 4 }, { ...jogg, amount: 1 }, today),
    /LIPSYNC_CAP_PAID_CREATES_PER_DAY/,
  );
});

test("per-user caps: a user's own spend on the meter, how much is left, the setting to raise; unknown cost at the cap refused", () => {
  const mine = { amount: 4, unknown: 0, paidCreates: 4, allPaidCreates: 4 };
  const jogg = { provider: 'jogg' as const, display_name: 'Jogg', unit: 'credits', basis: '' };
  const caps = { perProvider: {}, perProviderPerPrincipal: { jogg: 5 } };
  checkPrincipalCap(caps, [], { ...jogg, amount: 1 }, mine);
  assert.throws(
    () => checkPrincipalCap(caps, [], { ...jogg, amount: 2 }, mine),
    (e: Error & { code?: string; hint?: string }) => {
      assert.equal(e.code, 'spend_cap');
      assert.match(
        e.message,
        /your daily cap of 5 Jogg credits \(LIPSYNC_CAP_JOGG_CREDITS_PER_USER_PER_DAY\): you spent 4 credits today, 1 left; this job would cost 2 credits/,
      );
      assert.match(e.hint ?? '', /raise LIPSYNC_CAP_JOGG_CREDITS_PER_USER_PER_DAY/);
      return true;
    },
  );
  // The Director's images and audio are their own meter; NemoVideo's unknown cost needs room left.
  const media = {
    provider: 'director' as const,
    display_name: 'The Director',
    unit: 'images and audio',
    amount: 1,
    basis: '',
  };
  const dCaps = { perProvider: {}, perProviderPerPrincipal: { director: 1, director_images_audio: 5 } };
  checkPrincipalCap(dCaps, [], media, mine);
  assert.throws(() => checkPrincipalCap(dCaps, [], { ...media, unit: 'videos' }, mine), /VIDEOS_PER_USER/);
  const nemo = { provider: 'nemovideo' as const, display_name: 'NemoVideo', unit: 'credits', basis: '' };
  const nCaps = { perProvider: {}, perProviderPerPrincipal: { nemovideo: 4 } };
  assert.throws(() => checkPrincipalCap(nCaps, [], nemo, mine), /NEMOVIDEO_CREDITS_PER_USER/);
  // Without a per-user meter cap (or without the user's spend) only the paid-jobs count applies.
  checkPrincipalCap({ perProvider: { jogg: 1 } }, [], { ...jogg, amount: 9 }, mine);
  checkPrincipalCap(caps, [], { ...jogg, amount: 9 });
});

test('settings: caps are off by default, a number when set, refused when not a number; confirm follows the transport default', () => {
  const off = loadConfig({ env: { HOME: '/tmp' } });
  assert.equal(off.spend.capJoggCredits, undefined);
  assert.equal(off.spend.confirmPaid, undefined);
  const on = loadConfig({
    env: { HOME: '/tmp', LIPSYNC_CAP_JOGG_CREDITS_PER_DAY: '12', LIPSYNC_CAP_PAID_CREATES_PER_DAY: ' ' },
  });
  assert.equal(on.spend.capJoggCredits, 12);
  assert.equal(on.spend.capPaidCreates, undefined);
  assert.throws(
    () => loadConfig({ env: { HOME: '/tmp', LIPSYNC_CAP_DIRECTOR_VIDEOS_PER_DAY: 'ten' } }),
    /LIPSYNC_CAP_DIRECTOR_VIDEOS_PER_DAY/,
  );
  assert.equal(
    loadConfig({ env: { HOME: '/tmp' }, defaults: { LIPSYNC_CONFIRM_PAID: 'true' } }).spend.confirmPaid,
    true,
  );
  assert.equal(
    loadConfig({
      env: { HOME: '/tmp', LIPSYNC_CONFIRM_PAID: 'false' },
      defaults: { LIPSYNC_CONFIRM_PAID: 'true' },
    }).spend.confirmPaid,
    false,
  );
});

test('a refused guard leaves no task and no cost; rejected claims do not count; the report adds up per day', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'spend-'));
  const l = new Ledger(join(dir, 'l.sqlite'));
  try {
    const now = Date.UTC(2026, 0, 2, 12);
    const claim = (id: string, check?: () => void) =>
      l.claim(
        {
          id,
          fingerprint: id,
          provider: 'jogg',
          kind: 'lip_sync',
          request: {},
          warnings: [],
          ownerPid: 1,
          ownerHost: 'here',
          leaseUntil: now,
          now,
        },
        {
          force: false,
          isOwnerAlive: () => true,
          guard: check ? { since: 0, check } : undefined,
          cost: { amount: 2, unit: 'credits', paid: true },
        },
      );
    await claim('a');
    await claim('b');
    await assert.rejects(
      () =>
        claim('c', () => {
          throw new Error('cap');
        }),
      /cap/,
    );
    assert.equal(await l.get('c'), undefined);
    await l.update('b', { rejected: true }, now);
    const totals = await l.spend.totalsSince(startOfDay(now));
    assert.deepEqual(todayFor(totals, 'jogg'), { amount: 2, unknown: 0, paidCreates: 1, allPaidCreates: 1 });
    await l.spend.record('a', { amount: 1, source: 'balance' }, now);
    const report = buildReport(await l.spend.list(0), 0);
    assert.deepEqual(
      report.days.map((d) => [d.provider, d.amount, d.tasks]),
      [['jogg', 1, 1]],
    );
    assert.deepEqual(
      report.tasks.map((t) => [t.task_id, t.source]),
      [['a', 'balance']],
    );
  } finally {
    await l.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a cap guard holds across concurrent processes: exactly the cap is claimed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'spend-mp-'));
  const file = join(dir, 'l.sqlite');
  const script = `
    const { Ledger } = await import(${JSON.stringify(new URL('../../../src/jobs/ledger.js', import.meta.url).href)});
    const l = new Ledger(${JSON.stringify(file)});
    let created = 0;
    for (let i = 0; i < 10; i++) {
      const now = Date.now();
      const guard = { since: 0, check: (totals) => {
        const paid = totals.reduce((s, t) => s + t.paidCreates, 0);
        if (paid >= 7) throw new Error('cap');
      } };
      try {
        const d = await l.claim({ id: 'p' + process.pid + '-' + i, fingerprint: 'p' + process.pid + '-' + i, provider: 'jogg', kind: 'lip_sync', request: {}, warnings: [], ownerPid: process.pid, ownerHost: 'here', leaseUntil: now + 60000, now },
          { force: false, isOwnerAlive: () => true, guard, cost: { amount: 1, unit: 'credits', paid: true } });
        if (d.kind === 'created') created++;
      } catch (e) { if (e.message !== 'cap') throw e; }
    }
    await l.close();
    process.stdout.write(String(created));`;
  try {
    const outs = await Promise.all(
      Array.from(
        { length: 4 },
        () =>
          new Promise<number>((resolve, reject) => {
            const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
              stdio: ['ignore', 'pipe', 'inherit'],
            });
            let out = '';
            child.stdout.on('data', (d) => {
              out += d;
            });
            child.on('error', reject);
            child.on('close', (code) =>
              code === 0 ? resolve(Number(out)) : reject(new Error(`exit ${code}`)),
            );
          }),
      ),
    );
    assert.equal(
      outs.reduce((s, n) => s + n, 0),
      7,
      `claims per process: ${outs}`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
