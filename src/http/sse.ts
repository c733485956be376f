/**
 * Server-sent events reader for long agent streams (NemoVideo's `/run_sse`).
 *
 * Contract of the streams we read: every event is a `data:` line holding JSON; heartbeats (`type:
 * "heartbeat"`), empty `data:` lines and `:` comments are keep-alives; there is no "done" event — the
 * server closing the stream is the end. So this reader returns normally on a clean close and throws an
 * AppError when the stream breaks, goes idle, exceeds its ceiling, or is cancelled. The caller decides
 * what a break means (for a paid chat: never resend, read state instead).
 *
 * Timers run on an injected Clock-compatible `timer` so tests can drive idle/ceiling expiry; the
 * default is the system clock because these guard a real socket.
 */
import { createParser, type EventSourceMessage } from 'eventsource-parser';
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
  const timer = opts.timer ?? systemClock;
  const idleMs = opts.idleTimeoutMs ?? SSE_DEFAULT_IDLE_TIMEOUT_MS;
  const maxMs = opts.maxDurationMs ?? SSE_DEFAULT_MAX_DURATION_MS;
  const queue: SseEvent[] = [];
  let skipped = 0;
  let overflow = false;

  const parser = createParser({
    onEvent: (msg: EventSourceMessage) => {
      const event = parseEvent(msg);
      if (event === 'keepalive') return;
      if (event === 'malformed') {
        skipped++;
        // Log the size only: event text may quote user content we have no reason to keep.
        opts.log?.warn({ service: opts.service, chars: msg.data.length }, 'skipped a malformed stream event');
        return;
      }
      queue.push(event);
    },
    onError: (err) => {
      if (err.type === 'max-buffer-size-exceeded') overflow = true;
    },
    maxBufferSize: opts.maxEventChars ?? 4 * 1024 * 1024,
  });

  // One rejection point for every reason to stop early; the read loop races it against the body.
  const stopCtl = new AbortController();
  let stopReason: StopReason | undefined;
  const stopped = new Promise<never>((_, reject) => {
    stopCtl.signal.addEventListener('abort', () => reject(stopError(opts.service, stopReason ?? 'aborted')), {
      once: true,
    });
  });
  stopped.catch(() => undefined);
  const stop = (reason: StopReason) => {
    if (stopCtl.signal.aborted) return;
    stopReason = reason;
    stopCtl.abort();
  };

  const ceilingCtl = new AbortController();
  timer.sleep(maxMs, ceilingCtl.signal).then(
    () => stop('ceiling'),
    () => undefined,
  );
  let idleCtl: AbortController | undefined;
  const armIdle = () => {
    idleCtl?.abort();
    const ctl = new AbortController();
    idleCtl = ctl;
    timer.sleep(idleMs, ctl.signal).then(
      () => {
        if (idleCtl === ctl) stop('idle');
      },
      () => undefined,
    );
  };
  const onExternalAbort = () => stop('aborted');
  if (opts.signal?.aborted) stop('aborted');
  opts.signal?.addEventListener('abort', onExternalAbort, { once: true });
  armIdle();

  const decoder = new TextDecoder();
  const it = body[Symbol.asyncIterator]();
  let finished = false;
  try {
    for (;;) {
      const next = it.next();
      // If we stop early this read stays pending until the body is destroyed; never let it go unhandled.
      next.catch(() => undefined);
      let step: IteratorResult<Uint8Array | string>;
      try {
        step = await Promise.race([next, stopped]);
      } catch (err) {
        if (err instanceof AppError) throw err;
        throw brokenError(opts.service, err);
      }
      if (step.done) {
        // A last event without its blank line still counts (some servers close right after it).
        parser.feed(`${decoder.decode()}\n\n`);
        finished = true;
        yield* drain(queue);
        break;
      }
      armIdle();
      opts.onActivity?.();
      parser.feed(typeof step.value === 'string' ? step.value : decoder.decode(step.value, { stream: true }));
      if (overflow) {
        throw new AppError('provider_failed', `${opts.service} sent a stream event too large to read.`, {
          hint: 'This is not a normal answer; the job may still finish — check its status.',
          requestSent: true,
        });
      }
      yield* drain(queue);
    }
  } finally {
    idleCtl?.abort();
    ceilingCtl.abort();
    opts.signal?.removeEventListener('abort', onExternalAbort);
    if (!finished) {
      // Early exit (error, timeout, consumer stopped): release the socket.
      body.destroy?.();
      it.return?.()?.catch(() => undefined);
    }
    if (skipped > 0) opts.log?.debug({ service: opts.service, skipped }, 'stream ended with skipped events');
  }
}

function* drain(queue: SseEvent[]): Generator<SseEvent> {
  while (queue.length > 0) {
    const ev = queue.shift();
    if (ev) yield ev;
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
