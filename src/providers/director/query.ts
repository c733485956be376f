/**
 * What The Director says now: a task's status (storing a handle the gateway corrected late), a task
 * created elsewhere, and the account (the daily limits seen, and the direct API's credits).
 */
import { AppError } from '../../errors.js';
import type {
  Credits,
  ExistingTask,
  Json,
  JsonObject,
  Snapshot,
  StatusContext,
  TaskKind,
} from '../provider.js';
import { credentialState, mustAuth, resolveAuth } from './auth.js';
import type { DirectorContext } from './context.js';
import { extraOf } from './create.js';
import { mediaOf } from './rules.js';
import { toSnapshot } from './snapshot.js';
import { readOperation } from './stored.js';
import { MISSING_FIX, scrubJson } from './text.js';
import { correctedApi, creditAmount } from './wire.js';

export async function status(
  director: DirectorContext,
  operation: JsonObject,
  ctx: StatusContext,
): Promise<Snapshot> {
  const op = readOperation(operation);
  const auth = mustAuth(director.config, op.via);
  const body = await director.api.query(auth, op.api, op.id, ctx.signal);
  const snap = toSnapshot(body, extraOf(operation), mediaOf(operation));
  // The gateway may say late that the task is of the other type; store the corrected handle.
  const corrected = correctedApi(body);
  if (corrected && corrected !== op.api) {
    snap.operation = { ...operation, api: corrected, requested_api: op.api };
  }
  return snap;
}

/** A task created elsewhere: its api type is not known, so it is asked as an agent chat, then as a tool task. */
export async function lookupById(
  director: DirectorContext,
  id: string,
  ctx: StatusContext,
): Promise<(ExistingTask & { kind: TaskKind }) | null> {
  const auth = mustAuth(director.config);
  for (const api of ['agent', 'tool'] as const) {
    const operation: JsonObject = { api, id, via: auth.via };
    try {
      const snapshot = await status(director, operation, ctx);
      const kind = 'generate_video' as const;
      return { kind, operation: snapshot.operation ?? operation, providerTaskId: id, snapshot };
    } catch (err) {
      if (err instanceof AppError && err.code === 'not_found') continue;
      throw err;
    }
  }
  return null;
}

export async function credits(director: DirectorContext, signal: AbortSignal): Promise<Credits> {
  const state = credentialState(director.config);
  const auth = resolveAuth(director.config);
  if (!state.configured || !auth)
    return { provider: 'director', configured: false, summary: state.fix ?? MISSING_FIX };
  const video = director.limits.video.current();
  const media = director.limits.image_audio.current();
  const balance: JsonObject = {
    path: auth.via,
    daily_limit_reached: !!video,
    image_audio_limit_reached: !!media,
    daily_limits_by_plan: { starter: 5, pro: 10, power: 30, byok: 5 },
    image_audio_limits_by_plan: { starter: 10, pro: 30, power: 100, byok: 15 },
  };
  const parts = [
    auth.via === 'gateway'
      ? `Configured through the agent gateway (token from ${auth.source}).`
      : 'Configured with a direct API key.',
  ];
  for (const [what, hit, key] of [
    ['video', video, 'daily_limit'],
    ['image and audio', media, 'image_audio_limit'],
  ] as const) {
    if (!hit) continue;
    balance[`${key}_seen_at`] = new Date(hit.seenAt).toISOString();
    balance[`${key}_resets_at`] = new Date(hit.resetsAt).toISOString();
    parts.push(
      `Daily ${what} limit reached at ${clockTime(hit.seenAt)}; it resets at midnight (about ${new Date(hit.resetsAt).toLocaleString()}).`,
    );
  }
  if (video) balance.resets_at = balance.daily_limit_resets_at as string;
  if (!video || !media)
    parts.push(
      'Daily limits by plan: videos Starter 5, Pro 10, Power 30, BYOK 5; images and audio Starter 10, Pro 30, Power 100, BYOK 15.',
    );
  if (auth.via === 'direct') {
    try {
      const account = scrubJson(await director.api.account(auth, signal)) as Json;
      balance.account = account;
      const amount = creditAmount(account);
      if (amount !== undefined) parts.push(`${amount} credits remaining.`);
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      balance.account_error = err.message;
      parts.push(`The account status could not be read: ${err.message}`);
    }
  }
  return { provider: 'director', configured: true, summary: parts.join(' '), balance };
}

function clockTime(t: number): string {
  return new Date(t).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}
