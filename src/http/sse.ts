/**
 * Server-sent events reader for long agent streams (NemoVideo's `/run_sse`).
 *
 * Contract of the streams we read: every event is a `data:` line holding JSON; heartbeats (`type:
 * "heartbeat"`), empty `data:` lines and `:` comments are keep-alives; there is no "done" event — the
 * server closing the stream is the end. So this reader returns normally on a clean close and throws an
 * AppError when the stream breaks, goes idle, exceeds its ceiling, or is cancelled. The caller decides
 * what a break means (for a paid chat: never resend, read state instead).
 *
 * The overall ceiling is `AbortSignal.timeout`, joined with the caller's signal and the idle watchdog by
 * `AbortSignal.any` into one stop signal. The idle watchdog is re-armed on every chunk (heartbeats
 * included), which a fixed `AbortSignal.timeout` cannot do without leaving one live timer per chunk,
 * so it is a cancellable sleep. Tests inject a Clock-compatible `timer`; then both run on it.
 */
import { createParser, type EventSourceMessage, type ParseError } from 'eventsource-parser';
import { type Clock, systemClock } from '../clock.js';
import { AppError } from '../errors.js';
import type { Logger } from '../logger.js';

export const SSE_DEFAULT_MAX_DURATION_MS = 15 * 60_000;
export const SSE_DEFAULT_IDLE_TIMEOUT_MS = 3 * 60_000;

/** The body shape we need: undici's response body, or any async iterable of bytes. */
export type SseBody = AsyncIterable<Uint8Array | string> & { destroy?: (err?: Error) => unknown };

export interface SseReadOptions {
  /** A name for messages ("NemoVideo"). */
  service: string;
  /** Drives the idle and ceiling timers; default the real clock. */
  timer?: Clock;
  /** No bytes at all (not even a heartbeat) for this long -> the stream is considered dead. */
  idleTimeoutMs?: number;
  /** Overall ceiling, however lively the stream is. */
  maxDurationMs?: number;
  signal?: AbortSignal;
  log?: Logger;
  /** Largest single event kept in memory (characters); larger ones end the stream. */
  maxEventChars?: number;
  /** Called for every chunk received (keep-alives included), e.g. to show "still working". */
  onActivity?: () => void;
}

export type SseEvent = Record<string, unknown>;

type StopReason = 'idle' | 'ceiling' | 'aborted';

/**
 * Yields each JSON object carried by a `data:` event, skipping keep-alives and malformed lines.
 * Returns when the server closes the stream; throws AppError('timeout' | 'unavailable' | 'provider_failed').
 */
export async function* readSseJson(
  body: SseBody,
  opts: SseReadOptions,
): AsyncGenerator<SseEvent, void, undefined> {
  const events = new EventQueue(opts);
  const stop = new StopSignal(opts);
  const it = body[Symbol.asyncIterator]();
  let finished = false;
  try {
    for (;;) {
      const step = await stop.race(it.next(), opts.service);
      if (step.done) {
        // A last event without its blank line still counts (some servers close right after it).
        events.end();
        finished = true;
        yield* events.drain();
        return;
      }
      stop.activity();
      opts.onActivity?.();
      events.feed(step.value);
      yield* events.drain();
    }
  } finally {
    stop.dispose();
    if (!finished) {
      // Early exit (error, timeout, consumer stopped): release the socket.
      body.destroy?.();
      it.return?.()?.catch(() => undefined);
    }
    events.logSkipped();
  }
}

const IDLE = Symbol('idle');

/**
 * Every reason to stop reading early, as one AbortSignal: the caller's signal, the ceiling
 * (`AbortSignal.timeout` on the real clock) and the idle watchdog, joined by `AbortSignal.any`.
 */
class StopSignal {
  private readonly ceiling: { signal: AbortSignal; cancel(): void };
  private readonly idleCtl = new AbortController();
  private idleSleep?: AbortController;
  private readonly signal: AbortSignal;
  private readonly stopped: Promise<never>;

  constructor(private readonly opts: SseReadOptions) {
    this.ceiling = timeoutSignal(opts.maxDurationMs ?? SSE_DEFAULT_MAX_DURATION_MS, opts.timer);
    const sources = [this.ceiling.signal, this.idleCtl.signal, ...(opts.signal ? [opts.signal] : [])];
    this.signal = AbortSignal.any(sources);
    this.stopped = new Promise<never>((_, reject) => {
      const fail = () => reject(stopError(opts.service, this.reason()));
      if (this.signal.aborted) fail();
      else this.signal.addEventListener('abort', fail, { once: true });
    });
    this.stopped.catch(() => undefined);
    this.activity();
  }

  /** The next read, unless something stops the stream first; a failed read is a broken stream. */
  async race<T>(next: Promise<T>, service: string): Promise<T> {
    // If we stop early this read stays pending until the body is destroyed; never let it go unhandled.
    next.catch(() => undefined);
    try {
      return await Promise.race([next, this.stopped]);
    } catch (err) {
      if (err instanceof AppError) throw err;
      throw brokenError(service, err);
    }
  }

