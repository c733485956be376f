/**
 * Spend control: what a create is expected to cost (in the provider's own unit), daily caps counted
 * from the ledger (checked in caps.ts, inside the claim's transaction), and what each task really cost — the
 * provider's figure, else a free balance read before and after, else the estimate, marked so.
 */
import type { Logger } from '../logger.js';
import type {
  ExistingTask,
  InputRole,
  JsonObject,
  Provider,
  ProviderName,
  ResolvedInput,
  TaskKind,
} from '../providers/provider.js';
import type { CostRow, LedgerStore, SpendTotal } from './store.js';

/**
 * What a daily cap counts: a provider's spend in its unit, or — for The Director, whose plans limit
 * videos and images+audio apart (seed 002) — one of its two daily counts.
 */
export type CapMeter = ProviderName | 'director_images_audio';

/** Daily caps, each off when undefined. Per meter in its unit (credits, videos, images and audio). */
export interface SpendCaps {
  perProvider: Partial<Record<CapMeter, number>>;
  paidCreatesPerDay?: number;
  /** Paid jobs one principal (an OAuth user) may create per day (issue 29). */
  paidCreatesPerPrincipal?: number;
  /** The per-meter caps again, each counting one principal's own spend (issue 29). */
  perProviderPerPrincipal?: Partial<Record<CapMeter, number>>;
}

export interface SpendSettings {
  caps: SpendCaps;
  /** Ask the user (MCP elicitation) before a paid create that is not a reuse. */
  confirmPaid: boolean;
  /** Seconds of an audio input (ffprobe), for Jogg's per-125 s price; undefined when unknown. */
  audioSeconds?: (input: ResolvedInput, signal: AbortSignal) => Promise<number | undefined>;
}

/**
 * The setting that caps each meter's daily spend, the one that caps each user's (OAuth), and its unit
 * (also the unit its cost rows carry).
 */
export const CAP_SETTINGS: Partial<Record<CapMeter, { setting: string; userSetting: string; unit: string }>> =
  {
    jogg: {
      setting: 'LIPSYNC_CAP_JOGG_CREDITS_PER_DAY',
      userSetting: 'LIPSYNC_CAP_JOGG_CREDITS_PER_USER_PER_DAY',
      unit: 'credits',
    },
    director: {
      setting: 'LIPSYNC_CAP_DIRECTOR_VIDEOS_PER_DAY',
      userSetting: 'LIPSYNC_CAP_DIRECTOR_VIDEOS_PER_USER_PER_DAY',
      unit: 'videos',
    },
    director_images_audio: {
      setting: 'LIPSYNC_CAP_DIRECTOR_IMAGES_AUDIO_PER_DAY',
      userSetting: 'LIPSYNC_CAP_DIRECTOR_IMAGES_AUDIO_PER_USER_PER_DAY',
      unit: 'images and audio',
    },
    nemovideo: {
      setting: 'LIPSYNC_CAP_NEMOVIDEO_CREDITS_PER_DAY',
      userSetting: 'LIPSYNC_CAP_NEMOVIDEO_CREDITS_PER_USER_PER_DAY',
      unit: 'credits',
    },
  };

/**
 * The Director's kinds that count against its image+audio limit, as the provider records a refusal
 * (director/tier3.ts `bucketOf`): images, audio, and speech to text (an audio tool in seed 002).
 * Videos — generated, lip-synced, or made by post-production — count against the video limit.
 */
const DIRECTOR_IMAGE_AUDIO_KINDS: ReadonlySet<TaskKind> = new Set(['image', 'audio', 'transcript']);

/** The meter a job of `kind` on `provider` counts against. */
export function meterOf(provider: ProviderName, kind?: TaskKind): CapMeter {
  return provider === 'director' && kind && DIRECTOR_IMAGE_AUDIO_KINDS.has(kind)
    ? 'director_images_audio'
    : provider;
}

/** The meter an estimate counts against (its unit names it). */
export function meterOfEstimate(e: Pick<Estimate, 'provider' | 'unit'>): CapMeter {
  return e.provider === 'director' && e.unit === CAP_SETTINGS.director_images_audio?.unit
    ? 'director_images_audio'
    : e.provider;
}
export const PAID_CREATES_SETTING = 'LIPSYNC_CAP_PAID_CREATES_PER_DAY';

