/**
 * Resumable answer streams (issue 26): a call whose SSE answer is cut — its instance died behind a load
 * balancer, a proxy dropped the connection — is answered again, by any instance, instead of leaving the
 * client waiting out its own timeout.
 *
 * The mechanism is the one the 2025-11-25 transport describes (and both SDK clients implement): the
 * server starts each answer stream with a priming event that carries an event id and a `retry` time; a
 * client whose stream ends before its answer comes back with `GET` and `Last-Event-ID`. The SDK's own
 * event stores replay what one process wrote, which dies with that process; here the stream id names a
 * row in the ledger (ledger-streams.ts) that keeps the request itself, so the instance the client comes
 * back to runs the request again and streams its answer. That is safe because every tool is
 * idempotent through the ledger (the same job is the same task, never a second paid create), with one
 * exception handled here: `force_recreate` is dropped from a call that is run again (a forced create is
 * sent at most once; its task is found again without it).
 *
 * The 1.x client also comes back after a stream that carried an error answer (it only counts results as
 * answers), and would be answered the same error again and again: a stream whose error answer went out
 * is recorded, and coming back to it is answered 204 (no content: both clients stop there). A result is
 * never recorded: a client that comes back after one missed it (the bytes left, the client never read
 * them), so it is answered again.
 */
import { randomBytes } from 'node:crypto';
import type { AuthInfo } from '@modelcontextprotocol/server';
import type { App } from '../app.js';

/** How long after a cut the client waits before it comes back (the `retry` of the priming event). */
export const RESUME_RETRY_MS = 1000;
/** How long a stream can be resumed (a call's budget is about a minute; a client comes back within seconds). */
export const RESUMABLE_FOR_MS = 10 * 60_000;
/** The protocol headers kept with the request: what the SDK's router reads besides the body. */
const KEPT_HEADERS = ['mcp-protocol-version', 'mcp-method', 'mcp-name'] as const;
const STREAM_ID = /^ls1-[A-Za-z0-9_-]{22}$/;

type HandlerFetch = (
  request: Request,
  opts: { authInfo?: AuthInfo; parsedBody?: unknown },
) => Promise<Response>;

interface JsonRpcRequest {
  jsonrpc: '2.0';
  id: string | number;
  method: string;
  params?: { name?: unknown; arguments?: Record<string, unknown> } & Record<string, unknown>;
}

/** A single JSON-RPC request whose answer may stream (a listen stream never ends: it is opened again instead). */
function resumable(body: unknown): body is JsonRpcRequest {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return false;
  const m = body as Partial<JsonRpcRequest>;
  return (
    typeof m.method === 'string' &&
    m.method !== 'subscriptions/listen' &&
    (typeof m.id === 'string' || typeof m.id === 'number')
  );
}

const isSse = (r: Response) =>
  (r.headers.get('content-type') ?? '').toLowerCase().startsWith('text/event-stream');

export interface ResumeDeps {
  app: App;
  fetch: HandlerFetch;
  principalOf(auth: AuthInfo | undefined): string;
}

export interface ResumableStreams {
  /** Serves a POST: an SSE answer to a single request starts with a priming event naming a kept stream. */
  post(request: Request, body: unknown, authInfo: AuthInfo | undefined): Promise<Response>;
  /**
   * Serves a `GET` with `Last-Event-ID`: the stream's request run again, its answer streamed (204 once it
   * was answered); 404 with a sentence when the id names no stream of this caller.
   */
  resume(request: Request, lastEventId: string, authInfo: AuthInfo | undefined): Promise<Response>;
  /** The request a resumption would run, for the checks a POST of it would pass (the pay scope). */
  requestOf(lastEventId: string, authInfo: AuthInfo | undefined): Promise<unknown>;
}

