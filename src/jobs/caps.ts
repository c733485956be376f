/**
 * The daily caps a paid create must stay under (spend.ts counts and prices; this checks): each meter's
 * total and, for an OAuth user, their own (issue 29), and the paid jobs of the day. Every check runs
 * inside the claim's transaction, on totals read in it; a refusal (`spend_cap`) names the cap, what
 * was spent (and, for a user's own cap, what is left) and the setting to raise.
 */
import { AppError } from '../errors.js';
import {
  CAP_SETTINGS,
  costText,
  type Estimate,
  fmt,
  meterOfEstimate,
  PAID_CREATES_SETTING,
  type SpendCaps,
  type TodaySpend,
} from './spend.js';
import type { SpendTotal } from './store.js';

/** Whether a cap counts one principal's own spend (then the claim reads their totals too). */
export function hasPrincipalCaps(caps: SpendCaps): boolean {
  return (
    caps.paidCreatesPerPrincipal !== undefined ||
    Object.values(caps.perProviderPerPrincipal ?? {}).some((c) => c !== undefined)
  );
}

/** Whether one more job of `estimate` would pass `cap` with `today` spent (unknown cost: at the cap). */
function passes(cap: number, estimate: Estimate, today: TodaySpend): boolean {
  const next = estimate.amount ?? 0;
  // A job of unknown cost still needs room left: at the cap it is refused.
  return today.amount + next > cap || (next === 0 && today.amount >= cap);
}

const unknownJobs = (today: TodaySpend) =>
  today.unknown ? ` plus ${today.unknown} job(s) of unknown cost` : '';

/** Throws `spend_cap` when one more job of `estimate` would pass a cap. Runs inside the claim transaction. */
export function checkCaps(caps: SpendCaps, estimate: Estimate, today: TodaySpend): void {
  const meter = meterOfEstimate(estimate);
  const cap = caps.perProvider[meter];
  const info = CAP_SETTINGS[meter];
  if (cap !== undefined && info && passes(cap, estimate, today)) {
    throw capError(
      `${estimate.display_name}'s daily cap of ${cap} ${info.unit} (${info.setting})`,
      `${fmt(today.amount)} ${info.unit} spent today${unknownJobs(today)}; this job would cost ${costText(estimate)}`,
      info.setting,
    );
  }
  if (caps.paidCreatesPerDay !== undefined && today.allPaidCreates + 1 > caps.paidCreatesPerDay) {
    throw capError(
      `the daily cap of ${caps.paidCreatesPerDay} paid jobs across providers (${PAID_CREATES_SETTING})`,
      `${today.allPaidCreates} paid job(s) created today`,
      PAID_CREATES_SETTING,
    );
  }
}

export const PRINCIPAL_CREATES_SETTING = 'LIPSYNC_CAP_PAID_CREATES_PER_USER_PER_DAY';

/**
 * Throws `spend_cap` when one more job would pass a per-user cap: the paid jobs of the day, or (with
 * `estimate` and `mine`, that user's spend today on its meter) the meter's per-user cap.
 * `own`: that user's totals today, read inside the claim transaction.
 */
export function checkPrincipalCap(
  caps: SpendCaps,
  own: SpendTotal[],
  estimate?: Estimate,
  mine?: TodaySpend,
): void {
  const cap = caps.paidCreatesPerPrincipal;
  const created = own.reduce((s, t) => s + t.paidCreates, 0);
  if (cap !== undefined && created + 1 > cap)
    throw capError(
      `your daily cap of ${cap} paid jobs (${PRINCIPAL_CREATES_SETTING})`,
      `you created ${created} paid job(s) today`,
      PRINCIPAL_CREATES_SETTING,
    );
  if (!estimate || !mine) return;
  const meter = meterOfEstimate(estimate);
  const userCap = caps.perProviderPerPrincipal?.[meter];
  const info = CAP_SETTINGS[meter];
  if (userCap !== undefined && info && passes(userCap, estimate, mine)) {
    const left = Math.max(0, userCap - mine.amount);
    throw capError(
      `your daily cap of ${userCap} ${estimate.display_name} ${info.unit} (${info.userSetting})`,
      `you spent ${fmt(mine.amount)} ${info.unit} today${unknownJobs(mine)}, ${fmt(left)} left; this job would cost ${costText(estimate)}`,
      info.userSetting,
    );
  }
}

function capError(what: string, spent: string, setting: string): AppError {
  return new AppError('spend_cap', `This job would pass ${what}: ${spent}. Nothing was sent.`, {
    hint: `Ask the user. To allow more, raise ${setting} (or unset it to turn the cap off) and restart the server; the cap resets at midnight.`,
    details: { setting },
    noTaskCreated: true,
  });
}