/** The Director's daily videos by plan (seed 002). */
export const DIRECTOR_TIERS = { starter: 5, pro: 10, power: 30, byok: 5 } as const;
/** The Director's daily images+audio by plan (seed 002). */
export const DIRECTOR_IMAGE_AUDIO_TIERS = { starter: 10, pro: 30, power: 100, byok: 15 } as const;
/** Share of a daily limit from which the answer suggests the cheaper mode. */
const NEAR_LIMIT = 0.8;
const JOGG_SECONDS_PER_CREDIT = 125;

export interface Estimate {
  provider: ProviderName;
  display_name: string;
  /** `credits`, `videos`, `images and audio`, or `free`. */
  unit: string;
  /** Expected cost in `unit`; absent when it cannot be known before the job ends. */
  amount?: number;
  /** The cost in words when the unit alone would mislead ("1 speech clip" against the image+audio count). */
  label?: string;
  basis: string;
  balance?: JsonObject;
  balance_summary?: string;
}

/** Whether a job of this kind costs anything: NemoVideo's render export is free (providers.md). */
export function isPaid(provider: Provider, kind: TaskKind): boolean {
  return provider.capabilities.paid && kind !== 'render';
}

export function unitOf(provider: Provider, kind?: TaskKind): string {
  if (!provider.capabilities.paid || kind === 'render') return 'free';
  return CAP_SETTINGS[meterOf(provider.name, kind)]?.unit ?? 'credits';
}

/** What one Director job makes, in words ("1 image", "1 speech clip"). */
function directorLabel(kind: TaskKind, params: JsonObject | undefined): string {
  switch (kind) {
    case 'image':
      return '1 image';
    case 'audio': {
      const k = params?.kind;
      return k === 'music' ? '1 music track' : k === 'effect' ? '1 sound effect' : '1 speech clip';
    }
    case 'transcript':
      return '1 transcript';
    case 'post': {
      // Post-production counts against the video quota whatever it makes (tier3.ts `bucketOf`).
      const op = typeof params?.operation === 'string' ? params.operation : undefined;
      if (op === 'extract_frame') return '1 video (post-production: extract frame; the output is an image)';
      return op ? `1 video (post-production: ${op.replace('_', ' ')})` : '1 video (post-production)';
    }
    default:
      return '1 video';
  }
}

function directorEstimate(kind: TaskKind, params: JsonObject | undefined) {
  const label = directorLabel(kind, params);
  if (meterOf('director', kind) === 'director_images_audio') {
    const t = DIRECTOR_IMAGE_AUDIO_TIERS;
    return {
      amount: 1,
      label,
      basis: `${label}, counted against the daily image+audio quota of your plan (Starter ${t.starter}, Pro ${t.pro}, Power ${t.power}, BYOK ${t.byok} images and audio/day).`,
    };
  }
  const t = DIRECTOR_TIERS;
  return {
    amount: 1,
    label,
    basis: `One video against the daily quota of your plan (Starter ${t.starter}, Pro ${t.pro}, Power ${t.power}, BYOK ${t.byok} videos/day).`,
  };
}

/** An estimate's cost in words: "1 image", "2 credits", "an unknown amount". */
export function costText(e: Pick<Estimate, 'amount' | 'unit' | 'label'>): string {
  if (e.amount === undefined) return 'an unknown amount';
  return e.label ?? `${fmt(e.amount)} ${e.amount === 1 ? (SINGULAR[e.unit] ?? e.unit) : e.unit}`;
}

/** One of a unit, where the plural is not the word for one ("1 credit", never "1 credits"). */
const SINGULAR: Record<string, string> = { credits: 'credit', videos: 'video' };

