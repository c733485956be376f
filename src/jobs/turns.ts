/**
 * Listings one at a time, each started in its own turn of the event loop. A page of the ledger costs
 * about a millisecond of synchronous work (SQLite's driver, rows to views); a burst of them arriving
 * together would run back to back in one turn and stall every other session meanwhile (100 at once:
 * over 300 ms). Taking turns, other sessions' requests and timers run between two pages. A listing
 * that waits for I/O (PostgreSQL) does not hold the next one back: the next starts a turn later. The
 * waiting line is as long as the listings in flight (bounded by the sessions and their requests).
 */
let tail: Promise<void> = Promise.resolve();

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Starts `work` in a turn of the event loop of its own, after every listing started before it. */
export async function inTurn<T>(work: () => Promise<T>): Promise<T> {
  const previous = tail;
  let release: () => void = () => undefined;
  tail = new Promise<void>((resolve) => {
    release = resolve;
  });
  await previous;
  await nextTurn();
  try {
    return work();
  } finally {
    // The next listing starts in a later turn, once this one's synchronous part has run.
    setImmediate(release);
  }
}
