/**
 * Where spend control meets a create: the dry run, the gate before a paid claim (estimate, the user's
 * confirmation, caps checked inside the claim transaction), and the read side (list costs, reports,
 * today's spend).
 */

import { AppError } from '../errors.js';
import type {
  InputRole,
  JsonObject,
  Provider,
  ResolvedInput,
  TaskKind,
  TaskStatus,
} from '../providers/provider.js';
import { deadline } from '../util/deadline.js';
import { checkCaps, checkPrincipalCap, hasPrincipalCaps, PRINCIPAL_CREATES_SETTING } from './caps.js';
import type { CallOptions, ConfirmJob } from './core.js';
import {
  buildReport,
  CAP_SETTINGS,
  type CapMeter,
  costText,
  type Estimate,
  estimateCost,
  isPaid,
  meterOf,
  nearLimitAdvice,
  PAID_CREATES_SETTING,
  type SpendCaps,
  type SpendReport,
  type SpendSettings,
  startOfDay,
  type TodaySpend,
  todayFor,
  unitOf,
} from './spend.js';
import type { ClaimOptions, LedgerStore, SpendTotal, TaskRow } from './store.js';
import type { TaskView } from './view.js';

export interface SpendDeps {
  ledger: LedgerStore;
  now(): number;
  settings: SpendSettings | undefined;
  /** Real-time cap of the free balance read of a dry run (ms). */
  budgetMs: number;
}

/** A checked create request (service.ts `checked`). */
export interface Checked {
  provider: Provider;
  signal: AbortSignal;
  inputs: Partial<Record<InputRole, ResolvedInput>>;
  req: { kind: TaskKind; params: JsonObject };
  fp: string;
  force: boolean;
  reuse: TaskRow | undefined;
}

export interface DryRun {
  dry_run: true;
  provider: string;
  action: 'would_reuse_existing_task' | 'would_create_new_task';
  reused: boolean;
  /** The task a real call would return (reuse only). */
  task_id?: string;
  status?: TaskStatus;
  cost: Estimate;
  spent_today: { amount: number; unit: string; unknown_jobs: number; paid_jobs_all_providers: number };
  caps: { setting: string; limit: number; unit: string }[];
  warnings: string[];
  next_step: string;
}

const NO_CAPS: SpendCaps = { perProvider: {} };

async function today(deps: SpendDeps, provider: Provider, kind: TaskKind): Promise<TodaySpend> {
  const totals = await deps.ledger.spend.totalsSince(startOfDay(deps.now()));
  return todayFor(totals, provider.name, meteredUnit(provider, kind));
}

/** The unit whose spend a cap on this job counts: one of The Director's two counts, else all of it. */
function meteredUnit(provider: Provider, kind: TaskKind): string | undefined {
  return provider.name === 'director' ? unitOf(provider, kind) : undefined;
}

/** The caps a job of `kind` counts against; with `perUser` (an OAuth user), that user's own too. */
function capsFor(settings: SpendSettings | undefined, provider: Provider, kind: TaskKind, perUser: boolean) {
  const caps = settings?.caps ?? NO_CAPS;
  const out: DryRun['caps'] = [];
  const meter = meterOf(provider.name, kind);
  const mine = caps.perProvider[meter];
  const info = CAP_SETTINGS[meter];
  if (mine !== undefined && info) out.push({ setting: info.setting, limit: mine, unit: info.unit });
  const userCap = caps.perProviderPerPrincipal?.[meter];
  if (perUser && userCap !== undefined && info)
    out.push({ setting: info.userSetting, limit: userCap, unit: info.unit });
  if (caps.paidCreatesPerDay !== undefined && provider.capabilities.paid)
    out.push({ setting: PAID_CREATES_SETTING, limit: caps.paidCreatesPerDay, unit: 'paid jobs' });
  if (perUser && caps.paidCreatesPerPrincipal !== undefined && provider.capabilities.paid)
    out.push({ setting: PRINCIPAL_CREATES_SETTING, limit: caps.paidCreatesPerPrincipal, unit: 'paid jobs' });
  return out;
}

/** Checks the caps a real call would check (the user's own too), outside the claim: the dry run's view. */
async function capProblemOf(deps: SpendDeps, c: Checked, est: Estimate, t: TodaySpend, principal?: string) {
  const caps = capsOf(deps);
  try {
    checkCaps(caps, est, t);
    if (principal !== undefined && hasPrincipalCaps(caps)) {
      const own = await deps.ledger.spend.totalsSince(startOfDay(deps.now()), principal);
      checkPrincipalCap(caps, own, est, todayFor(own, c.provider.name, meteredUnit(c.provider, c.req.kind)));
    }
    return undefined;
  } catch (err) {
    if (!(err instanceof AppError) || err.code !== 'spend_cap') throw err;
    return err.message.replace(' Nothing was sent.', '');
  }
}