/** Expected cost from what is known before paying. Reads nothing but the inputs (ffprobe). */
export async function estimateCost(
  provider: Provider,
  kind: TaskKind,
  inputs: Partial<Record<InputRole, ResolvedInput>>,
  settings: SpendSettings | undefined,
  signal: AbortSignal,
  params?: JsonObject,
): Promise<Estimate> {
  const base = { provider: provider.name, display_name: provider.displayName, unit: unitOf(provider, kind) };
  if (!provider.capabilities.paid) return { ...base, amount: 0, basis: 'Runs on this machine: free.' };
  if (kind === 'render') return { ...base, amount: 0, basis: 'Rendering a session draft is free.' };
  switch (provider.name) {
    case 'jogg': {
      const audio = inputs.audio;
      const secs = audio && settings?.audioSeconds ? await settings.audioSeconds(audio, signal) : undefined;
      if (secs === undefined)
        return {
          ...base,
          amount: 1,
          basis: `1 credit per ${JOGG_SECONDS_PER_CREDIT} s of output; the audio length is unknown, so at least 1 credit.`,
        };
      const amount = Math.max(1, Math.ceil(secs / JOGG_SECONDS_PER_CREDIT));
      return {
        ...base,
        amount,
        basis: `1 credit per ${JOGG_SECONDS_PER_CREDIT} s of output; the output is about as long as the audio (${secs.toFixed(1)} s).`,
      };
    }
    case 'director':
      return { ...base, ...directorEstimate(kind, params) };
    case 'nemovideo':
      return {
        ...base,
        basis: 'NemoVideo charges credits as the job runs: the cost is unknown until it ends.',
      };
    default:
      return { ...base, basis: 'The provider does not say what a job costs before it ends.' };
  }
}

/** Midnight (machine's local time) of the day `now` falls in: daily caps and limits reset then. */
export function startOfDay(now: number): number {
  const d = new Date(now);
  d.setHours(0, 0, 0, 0);
  return d.getTime();
}

