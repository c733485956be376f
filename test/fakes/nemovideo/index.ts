/**
 * A loopback fake of the NemoVideo API (providers.md §2), for tests: anonymous tokens, sessions,
 * uploads (multipart and URL), credits, session state, `/run_sse`, render export, and fault switches
 * for every documented error. Unknown routes fail loudly (HTTP 500 + `state.unexpected`), and calls
 * without the attribution headers are recorded in `state.missingAttribution`.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type ChatFaults,
  type FakeSession,
  landPending,
  recomputeDuration,
  stateRead,
  streamChat,
} from './chat.js';
import { checkAnonymousToken, checkRunSse, checkSessionBody, type Refusal } from './contract.js';
import { parseMultipart } from './multipart.js';

export type { FakeSession } from './chat.js';

export interface FakeCall {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: unknown;
}

/** One injected failure: an envelope `code` (HTTP 200) or an HTTP `status`, for `times` matching calls. */
export interface FakeFault {
  /** Path prefix the fault applies to (any path when absent). */
  path?: string;
  code?: number;
  status?: number;
  msg?: string;
  times?: number;
}

export interface FakeFaults extends ChatFaults {
  queue: FakeFault[];
  /** The next render fails with this reason. */
  renderFail?: string | undefined;
  /** Where a finished render puts its URL: top-level `output.url` or enveloped `data.outputUrl`. */
  renderUrlShape: 'output.url' | 'data.outputUrl';
  /** Status reads until a render finishes (pending, processing, ..., completed). */
  renderSteps: number;
}

export interface FakeRender {
  id: string;
  sessionId: string;
  polls: number;
  fail: string | undefined;
}

export interface FakeNemoState {
  tokensIssued: number;
  clientIds: string[];
  /** token -> owner; revoked tokens answer 1001. */
  tokens: Map<string, { clientId: string; revoked: boolean; userId: string }>;
  sessions: Map<string, FakeSession>;
  uploads: { sessionId: string; kind: 'file' | 'url'; files: number; bytes: number; names: string[] }[];
  renders: Map<string, FakeRender>;
  runSseCalls: number;
  streams: ('closed' | 'dropped' | 'lost')[];
  credits: { available: number; frozen: number; total: number };
  missingAttribution: { method: string; path: string; missing: string[] }[];
  unexpected: { method: string; path: string }[];
  /** Requests refused as malformed (contract.ts): what the real service would refuse too. */
  refusals: string[];
}

export interface FakeNemoOptions {
  /** Tokens accepted as a user's NEMO_TOKEN. */
  userTokens?: string[];
  /** Anonymous token lifetime, seconds (default 7 days). */
  tokenTtlSeconds?: number;
}

export interface FakeNemo {
  url: string;
  state: FakeNemoState;
  faults: FakeFaults;
  calls: FakeCall[];
  /** Adds a fault (see {@link FakeFault}). */
  fail(fault: FakeFault): void;
  /** Lands every result held back by `mediaAfterStateReads`, in every session. */
  landPending(): void;
  close(): Promise<void>;
}

const ATTRIBUTION = ['x-skill-source', 'x-skill-version', 'x-skill-platform'];

