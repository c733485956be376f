/**
 * Remembers the last time the gateway said "daily video limit reached", so `credits()` can tell the user
 * without spending or even asking (the gateway has no balance endpoint). Kept in memory and, when a
 * state file is given, in a small JSON file so another process (or the next run) knows too.
 *
 * The gateway says the limit "resets at midnight" without a time zone; we estimate the user's next local
 * midnight after the refusal and say it is an estimate.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Clock } from '../../clock.js';
import type { Logger } from '../../logger.js';

export interface DailyLimitState {
  /** When the last 429 was seen (ms since epoch). */
  seenAt: number;
  /** The next local midnight after `seenAt`. */
  resetsAt: number;
}

/** The first local midnight strictly after `t`. */
export function nextLocalMidnight(t: number): number {
  const d = new Date(t);
  d.setHours(24, 0, 0, 0);
  return d.getTime();
}

export class DailyLimitMemory {
  private state: DailyLimitState | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly file?: string,
  ) {
    this.state = this.load();
  }

  record(): void {
    const seenAt = this.clock.now();
    this.state = { seenAt, resetsAt: nextLocalMidnight(seenAt) };
    if (!this.file) return;
    try {
      mkdirSync(dirname(this.file), { recursive: true });
      const tmp = `${this.file}.${process.pid}.tmp`;
      writeFileSync(
        tmp,
        JSON.stringify({
          daily_limit_seen_at: new Date(this.state.seenAt).toISOString(),
          resets_at: new Date(this.state.resetsAt).toISOString(),
        }),
        { mode: 0o600 },
      );
      renameSync(tmp, this.file);
    } catch (err) {
      // Losing this note only makes `credits()` less informative; the job outcome is unaffected.
      this.log.warn({ err }, 'could not save the daily-limit note');
    }
  }

  /** The limit state if it is still in force (before the estimated reset), else undefined. */
  current(): DailyLimitState | undefined {
    const fromDisk = this.load();
    if (fromDisk && (!this.state || fromDisk.seenAt > this.state.seenAt)) this.state = fromDisk;
    if (this.state && this.clock.now() < this.state.resetsAt) return this.state;
    return undefined;
  }

  private load(): DailyLimitState | undefined {
    if (!this.file) return undefined;
    try {
      const raw = JSON.parse(readFileSync(this.file, 'utf8')) as {
        daily_limit_seen_at?: unknown;
        resets_at?: unknown;
      };
      const seenAt = Date.parse(String(raw.daily_limit_seen_at));
      const resetsAt = Date.parse(String(raw.resets_at));
      if (Number.isFinite(seenAt) && Number.isFinite(resetsAt)) return { seenAt, resetsAt };
    } catch {
      // Missing or corrupt file: no note, which is the safe default.
    }
    return undefined;
  }
}
