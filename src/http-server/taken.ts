/**
 * When an HTTP client has taken an answer (issue 24 item 1): a call's answer travels on its POST's
 * response, which finishes once every byte is handed to the socket. Media reads hold their bytes in the
 * media budget until then; a response its client does not read within `timeoutMs` is dropped (the
 * connection closed), which frees its bytes instead of holding them while the socket stays open.
 */
import type { ServerResponse } from 'node:http';
import type { RequestId } from '@modelcontextprotocol/server';
import type { Clock } from '../clock.js';

export interface TakenOptions {
  timeoutMs: number;
  clock: Clock;
  onTimeout?: (session: string, requestId: RequestId) => void;
}

export class PendingResponses {
  private readonly byKey = new Map<string, ServerResponse>();

  constructor(private readonly o: TakenOptions) {}

  /** Remembers which response carries the answers to the requests of `body` (one or a batch). */
  register(session: string, body: unknown, res: ServerResponse): void {
    const keys: string[] = [];
    for (const m of Array.isArray(body) ? body : [body]) {
      const id = (m as { id?: unknown } | null)?.id;
      if ((typeof id === 'string' || typeof id === 'number') && (m as { method?: unknown }).method)
        keys.push(key(session, id));
    }
    if (!keys.length) return;
    for (const k of keys) this.byKey.set(k, res);
    res.once('close', () => {
      for (const k of keys) if (this.byKey.get(k) === res) this.byKey.delete(k);
    });
  }

  /** Resolves when the response carrying `requestId` has finished or closed (dropped after the timeout). */
  taken(session: string | undefined, requestId: RequestId): Promise<void> {
    const res = session === undefined ? undefined : this.byKey.get(key(session, requestId));
    if (!res || res.writableFinished || res.destroyed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const stop = new AbortController();
      const done = () => {
        stop.abort();
        res.off('finish', done);
        res.off('close', done);
        resolve();
      };
      res.once('finish', done);
      res.once('close', done);
      this.o.clock.sleep(this.o.timeoutMs, stop.signal).then(
        () => {
          this.o.onTimeout?.(session as string, requestId);
          res.destroy();
        },
        () => undefined,
      );
    });
  }
}

const key = (session: string, id: RequestId) => `${session}\0${typeof id}:${id}`;