export async function startFakeNemo(opts: FakeNemoOptions = {}): Promise<FakeNemo> {
  const state: FakeNemoState = {
    tokensIssued: 0,
    clientIds: [],
    tokens: new Map(),
    sessions: new Map(),
    uploads: [],
    renders: new Map(),
    runSseCalls: 0,
    streams: [],
    credits: { available: 100, frozen: 0, total: 100 },
    missingAttribution: [],
    unexpected: [],
    refusals: [],
  };
  const faults: FakeFaults = { queue: [], renderUrlShape: 'output.url', renderSteps: 3 };
  const calls: FakeCall[] = [];
  const userTokens = new Set(opts.userTokens ?? []);
  let seq = 0;

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, { code: 500, msg: `fake error: ${(err as Error).message}` });
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<Done> {
    const raw = await readBody(req);
    const method = req.method ?? 'GET';
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const headers = flatHeaders(req);
    const body = decodeBody(raw, headers['content-type']);
    const call: FakeCall = { method, path, headers };
    if (body !== undefined) call.body = body;
    calls.push(call);

    const missing = ATTRIBUTION.filter((h) => !headers[h]);
    if (missing.length > 0) state.missingAttribution.push({ method, path, missing });

    const fault = takeFault(path);
    if (fault) {
      if (fault.code === 1001) revoke(headers.authorization);
      if (fault.status !== undefined) {
        const extra = fault.status === 429 ? { 'retry-after': '30' } : undefined;
        return send(
          res,
          fault.status,
          { code: fault.status, msg: fault.msg ?? `fault ${fault.status}` },
          extra,
        );
      }
      return send(res, 200, { code: fault.code, msg: fault.msg ?? `fault ${fault.code}`, data: null });
    }

    if (method === 'POST' && path === '/api/auth/anonymous-token') {
      const r = checkAnonymousToken(headers['x-client-id'], raw);
      return r ? refuse(res, r) : anonymousToken(res, headers);
    }

    const userId = authorize(headers.authorization);
    if (!userId) return send(res, 200, { code: 1001, msg: 'token invalid or expired', data: null });

    const route = (verb: string, re: RegExp) => (method === verb ? re.exec(path) : null);
    if (method === 'POST' && path === '/api/tasks/me/with-session/nemo_agent') {
      const r = checkSessionBody(body);
      if (r) return refuse(res, r);
      const id = `sess_${++seq}_${randomBytes(3).toString('hex')}`;
      state.sessions.set(id, {
        id,
        userId,
        draft: { t: [], d: 0 },
        video_infos: [],
        generated_media: [],
        messages: [],
      });
      return ok(res, { task_id: `task_${seq}`, session_id: id, user_id: userId });
    }
    if (method === 'GET' && path === '/api/credits/balance/simple') return ok(res, state.credits);
    const stateRoute = route('GET', /^\/api\/state\/nemo_agent\/me\/([^/]+)\/latest$/);
    if (stateRoute) {
      const s = state.sessions.get(decodeURIComponent(stateRoute[1]!));
      if (!s) return send(res, 200, { code: 1002, msg: 'session not found', data: null });
      stateRead(s);
      return ok(res, {
        state: { draft: s.draft, video_infos: s.video_infos, generated_media: s.generated_media },
      });
    }
    const uploadRoute = route('POST', /^\/api\/upload-video\/nemo_agent\/me\/([^/]+)$/);
    if (uploadRoute) {
      const s = state.sessions.get(decodeURIComponent(uploadRoute[1]!));
      if (!s) return send(res, 200, { code: 1002, msg: 'session not found', data: null });
      return upload(res, s, raw, headers, body);
    }
    if (method === 'POST' && path === '/run_sse') {
      const r = checkRunSse(body);
      if (r) return refuse(res, r);
      state.runSseCalls++;
      const b = body as { session_id?: string; new_message?: { parts?: { text?: string }[] } } | undefined;
      const s = state.sessions.get(String(b?.session_id));
      if (!s) return send(res, 200, { code: 1002, msg: 'session not found', data: null });
      const text = b?.new_message?.parts?.map((p) => p.text ?? '').join('') ?? '';
      state.streams.push(await streamChat(res, s, text, faults, Date.now()));
      return 'done';
    }
    if (method === 'POST' && path === '/api/render/proxy/lambda') return startRender(res, headers, body);
    const renderRoute = route('GET', /^\/api\/render\/proxy\/lambda\/([^/]+)$/);
    if (renderRoute) {
      return renderStatus(res, decodeURIComponent(renderRoute[1]!));
    }
    state.unexpected.push({ method, path });
    return send(res, 500, { code: 500, msg: `fake NemoVideo: unexpected route ${method} ${path}` });
  }

  /** Answers a contract refusal and records it (what the real service would refuse too). */
  function refuse(res: ServerResponse, r: Refusal): Done {
    state.refusals.push(r.msg);
    return send(res, r.status, { code: r.code, msg: r.msg, data: null });
  }

  function takeFault(path: string): FakeFault | undefined {
    const i = faults.queue.findIndex((f) => !f.path || path.startsWith(f.path));
    if (i === -1) return undefined;
    const f = faults.queue[i]!;
    f.times = (f.times ?? 1) - 1;
    if (f.times <= 0) faults.queue.splice(i, 1);
    return f;
  }

  function bearer(auth: string | undefined): string | undefined {
    return /^Bearer (.+)$/.exec(auth ?? '')?.[1];
  }

  function revoke(auth: string | undefined): void {
    const t = state.tokens.get(bearer(auth) ?? '');
    if (t) t.revoked = true;
  }

  function authorize(auth: string | undefined): string | undefined {
    const token = bearer(auth);
    if (!token) return undefined;
    if (userTokens.has(token)) return 'registered-user';
    const t = state.tokens.get(token);
    return t && !t.revoked ? t.userId : undefined;
  }

  function anonymousToken(res: ServerResponse, headers: Record<string, string>): Done {
    const clientId = headers['x-client-id'];
    if (!clientId) return send(res, 400, { code: 400, msg: 'missing X-Client-Id' });
    state.tokensIssued++;
    if (!state.clientIds.includes(clientId)) state.clientIds.push(clientId);
    const token = `nemo_anon_${state.tokensIssued}_${randomBytes(12).toString('hex')}`;
    const userId = `anon_${clientId.slice(0, 8)}`;
    state.tokens.set(token, { clientId, revoked: false, userId });
    const ttl = opts.tokenTtlSeconds ?? 7 * 24 * 3600;
    return ok(res, { token, user_id: userId, expires_at: Math.floor(Date.now() / 1000) + ttl, credits: 100 });
  }

  function upload(
    res: ServerResponse,
    s: FakeSession,
    raw: Buffer,
    headers: Record<string, string>,
    body: unknown,
  ): Done {
    const entries: { name: string; bytes: number }[] = [];
    let kind: 'file' | 'url';
    if ((headers['content-type'] ?? '').startsWith('multipart/form-data')) {
      kind = 'file';
      const parts = parseMultipart(raw, headers['content-type']) ?? [];
      for (const p of parts.filter((x) => x.field === 'files'))
        entries.push({ name: p.filename, bytes: p.bytes });
    } else {
      kind = 'url';
      const b = body as { urls?: unknown; source_type?: unknown } | undefined;
      if (b?.source_type !== 'url' || !Array.isArray(b.urls))
        return send(res, 200, { code: 4000, msg: 'bad upload body' });
      for (const u of b.urls) entries.push({ name: String(u).split('/').pop() ?? 'file', bytes: 0 });
    }
    if (entries.length === 0) return send(res, 200, { code: 4000, msg: 'no files' });
    state.uploads.push({
      sessionId: s.id,
      kind,
      files: entries.length,
      bytes: entries.reduce((n, e) => n + e.bytes, 0),
      names: entries.map((e) => e.name),
    });
    const files = entries.map((e) => {
      const ext = e.name.split('.').pop()?.toLowerCase() ?? '';
      const isAudio = ['mp3', 'wav', 'm4a', 'aac'].includes(ext);
      const cdn = `https://cdn.fake-nemo.test/${s.id}/${++seq}/${encodeURIComponent(e.name)}`;
      const info = {
        filename: e.name,
        file_type: isAudio ? 'audio' : 'video',
        cdn_url: cdn,
        duration: 10,
        width: 1280,
        height: 720,
        fps: 25,
        hash: randomBytes(8).toString('hex'),
      };
      s.video_infos.push(info);
      // Uploads land on the timeline, so the draft becomes exportable.
      s.draft.t.push({ tt: isAudio ? 1 : 0, sg: [{ id: `seg-${seq}`, d: 10_000, src: cdn }], d: 10_000 });
      recomputeDuration(s);
      return info;
    });
    return ok(res, { files });
  }

  function startRender(res: ServerResponse, headers: Record<string, string>, body: unknown): Done {
    // The vendor blocks export without attribution headers.
    if (ATTRIBUTION.some((h) => !headers[h])) return send(res, 402, { code: 402, msg: 'export blocked' });
    const b = body as { id?: unknown; sessionId?: unknown; draft?: unknown; output?: unknown } | undefined;
    const id = typeof b?.id === 'string' ? b.id : '';
    if (!id.startsWith('render_') || !b?.draft || typeof b.sessionId !== 'string') {
      return send(res, 200, { code: 4000, msg: 'id (render_*), sessionId and draft are required' });
    }
    if (state.renders.has(id)) return send(res, 200, { code: 4009, msg: `render id ${id} already used` });
    if (!state.sessions.has(b.sessionId)) return send(res, 200, { code: 1002, msg: 'session not found' });
    state.renders.set(id, { id, sessionId: b.sessionId, polls: 0, fail: faults.renderFail });
    faults.renderFail = undefined;
    return ok(res, { id, status: 'pending' });
  }

  function renderStatus(res: ServerResponse, id: string): Done {
    const r = state.renders.get(id);
    if (!r) return send(res, 404, { code: 404, msg: 'render not found' });
    r.polls++;
    const done = r.polls >= faults.renderSteps;
    const status = done ? (r.fail ? 'failed' : 'completed') : r.polls === 1 ? 'pending' : 'processing';
    const url = done && !r.fail ? `https://cdn.fake-nemo.test/renders/${id}.mp4` : undefined;
    if (faults.renderUrlShape === 'output.url') {
      const out: Record<string, unknown> = {
        id,
        status,
        progress: done ? 100 : Math.round((r.polls / faults.renderSteps) * 100),
      };
      if (url) out.output = { url };
      if (status === 'failed') out.error = r.fail;
      return send(res, 200, out);
    }
    const data: Record<string, unknown> = { id, status };
    if (url) data.outputUrl = url;
    if (status === 'failed') data.error = { message: r.fail };
    return ok(res, data);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    state,
    faults,
    calls,
    fail: (f) => faults.queue.push({ ...f }),
    landPending: () => {
      for (const s of state.sessions.values()) landPending(s);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function ok(res: ServerResponse, data: unknown): Done {
  return send(res, 200, { code: 0, msg: 'success', data });
}

/** Returned by every handler, so a route is visibly answered exactly once. */
type Done = 'done';

function send(res: ServerResponse, status: number, body: unknown, headers?: Record<string, string>): Done {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
  return 'done';
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function flatHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers))
    if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

function decodeBody(raw: Buffer, contentType: string | undefined): unknown {
  if (raw.length === 0) return undefined;
  if ((contentType ?? '').startsWith('multipart/form-data')) {
    const parts = parseMultipart(raw, contentType) ?? [];
    return { multipart: parts.map((p) => ({ field: p.field, filename: p.filename, bytes: p.bytes })) };
  }
  try {
    return JSON.parse(raw.toString('utf8')) as unknown;
  } catch {
    return { unparsed: raw.length };
  }
}
