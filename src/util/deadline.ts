/**
 * A signal that aborts after `ms` of wall-clock time, or as soon as any of `signals` aborts.
 *
 * Not `AbortSignal.any([..., AbortSignal.timeout(ms)])`: on Node 20 a timeout signal that only a
 * composite refers to can be garbage-collected, and then it never fires (measured here: with a GC in
 * between, the composite had not aborted 600 ms after a 300 ms timeout). A wait built on that hangs
 * until the work ends — exactly what a budget must prevent. Here the timer and the controller are
 * held strongly until `clear()`, which every caller runs in a `finally`.
 */
export interface Deadline {
  signal: AbortSignal;
  /** Releases the timer and the listeners on `signals`. */
  clear(): void;
}

export function deadline(ms: number, ...signals: (AbortSignal | undefined)[]): Deadline {
  const ctl = new AbortController();
  const timer = setTimeout(
    () => ctl.abort(new DOMException('The time budget ran out.', 'TimeoutError')),
    Math.max(1, Math.ceil(ms)),
  );
  const parents = signals.filter((s): s is AbortSignal => !!s);
  const onAbort = function (this: AbortSignal) {
    ctl.abort(this.reason);
  };
  for (const s of parents) {
    if (s.aborted) {
      ctl.abort(s.reason);
      break;
    }
    s.addEventListener('abort', onAbort, { once: true });
  }
  return {
    signal: ctl.signal,
    clear() {
      clearTimeout(timer);
      for (const s of parents) s.removeEventListener('abort', onAbort);
    },
  };
}
