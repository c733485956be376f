import type { Clock } from '../../src/clock.js';

/**
 * LIPSYNC_TEST_CLOCK_SPEED overrides the default speed. A very high speed makes every virtual budget
 * expire before loopback I/O finishes, which is what a loaded machine does to the default speed: a test
 * that passes at any speed waits on events, not on time (`npm run test:stress` uses this).
 */
const DEFAULT_SPEED = Number(process.env.LIPSYNC_TEST_CLOCK_SPEED) || 200;

/**
 * A fast clock: virtual time runs `speed` times faster than real time, so a 10 s poll interval takes
 * 10 ms of real time at speed 1000. Tests never sleep for real-world durations, and the code under test
 * keeps its real ordering (I/O still happens between waits).
 */
export function fastClock(
  speed = DEFAULT_SPEED,
  start = Date.UTC(2026, 0, 1),
): Clock & { advance(ms: number): void } {
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