export function resumableStreams(deps: ResumeDeps): ResumableStreams {
  const { app } = deps;
  const streams = () => app.ledger.streams;
  const answered = (id: string) =>
    streams()
      .answered(id, app.clock.now())
      .catch((err) =>
        app.log.warn(
          { err: app.redactor.redact(String(err)), stream: id },
          'answer stream: could not record its end',
        ),
      );

  const find = async (lastEventId: string, authInfo: AuthInfo | undefined) => {
    if (!STREAM_ID.test(lastEventId)) return undefined;
    const row = await streams().get(lastEventId, app.clock.now() - RESUMABLE_FOR_MS);
    // Another caller's stream reads exactly like a missing one.
    return row && row.principal === deps.principalOf(authInfo) ? row : undefined;
  };

  return {
    async post(request, body, authInfo) {
      const response = await deps.fetch(request, { ...(authInfo ? { authInfo } : {}), parsedBody: body });
      if (!isSse(response) || !response.body || !resumable(body)) return response;
      const id = `ls1-${randomBytes(16).toString('base64url')}`;
      const headers: Record<string, string> = {};
      for (const h of KEPT_HEADERS) {
        const v = request.headers.get(h);
        if (v !== null) headers[h] = v;
      }
      try {
        const row = {
          id,
          principal: deps.principalOf(authInfo),
          request: JSON.stringify(body),
          headers: JSON.stringify(headers),
          createdAt: app.clock.now(),
        };
        await streams().put(row, RESUMABLE_FOR_MS);
      } catch (err) {
        // The answer still goes out, only not resumable: a call is never refused for this.
        app.log.warn(
          { err: app.redactor.redact(String(err)) },
          'answer stream not resumable: could not record it',
        );
        return response;
      }
      return primed(response, id, () => void answered(id));
    },

    async requestOf(lastEventId, authInfo) {
      const row = await find(lastEventId, authInfo);
      return row ? JSON.parse(row.request) : undefined;
    },

    async resume(request, lastEventId, authInfo) {
      const row = await find(lastEventId, authInfo);
      if (!row)
        return Response.json(
          {
            jsonrpc: '2.0',
            error: {
              code: -32000,
              message:
                'That answer stream is unknown here or has expired (streams can be resumed for 10 minutes). Send the request again: a job that was started is found again, never paid twice.',
            },
            id: null,
          },
          { status: 404 },
        );
      if (row.answeredAt !== undefined) return new Response(null, { status: 204 });
      const body = resumedRequest(JSON.parse(row.request) as JsonRpcRequest);
      const headers = new Headers(JSON.parse(row.headers) as Record<string, string>);
      headers.set('content-type', 'application/json');
      headers.set('accept', 'application/json, text/event-stream');
      const auth = request.headers.get('authorization');
      if (auth) headers.set('authorization', auth);
      const post = new Request(request.url, {
        method: 'POST',
        headers,
        body: JSON.stringify(body),
        signal: request.signal,
      });
      app.log.info(
        { stream: row.id, method: body.method },
        'answer stream resumed: running its request again',
      );
      const response = await deps.fetch(post, { ...(authInfo ? { authInfo } : {}), parsedBody: body });
      return asStream(response, row.id, () => void answered(row.id));
    },
  };
}

/** The request as it is run again: a forced create is never sent twice (see the file's comment). */
export function resumedRequest(body: JsonRpcRequest): JsonRpcRequest {
  const args = body.params?.arguments;
  if (body.method !== 'tools/call' || !args || !('force_recreate' in args)) return body;
  const { force_recreate: _dropped, ...rest } = args;
  return { ...body, params: { ...body.params, arguments: rest } };
}

const encoder = new TextEncoder();

/**
 * `response`'s SSE body behind a priming event. When the body ends by itself and its last event was an
 * error answer, `onErrorAnswer` (see the file's comment; a result answer is never recorded: a client
 * that comes back after one missed it, and is answered again).
 */
function primed(response: Response, id: string, onErrorAnswer: () => void, first?: Uint8Array): Response {
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const head = encoder.encode(`id: ${id}\nretry: ${RESUME_RETRY_MS}\ndata: \n\n`);
  const events = lastEvent();
  if (first) events.add(first);
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(head);
      if (first) c.enqueue(first);
    },
    async pull(c) {
      const { done, value } = await reader.read();
      if (!done) {
        events.add(value);
        return c.enqueue(value);
      }
      c.close();
      if (isErrorAnswer(events.last())) onErrorAnswer();
    },
    cancel: (reason) => reader.cancel(reason),
  });
  return new Response(body, { status: response.status, headers: response.headers });
}

/** The last complete SSE event with data of a stream read chunk by chunk (held: one event at most). */
function lastEvent() {
  const dec = new TextDecoder();
  let pending = '';
  let last = '';
  return {
    add(chunk: Uint8Array) {
      const from = Math.max(0, pending.length - 1);
      pending += dec.decode(chunk, { stream: true });
      let at = pending.indexOf('\n\n', from);
      while (at >= 0) {
        const event = pending.slice(0, at);
        pending = pending.slice(at + 2);
        if (/^data:/m.test(event)) last = event;
        at = pending.indexOf('\n\n');
      }
    },
    last: () => last,
  };
}

function isErrorAnswer(event: string): boolean {
  const data = event
    .split('\n')
    .filter((l) => l.startsWith('data:'))
    .map((l) => l.slice(5).replace(/^ /, ''))
    .join('\n');
  try {
    const m = JSON.parse(data) as { error?: unknown; method?: unknown };
    return m.error !== undefined && m.method === undefined;
  } catch {
    return false;
  }
}

/** The answer to a resumption, always a stream the clients read: a JSON answer becomes its one event. */
async function asStream(response: Response, id: string, onEnd: () => void): Promise<Response> {
  if (isSse(response) && response.body) return primed(response, id, onEnd);
  const text = response.body ? await response.text() : '';
  if (!text) return new Response(null, { status: 204 });
  const headers = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache, no-transform' };
  const empty = new Response(new ReadableStream({ start: (c) => c.close() }), { status: 200, headers });
  return primed(empty, id, onEnd, encoder.encode(`event: message\ndata: ${text.replace(/\n/g, '')}\n\n`));
}
