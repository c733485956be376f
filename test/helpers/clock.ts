import type { Clock } from '../../src/clock.js';

/**
 * A fast clock: virtual time runs `speed` times faster than real time, so a 10 s poll interval takes
 * 10 ms of real time at speed 1000. Tests never sleep for real-world durations, and the code under test
 * keeps its real ordering (I/O still happens between waits).
 */
export function fastClock(speed = 200, start = Date.UTC(2026, 0, 1)): Clock & { advance(ms: number): void } {
  let offset = 0;
  const t0 = Date.now();
  const now = () => start + (Date.now() - t0) * speed + offset;
  return {
    now,
    advance(ms: number) {
      offset += ms;
    },
    sleep(ms, signal) {
      return new Promise<void>((resolve, reject) => {
        if (signal?.aborted) {
          reject(signal.reason ?? new Error('aborted'));
          return;
        }
        const timer = setTimeout(
          () => {
            signal?.removeEventListener('abort', onAbort);
            resolve();
          },
          Math.max(0, ms / speed),
        );
        const onAbort = () => {
          clearTimeout(timer);
          reject(signal?.reason ?? new Error('aborted'));
        };
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    },
  };
}