/** What a create would do and cost. Reads only: the ledger, ffprobe, and a free balance read. */
export async function dryRun(
  deps: SpendDeps,
  c: Checked,
  warnings: string[],
  principal?: string,
): Promise<DryRun> {
  const { provider } = c;
  const t = await today(deps, provider, c.req.kind);
  const est: Estimate = c.reuse
    ? {
        provider: provider.name,
        display_name: provider.displayName,
        unit: unitOf(provider, c.req.kind),
        amount: 0,
        basis: 'An identical request already has a task: it is returned, nothing is paid.',
      }
    : await estimateCost(provider, c.req.kind, c.inputs, deps.settings, c.signal, c.req.params);
  // Jogg's and NemoVideo's balance reads are free GETs; The Director's reads no network on the gateway.
  if (provider.credits && isPaid(provider, c.req.kind)) {
    try {
      const d = deadline(deps.budgetMs, c.signal);
      const credits = await provider.credits(d.signal).finally(() => d.clear());
      est.balance_summary = credits.summary;
      if (credits.balance) est.balance = credits.balance;
    } catch (err) {
      est.balance_summary = `the balance could not be read: ${(err as Error).message}`;
    }
  }
  const advice = c.reuse ? [] : nearLimitAdvice(provider.name, c.req.kind, c.req.params, capsOf(deps), t);
  const capProblem =
    !c.reuse && isPaid(provider, c.req.kind) ? await capProblemOf(deps, c, est, t, principal) : undefined;
  return {
    dry_run: true,
    provider: provider.name,
    action: c.reuse ? 'would_reuse_existing_task' : 'would_create_new_task',
    reused: !!c.reuse,
    ...(c.reuse
      ? { task_id: c.reuse.id, status: c.reuse.status === 'submitting' ? 'pending' : c.reuse.status }
      : {}),
    cost: est,
    spent_today: {
      amount: t.amount,
      unit: unitOf(provider, c.req.kind),
      unknown_jobs: t.unknown,
      paid_jobs_all_providers: t.allPaidCreates,
    },
    caps: capsFor(deps.settings, provider, c.req.kind, principal !== undefined),
    warnings: [...warnings, ...advice, ...(capProblem ? [capProblem] : [])],
    next_step: capProblem
      ? 'A real call would be refused by the cap. Ask the user before raising it.'
      : c.reuse
        ? 'Call again without dry_run to get this task (free).'
        : 'Nothing was sent or paid. Tell the user the expected cost; call again without dry_run to run it.',
  };
}

function capsOf(deps: SpendDeps): SpendCaps {
  return deps.settings?.caps ?? NO_CAPS;
}

function describe(est: Estimate): string {
  if (est.amount === undefined) return `unknown until the job ends (${est.basis})`;
  return `${costText(est)} (${est.basis})`;
}

/**
 * Before a paid claim: the estimate, the user's confirmation when the setting asks for it, and the cap
 * check + cost record that the ledger runs inside the claim transaction. Undefined for free providers.
 */
export async function paidGate(
  deps: SpendDeps,
  c: Checked,
  warnings: string[],
  opts: CallOptions,
): Promise<Pick<ClaimOptions, 'guard' | 'cost'> | undefined> {
  const { provider } = c;
  if (!isPaid(provider, c.req.kind)) return undefined;
  const est = await estimateCost(provider, c.req.kind, c.inputs, deps.settings, c.signal, c.req.params);
  if (deps.settings?.confirmPaid && !opts.confirmed) {
    const job = {
      fingerprint: c.fp,
      provider: provider.name,
      force: c.force,
      amount: est.amount ?? null,
      unit: est.unit,
    };
    await confirm(provider, c.req.kind, est, job, opts);
  }
  const caps = capsOf(deps);
  return {
    cost: { amount: est.amount ?? null, unit: est.unit, paid: true },
    guard: {
      since: startOfDay(deps.now()),
      // A user's own totals are read (in the same transaction) only when a per-user cap is set.
      principal: hasPrincipalCaps(caps) ? opts.principal?.owner : undefined,
      check: (totals: SpendTotal[], own?: SpendTotal[]) => {
        const unit = meteredUnit(provider, c.req.kind);
        const t = todayFor(totals, provider.name, unit);
        checkCaps(caps, est, t);
        if (own) checkPrincipalCap(caps, own, est, todayFor(own, provider.name, unit));
        // Read inside the transaction, so the advice counts every process's jobs; the claim stores it.
        warnings.push(...nearLimitAdvice(provider.name, c.req.kind, c.req.params, caps, t));
      },
    },
  };
}

/**
 * The claim options of a create that expects to reuse `expected`: nothing to estimate, confirm or
 * count. Should that task change before the claim (end, so that force replaces it; or turn out never
 * created) and the claim be about to start a paid job nobody was asked about, the claim refuses.
 */
export function reuseOnly(
  deps: Pick<SpendDeps, 'now'>,
  c: Pick<Checked, 'provider' | 'req'>,
  expected: TaskRow,
): Pick<ClaimOptions, 'guard'> | undefined {
  if (!isPaid(c.provider, c.req.kind)) return undefined;
  return {
    guard: {
      since: startOfDay(deps.now()),
      check: () => {
        throw new AppError(
          'conflict',
          `Task ${expected.id} for these inputs changed while this call ran; nothing was sent or paid.`,
          {
            hint: 'Call again: the answer will be that task, or a new job with its cost (confirmed first where that is set).',
            retryable: true,
            noTaskCreated: true,
          },
        );
      },
    },
  };
}

