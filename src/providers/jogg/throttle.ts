import type { Clock } from '../../clock.js';

/** At most `limit` events in any `windowMs` (Jogg: 20 POSTs per minute per key), on the injected clock. */
export class SlidingWindow {
  private readonly stamps: number[] = [];
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly clock: Clock,
  ) {}

  /** Waits for a slot; calls are served in order. */
  take(signal?: AbortSignal): Promise<void> {
    const next = this.queue.then(async () => {
      for (;;) {
        const now = this.clock.now();
        while (this.stamps.length && this.stamps[0]! <= now - this.windowMs) this.stamps.shift();
        if (this.stamps.length < this.limit) {
          this.stamps.push(now);
          return;
        }
        await this.clock.sleep(this.stamps[0]! + this.windowMs - now, signal);
      }
    });
    this.queue = next.catch(() => undefined);
    return next;
  }
}