  /** Bytes arrived: the idle watchdog starts over. */
  activity(): void {
    this.idleSleep?.abort();
    const ctl = new AbortController();
    this.idleSleep = ctl;
    (this.opts.timer ?? systemClock)
      .sleep(this.opts.idleTimeoutMs ?? SSE_DEFAULT_IDLE_TIMEOUT_MS, ctl.signal)
      .then(
        () => {
          if (this.idleSleep === ctl) this.idleCtl.abort(IDLE);
        },
        () => undefined,
      );
  }

  dispose(): void {
    this.idleSleep?.abort();
    this.ceiling.cancel();
  }

  private reason(): StopReason {
    if (this.signal.reason === IDLE) return 'idle';
    if (this.ceiling.signal.aborted && this.signal.reason === this.ceiling.signal.reason) return 'ceiling';
    return 'aborted';
  }
}

/** `AbortSignal.timeout` on the real clock; on an injected clock, its (cancellable) sleep. */
function timeoutSignal(ms: number, timer: Clock | undefined): { signal: AbortSignal; cancel(): void } {
  if (timer === undefined || timer === systemClock)
    return { signal: AbortSignal.timeout(ms), cancel: () => undefined };
  const ctl = new AbortController();
  const sleep = new AbortController();
  timer.sleep(ms, sleep.signal).then(
    () => ctl.abort(new DOMException('The stream ran past its time limit.', 'TimeoutError')),
    () => undefined,
  );
  return { signal: ctl.signal, cancel: () => sleep.abort() };
}

/** The parser and the events it produced but the consumer has not taken yet. */
class EventQueue {
  private readonly queue: SseEvent[] = [];
  private readonly decoder = new TextDecoder();
  private readonly parser;
  private skipped = 0;
  private overflow = false;

  constructor(private readonly opts: SseReadOptions) {
    this.parser = createParser({
      onEvent: (msg) => this.onEvent(msg),
      onError: (err: ParseError) => {
        if (err.type === 'max-buffer-size-exceeded') this.overflow = true;
      },
      maxBufferSize: opts.maxEventChars ?? 4 * 1024 * 1024,
    });
  }

  feed(chunk: Uint8Array | string): void {
    this.parser.feed(typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true }));
    if (this.overflow) {
      throw new AppError('provider_failed', `${this.opts.service} sent a stream event too large to read.`, {
        hint: 'This is not a normal answer; the job may still finish — check its status.',
        requestSent: true,
      });
    }
  }

  end(): void {
    this.parser.feed(`${this.decoder.decode()}\n\n`);
  }

  *drain(): Generator<SseEvent> {
    while (this.queue.length > 0) {
      const ev = this.queue.shift();
      if (ev) yield ev;
    }
  }

  logSkipped(): void {
    if (this.skipped > 0)
      this.opts.log?.debug(
        { service: this.opts.service, skipped: this.skipped },
        'stream ended with skipped events',
      );
  }

  private onEvent(msg: EventSourceMessage): void {
    const event = parseEvent(msg);
    if (event === 'keepalive') return;
    if (event === 'malformed') {
      this.skipped++;
      // Log the size only: event text may quote user content we have no reason to keep.
      this.opts.log?.warn(
        { service: this.opts.service, chars: msg.data.length },
        'skipped a malformed stream event',
      );
      return;
    }
    this.queue.push(event);
  }
}

function parseEvent(msg: EventSourceMessage): SseEvent | 'keepalive' | 'malformed' {
  const data = msg.data.trim();
  if (data === '' || msg.event === 'heartbeat' || msg.event === 'ping') return 'keepalive';
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return 'malformed';
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'malformed';
  const obj = value as SseEvent;
  if (obj.type === 'heartbeat' || obj.type === 'ping') return 'keepalive';
  return obj;
}

function stopError(service: string, reason: StopReason): AppError {
  if (reason === 'aborted') {
    return new AppError('timeout', `Reading the ${service} event stream was cancelled.`, {
      requestSent: true,
      details: { stream: 'aborted' },
    });
  }
  const what = reason === 'idle' ? 'went silent (no data or heartbeat)' : 'ran past its time limit';
  return new AppError('timeout', `The ${service} event stream ${what}; stopped reading it.`, {
    hint: 'The job may still finish on the provider side — check its status instead of sending it again.',
    requestSent: true,
    details: { stream: reason },
  });
}

function brokenError(service: string, err: unknown): AppError {
  const e = err as { code?: string; name?: string };
  return new AppError(
    'unavailable',
    `The ${service} event stream broke before it finished (${e?.code ?? e?.name ?? 'error'}).`,
    {
      hint: 'The job may still finish on the provider side — check its status instead of sending it again.',
      retryable: false,
      requestSent: true,
      details: { stream: 'broken' },
      cause: err,
    },
  );
}