/** How an MCP client confirms a paid job (CallOptions.confirmHow's default). */
const MCP_CONFIRM_HOW = 'call again with the same arguments and confirm: true';

async function confirm(
  provider: Provider,
  kind: string,
  est: Estimate,
  bound: ConfirmJob,
  opts: CallOptions,
) {
  const job = kind.replace('_', ' ');
  const answer = opts.confirm
    ? await opts.confirm(
        `Start a new paid ${job} job on ${provider.displayName}? Expected cost: ${describe(est)}.`,
        bound,
      )
    : 'unsupported';
  if (answer === 'accept') return;
  if (answer === 'decline') {
    throw new AppError('declined', `The user declined the paid ${job} job; nothing was created.`, {
      hint: 'Do not call again unless the user asks for it.',
      noTaskCreated: true,
    });
  }
  throw new AppError(
    'confirmation_required',
    `This ${job} job on ${provider.displayName} costs ${describe(est)}, and this server asks the user to confirm paid jobs, but this client cannot ask them.`,
    {
      hint: `Ask the user whether to pay for it. Only if they agree, ${opts.confirmHow ?? MCP_CONFIRM_HOW}.`,
      noTaskCreated: true,
    },
  );
}

export interface TaskCost {
  amount?: number;
  unit: string;
  /** provider | balance | estimate | reused */
  source: string;
}

/** Adds each task's cost record to its view (list_tasks). */
export async function withCosts(
  ledger: LedgerStore,
  views: TaskView[],
): Promise<(TaskView & { cost?: TaskCost })[]> {
  if (!views.length) return views;
  const rows = await ledger.spend.list(
    0,
    undefined,
    views.map((v) => v.task_id),
  );
  const costs = new Map(rows.map((c) => [c.taskId, c]));
  return views.map((v) => {
    const c = costs.get(v.task_id);
    if (!c) return v;
    return {
      ...v,
      cost: { ...(c.amount === null ? {} : { amount: c.amount }), unit: c.unit, source: c.source },
    };
  });
}

export async function spendReport(
  ledger: LedgerStore,
  now: number,
  days: number,
  principal?: string,
): Promise<SpendReport> {
  const since = startOfDay(now) - (Math.max(1, days) - 1) * 86_400_000;
  const ids = principal === undefined ? undefined : await ownTaskIdsSince(ledger, principal, since);
  return buildReport(await ledger.spend.list(since, undefined, ids), since);
}

/** A user's task ids created since `since`: their own pages, newest first, until older ones. */
async function ownTaskIdsSince(ledger: LedgerStore, principal: string, since: number): Promise<string[]> {
  const ids: string[] = [];
  let after: Parameters<LedgerStore['page']>[0]['after'];
  for (;;) {
    const page = await ledger.page({ limit: 200, principal, after });
    for (const r of page.rows) if (r.createdAt >= since) ids.push(r.id);
    const last = page.rows[page.rows.length - 1];
    if (!page.next || !last || last.createdAt < since) return ids;
    after = page.next;
  }
}

/** Today's spend of one meter: a provider's, or one of The Director's two counts. */
export interface MeterToday {
  amount: number;
  unit: string;
  unknown_jobs: number;
  paid_jobs: number;
  cap?: { setting: string; limit: number };
}

/** A paid provider's spend today; The Director's line is its videos, with images+audio beside them. */
export interface SpentToday extends MeterToday {
  provider: string;
  images_audio?: MeterToday;
}

export async function spentToday(
  ledger: LedgerStore,
  now: number,
  providers: Provider[],
  settings: SpendSettings | undefined,
): Promise<SpentToday[]> {
  const totals = await ledger.spend.totalsSince(startOfDay(now));
  const line = (p: Provider, meter: CapMeter, unit: string | undefined): MeterToday => {
    const t = todayFor(totals, p.name, unit);
    const cap = settings?.caps.perProvider[meter];
    const info = CAP_SETTINGS[meter];
    return {
      amount: t.amount,
      unit: unit ?? unitOf(p),
      unknown_jobs: t.unknown,
      paid_jobs: t.paidCreates,
      ...(cap !== undefined && info ? { cap: { setting: info.setting, limit: cap } } : {}),
    };
  };
  return providers
    .filter((p) => p.capabilities.paid)
    .map((p) => {
      if (p.name !== 'director') return { provider: p.name, ...line(p, p.name, undefined) };
      // The Director counts videos and images+audio apart (two plan limits, two caps).
      const media = 'director_images_audio' as const;
      return {
        provider: p.name,
        ...line(p, 'director', unitOf(p)),
        images_audio: line(p, media, CAP_SETTINGS[media]?.unit),
      };
    });
}
