/**
 * Listings one at a time, each in its own turn of the event loop. A page of the ledger costs about a
 * millisecond of synchronous work (SQLite's driver, rows to views); a burst of them arriving together
 * would run back to back in one turn and stall every other session meanwhile (100 at once: over 300 ms).
 * Taking turns, other sessions' requests and timers run between two pages. The waiting line is as long
 * as the listings in flight (bounded by the sessions and their requests).
 */
let tail: Promise<void> = Promise.resolve();

/** Runs `work` after every listing started before it, in a fresh turn of the event loop. */
export async function inTurn<T>(work: () => Promise<T>): Promise<T> {
  const previous = tail;
  let done: () => void = () => undefined;
  tail = new Promise<void>((resolve) => {
    done = resolve;
  });
  try {
    await previous;
    await new Promise<void>((resolve) => setImmediate(resolve));
    return await work();
  } finally {
    done();
  }
}
