/**
 * Whether this process is waiting on I/O the product started: an HTTP request of the product's client
 * (the undici package, seen through its diagnostics channels) not yet answered in full (event streams
 * included: their idle watchdog runs on the clock), a PostgreSQL query not yet answered, or a
 * file-system request in flight. The driven clock (clock.ts) moves virtual time only when none is in
 * flight, so a slow machine slows virtual time down with it instead of letting a deadline pass while
 * an answer is on its way.
 *
 * Not counted: the tests' own clients (fetch, node:http: their calls may be waiting on the clock),
 * child processes (other instances run their own clocks), watchers.
 */
import { subscribe } from 'node:diagnostics_channel';
import { createRequire } from 'node:module';
import pg from 'pg';
// Loaded up front: the product's client loads undici lazily on its first request, and the time that
// takes (module loading, not tracked here) would be a gap before the request shows up as in flight.
import 'undici';

/** The product's undici Request (Node's own fetch publishes on the same channels with its own copy). */
const ProductRequest = createRequire(import.meta.url)('undici/lib/core/request.js') as new (
  ...a: never[]
) => object;

const requests = new Set<object>();
let queries = 0;
let installed = false;
const idleWaiters = new Set<() => void>();

function settled(): void {
  if (busyCount() > 0) return;
  for (const w of [...idleWaiters]) w();
  idleWaiters.clear();
}

function install(): void {
  if (installed) return;
  installed = true;
  subscribe('undici:request:create', (m) => {
    const { request } = m as { request: object };
    if (request instanceof ProductRequest) requests.add(request);
  });
  for (const end of ['undici:request:trailers', 'undici:request:error'])
    subscribe(end, (m) => {
      requests.delete((m as { request: object }).request);
      settled();
    });
  const query = pg.Client.prototype.query as (...args: unknown[]) => unknown;
  pg.Client.prototype.query = function tracked(this: unknown, ...args: unknown[]) {
    const last = args.length - 1;
    const cb = args[last];
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      queries--;
      settled();
    };
    queries++;
    if (typeof cb === 'function')
      args[last] = (...r: unknown[]) => {
        finish();
        return (cb as (...a: unknown[]) => unknown)(...r);
      };
    let out: unknown;
    try {
      out = query.apply(this, args);
    } catch (err) {
      finish();
      throw err;
    }
    if (typeof cb !== 'function') {
      if (out && typeof (out as Promise<unknown>).then === 'function')
        (out as Promise<unknown>).then(finish, finish);
      else finish(); // a submittable (cursor, stream): not counted
    }
    return out;
  } as typeof pg.Client.prototype.query;
}

/** File-system requests in flight (reads of an upload, a hash, a download being written). */
function fsBusy(): number {
  return process.getActiveResourcesInfo().filter((r) => r.startsWith('FSReq') || r === 'FileHandleCloseReq')
    .length;
}

export function busyCount(): number {
  return requests.size + queries + fsBusy();
}

/**
 * Starts tracking (idempotent). Also done when this module loads, before any test patches pg's
 * Client (pgListens) and restores it: a restore then keeps this wrapper.
 */
export function trackIo(): void {
  install();
}
install();

/** Resolves once no tracked HTTP request or query is in flight (file requests are re-checked by the caller). */
export function ioIdle(): Promise<void> {
  if (requests.size + queries === 0) return Promise.resolve();
  return new Promise((resolve) => idleWaiters.add(resolve));
}