function dayOf(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

export interface TodaySpend {
  amount: number;
  unknown: number;
  paidCreates: number;
  allPaidCreates: number;
}

/** Today's spend of `provider`; with `unit`, only what counts in that unit (one of The Director's counts). */
export function todayFor(totals: SpendTotal[], provider: ProviderName, unit?: string): TodaySpend {
  const mine = totals.filter((t) => t.provider === provider && (unit === undefined || t.unit === unit));
  return {
    amount: mine.reduce((s, t) => s + t.amount, 0),
    unknown: mine.reduce((s, t) => s + t.unknown, 0),
    paidCreates: mine.reduce((s, t) => s + t.paidCreates, 0),
    allPaidCreates: totals.reduce((s, t) => s + t.paidCreates, 0),
  };
}

export const fmt = (n: number) => String(Math.round(n * 100) / 100);

/** The seed's advice: near a daily limit, suggest the cheaper mode. */
export function nearLimitAdvice(
  provider: ProviderName,
  kind: TaskKind,
  params: JsonObject,
  caps: SpendCaps,
  today: TodaySpend,
): string[] {
  if (provider !== 'director' || params.quality === 'cheap') return [];
  const media = meterOf(provider, kind) === 'director_images_audio';
  const cap = caps.perProvider[media ? 'director_images_audio' : 'director'];
  const limit = cap ?? (media ? DIRECTOR_IMAGE_AUDIO_TIERS.starter : DIRECTOR_TIERS.starter);
  if (today.amount + 1 < NEAR_LIMIT * limit) return [];
  const things = media ? 'images and audio' : 'videos';
  const what =
    cap !== undefined ? `your daily cap of ${cap} ${things}` : `the Starter plan's ${limit} ${things} a day`;
  const tool = kind === 'generate_video' ? 'generate_video' : 'the call';
  return [
    `${fmt(today.amount)} ${media ? 'image/audio job(s)' : 'video(s)'} made today: close to ${what}. Suggest the cheaper mode to the user (${tool} with quality: "cheap") for drafts and previews.`,
  ];
}

/** A number out of a balance: Jogg's remaining_quota, NemoVideo's available credits. */
export function balanceNumber(balance: JsonObject | undefined): number | undefined {
  const v = balance?.remaining_quota ?? balance?.available;
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/**
 * The provider as one create sees it: `start` reads the balance before and after (where that read is
 * free) and records the delta when no other job of ours on this provider ran in between; a task found
 * at the provider instead of created is recorded as free.
 */
export function trackedProvider(
  provider: Provider,
  taskId: string,
  deps: {
    ledger: LedgerStore;
    now(): number;
    log: Logger;
    adoptable(found: ExistingTask): boolean | Promise<boolean>;
  },
): Provider {
  const tracked = Object.create(provider) as Provider & Record<string, unknown>;
  const balanceFree = provider.name === 'jogg' && !!provider.credits;
  // NemoVideo charges as the job runs: the balance before is kept, the delta is taken when it ends.
  const balanceAtEnd = provider.name === 'nemovideo' && !!provider.credits;
  const read = async (signal: AbortSignal) => {
    try {
      return balanceNumber((await provider.credits?.(signal))?.balance);
    } catch {
      return undefined;
    }
  };
  if (provider.findExisting) {
    const find = provider.findExisting.bind(provider);
    tracked.findExisting = async (prepared, ctx) => {
      const found = await find(prepared, ctx);
      if (found && (await deps.adoptable(found)))
        await deps.ledger.spend.record(taskId, { amount: 0, source: 'reused', paid: false }, deps.now());
      return found;
    };
  }
  const start = provider.start.bind(provider);
  tracked.start = async (prepared, ctx) => {
    const t0 = deps.now();
    if (balanceAtEnd) {
      const before = await read(ctx.signal);
      if (before !== undefined) await deps.ledger.spend.markBalanceBefore(taskId, before, t0);
      return start(prepared, ctx);
    }
    const before = balanceFree ? await read(ctx.signal) : undefined;
    const res = await start(prepared, ctx);
    if (before === undefined) return res;
    // The job exists now: cost bookkeeping must never lose its answer (a ledger briefly unreachable).
    try {
      const after = await read(ctx.signal);
      const quiet = (await deps.ledger.spend.othersActiveSince(provider.name, taskId, t0)) === 0;
      if (after !== undefined && quiet && before > after)
        await deps.ledger.spend.record(taskId, { amount: before - after, source: 'balance' }, deps.now());
      else deps.log.debug({ task: taskId }, 'balance delta not usable; the estimate stays');
    } catch (err) {
      deps.log.warn(
        { task: taskId, err: String(err) },
        'could not record the balance delta; the estimate stays',
      );
    }
    return res;
  };
  return tracked;
}

/**
 * When a job that kept its balance-before ends: reads the balance again and records the delta, if no
 * other job of ours on this provider ran at any time in between. Otherwise the estimate stays.
 */
export async function settleAtEnd(
  provider: Provider | undefined,
  taskId: string,
  deps: { ledger: LedgerStore; now(): number; signal: AbortSignal },
): Promise<void> {
  const before = await deps.ledger.spend.balanceBefore(taskId);
  if (!before || !provider?.credits) return;
  const after = balanceNumber((await provider.credits(deps.signal).catch(() => undefined))?.balance);
  const now = deps.now();
  if (after === undefined || after > before.balance) return;
  if ((await deps.ledger.spend.othersOverlapping(provider.name, taskId, before.at, now)) > 0) return;
  await deps.ledger.spend.record(taskId, { amount: before.balance - after, source: 'balance' }, now);
}

export interface SpendReport {
  since: string;
  days: { day: string; provider: string; unit: string; amount: number; unknown: number; tasks: number }[];
  tasks: {
    task_id: string;
    provider: string;
    day: string;
    amount?: number;
    unit: string;
    source: string;
    paid: boolean;
  }[];
}

/** Spend per provider per day and per task, from cost records. */
export function buildReport(costs: CostRow[], since: number): SpendReport {
  const days = new Map<string, SpendReport['days'][number]>();
  const tasks: SpendReport['tasks'] = [];
  for (const c of costs) {
    const day = dayOf(c.createdAt);
    tasks.push({
      task_id: c.taskId,
      provider: c.provider,
      day,
      ...(c.amount === null ? {} : { amount: c.amount }),
      unit: c.unit,
      source: c.source,
      paid: c.paid,
    });
    const key = `${day}|${c.provider}|${c.unit}`;
    const d = days.get(key) ?? { day, provider: c.provider, unit: c.unit, amount: 0, unknown: 0, tasks: 0 };
    d.tasks += 1;
    if (c.amount === null) d.unknown += 1;
    else d.amount += c.amount;
    days.set(key, d);
  }
  return { since: new Date(since).toISOString(), days: [...days.values()], tasks };
}
