/**
 * A loopback fake of The Director: the gateway (`POST <url>?action=create|query`) and the direct API
 * (`POST <directUrl>/create_agent_task`...), implementing providers.md §3 with fault switches.
 *
 * It keeps its own task table so tests can assert what a real backend would have seen: how many creates
 * arrived (and whether one was accepted even though its answer was lost), and whether a task was ever
 * queried with the wrong api type (answered 404, as the backend would find nothing). Backend error
 * strings deliberately contain the vendor's name so tests prove the provider scrubs them.
 * Unexpected routes are answered 404 and make `close()` reject, so they can't go unnoticed.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ContractShapes, createRefusal, defaultShapes, shapeQuery } from './contract.js';

export type CreateFault =
  | 'ok'
  /** Backend at capacity; no task. */
  | '503'
  /** JSON `{success:false,error}` with HTTP 500; no task. */
  | '500'
  /** An HTML error page with HTTP 500 (ambiguous for the client). */
  | '500-html'
  /** A proxy timeout: the task IS created upstream, the client only sees 504. */
  | '504'
  /** Daily limit `{error:'video_limit_reached'}`; no task. */
  | '429'
  /** A plain rate limit: HTTP 429 "too many requests" with `Retry-After: 20`; no task. */
  | '429-rate'
  | '401'
  /** HTTP 200 without any id; no task. */
  | 'no-id'
  /** HTTP 200 `{success:false, error}`: refused on purpose; no task. */
  | 'reject'
  /** HTTP 200 `{success:false}` saying the account has no credits left; no task. */
  | 'no-credits'
  /** The task is created and recorded, then the socket is destroyed before any answer. */
  | 'lose';

export type UrlLocation = 'video_url' | 'output_urls' | 'output.video_url' | 'tool_results' | 'none';
export type Via = 'gateway' | 'direct';

export interface FakeDirectorOptions {
  /** Bearer token the gateway accepts. */
  token?: string;
  /** Bearer key the direct API accepts. */
  apiKey?: string;
  /** Status values returned by successive queries of one task (last one repeats). Default [0, 2, 1]. */
  progression?: number[];
  /** Tier 3 result URLs point at this fake (`GET /files/...` serves bytes), so tests can download them. */
  serveResults?: boolean;
}

export interface FakeFaults {
  /** Consumed one per create (either path); an empty queue means 'ok'. */
  create: CreateFault[];
  /** Agent creates are answered as tool tasks carrying `_corrected_api: 'tool'`. */
  correctToTool: boolean;
  /** Where the `_corrected_api` flag sits in the answer. */
  correctedAt: 'top' | 'data';
  /** Every query answers status 2 forever. */
  stall: boolean;
  /** 'status': the final status is -1; 'success-false': queries answer `{success:false}`. */
  fail: 'none' | 'status' | 'success-false';
  /** Where a finished task's URL is put. */
  urlLocation: UrlLocation;
  /** Answer every query with this HTTP status instead. */
  queryHttpStatus: number | undefined;
  /**
   * Tier 3 answers (agent messages starting with `Task type:`): 'native' puts an image's URL in
   * `image_url` and audio's in `audio_url`; 'normalised' puts every URL in `video_url` as the gateway
   * documents for videos. Transcripts: 'segments' (+ text), 'srt' (an SRT body only), 'text' (no timings).
   */
  tier3Urls: 'native' | 'normalised' | 'output_urls' | 'tool_results';
  transcript: 'segments' | 'srt' | 'text';
}

/** What a Tier 3 agent message asks for, from its `Task type:` line. */
export type FakeKind = 'video' | 'image' | 'audio' | 'transcript' | 'post';

export function kindOfMessage(message: unknown): FakeKind {
  const line = typeof message === 'string' ? (/^Task type: (.*)$/m.exec(message)?.[1] ?? '') : '';
  if (/image/i.test(line)) return 'image';
  if (/speech to text/i.test(line)) return 'transcript';
  if (/speech|music|sound effect/i.test(line)) return 'audio';
  if (/post-production/i.test(line)) return /extract frame/.test(line) ? 'image' : 'post';
  return 'video';
}

/** The transcript the fake "hears" in every source. */
export const FAKE_SEGMENTS = [
  { start: 0, end: 1.5, text: 'Hello and welcome.' },
  { start: 1.5, end: 3.25, text: 'Today we test dubbing.' },
];

export interface FakeTask {
  id: string;
  api: 'agent' | 'tool';
  via: Via;
  request: Record<string, unknown>;
  queries: number;
}

export interface FakeCall {
  via: Via;
  action: 'create' | 'query' | 'account';
  /** The api type the client used ('agent' | 'tool'), when the route implies one. */
  api: string | undefined;
  body: Record<string, unknown>;
  authorized: boolean;
  /** HTTP status answered (0 when the socket was destroyed). */
  status: number;
}

/** One input URL the fake fetched on create, as the real service fetches every input itself. */
export interface FakeFetch {
  url: string;
  /** HTTP status of the GET (0: the request failed). */
  status: number;
  /** sha256 (hex) of the bytes received, when the answer was 200. */
  sha256?: string;
  size?: number;
}

export interface FakeDirectorState {
  tasks: Map<string, FakeTask>;
  /** Input URLs on this machine (loopback) fetched at create time; other hosts are not reachable here. */
  fetched: FakeFetch[];
  wrongApiQueries: { id: string; taskApi: string; queriedAs: string }[];
  unexpected: string[];
  account: Record<string, unknown>;
  /** Creates refused as malformed (contract.ts): what the real gateway would refuse too. */
  refusals: string[];
}

export interface FakeDirector {
  /** Gateway URL (use as `config.director.gatewayUrl`). */
  url: string;
  /** Direct API base (use as `config.director.sjinnBaseUrl`). */
  directUrl: string;
  token: string;
  apiKey: string;
  state: FakeDirectorState;
  faults: FakeFaults;
  /** Awkward answer shapes the contract allows (contract.ts), off by default. */
  shapes: ContractShapes;
  calls: FakeCall[];
  creates(): FakeCall[];
  queries(): FakeCall[];
  resultUrl(id: string): string;
  /** The result URL of any task (a video, image, audio...), by what its request asked for. */
  mediaUrl(id: string): string;
  close(): Promise<void>;
}

const GATEWAY_PATH = '/api/gateway/sjinn';
const DIRECT_PATH = '/api/un-api';

export async function startFakeDirector(opts: FakeDirectorOptions = {}): Promise<FakeDirector> {
  const token = opts.token ?? 'gw-test-token-123';
  const apiKey = opts.apiKey ?? 'direct-test-key-456';
  const progression = opts.progression ?? [0, 2, 1];
  const state: FakeDirectorState = {
    tasks: new Map(),
    fetched: [],
    wrongApiQueries: [],
    unexpected: [],
    refusals: [],
    account: { credits: 120, plan: 'Pro', provider_note: 'sjinn account' },
  };
  const faults: FakeFaults = {
    create: [],
    correctToTool: false,
    correctedAt: 'top',
    stall: false,
    fail: 'none',
    urlLocation: 'video_url',
    queryHttpStatus: undefined,
    tier3Urls: 'native',
    transcript: 'segments',
  };
  const shapes = defaultShapes();
  const calls: FakeCall[] = [];
  let counter = 0;
  let base = '';
  const resultUrl = (id: string) =>
    `${opts.serveResults ? `${base}/files` : 'https://cdn.example.test'}/videos/${id}.mp4`;
  const EXT: Record<FakeKind, string> = {
    video: 'videos/ID.mp4',
    post: 'videos/ID.mp4',
    image: 'images/ID.png',
    audio: 'audio/ID.mp3',
    transcript: 'text/ID.srt',
  };
  const kindOf = (id: string): FakeKind => {
    const t = state.tasks.get(id);
    return t?.api === 'agent' ? kindOfMessage(t.request.message) : 'video';
  };
  const mediaUrl = (id: string) =>
    `${opts.serveResults ? `${base}/files` : 'https://cdn.example.test'}/${EXT[kindOf(id)].replace('ID', id)}`;

  /** Answers and returns true, so handlers can `return send(...)`. */
  function send(
    res: ServerResponse,
    call: FakeCall,
    status: number,
    body: unknown,
    via: Via,
    headers: Record<string, string> = {},
  ): true {
    call.status = status;
    // The direct API wraps everything in its envelope; errors carry success:false + errorMsg.
    let payload = body;
    if (via === 'direct' && typeof body === 'object' && body !== null && !('errorMsg' in body)) {
      const b = body as Record<string, unknown>;
      const ok = b.success !== false && status < 400;
      payload = {
        success: ok,
        errorMsg: ok ? '' : String(b.error ?? 'error'),
        error_code: ok ? 0 : status,
        data: b.data ?? null,
        ...(b._corrected_api ? { _corrected_api: b._corrected_api } : {}),
      };
    }
    const text = JSON.stringify(payload);
    res.writeHead(status, {
      ...headers,
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
    });
    res.end(text);
    return true;
  }

  function createTask(via: Via, api: 'agent' | 'tool', body: Record<string, unknown>): FakeTask {
    counter += 1;
    const id = `${api === 'agent' ? 'chat' : 'task'}-${counter}`;
    const task: FakeTask = { id, api, via, request: body, queries: 0 };
    state.tasks.set(id, task);
    return task;
  }

  /** GETs `url` as the service would and records what it received (bounded: inputs are small in tests). */
  async function fetchInput(url: string): Promise<FakeFetch> {
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(10_000) });
      const bytes = Buffer.from(await r.arrayBuffer());
      if (r.status !== 200) return { url, status: r.status };
      return {
        url,
        status: 200,
        sha256: createHash('sha256').update(bytes).digest('hex'),
        size: bytes.length,
      };
    } catch {
      return { url, status: 0 };
    }
  }

  /** Every loopback http URL of a create (tool input fields, or the agent message's text). */
  function inputUrls(body: Record<string, unknown>): string[] {
    const text = JSON.stringify([body.input ?? null, body.message ?? null]);
    const found = text.match(/http:\/\/127\.0\.0\.1:\d+\/[^\s"\\]+/g) ?? [];
    // Not this fake's own result URLs (a compose of earlier results): only inputs from elsewhere.
    return [...new Set(found)].filter((u) => !u.startsWith(`${base}/`));
  }

  async function handleCreate(
    req: IncomingMessage,
    res: ServerResponse,
    call: FakeCall,
    api: string | undefined,
  ) {
    const { via, body } = call;
    for (const u of inputUrls(body)) state.fetched.push(await fetchInput(u));
    if (api !== 'agent' && api !== 'tool')
      return send(res, call, 400, { error: 'api must be agent or tool' }, via);
    const refusal = createRefusal(api, body);
    if (refusal) {
      state.refusals.push(refusal);
      return send(res, call, 400, { error: refusal }, via);
    }
    const fault = faults.create.shift() ?? 'ok';
    switch (fault) {
      case '503':
        return send(
          res,
          call,
          503,
          { error: 'service_unavailable', message: 'Sjinn workers are all busy' },
          via,
        );
      case '500':
        return send(res, call, 500, { success: false, error: 'Internal error in sjinn upstream' }, via);
      case '500-html':
        call.status = 500;
        res.writeHead(500, { 'content-type': 'text/html' });
        res.end('<html><body>500 Internal Server Error</body></html>');
        return true;
      case '429':
        return send(
          res,
          call,
          429,
          { error: 'video_limit_reached', message: 'Daily video limit reached' },
          via,
        );
      case '429-rate':
        return send(
          res,
          call,
          429,
          { error: 'too_many_requests', message: 'too many requests, retry after 20 s' },
          via,
          { 'retry-after': '20' },
        );
      case '401':
        return send(res, call, 401, { error: 'unauthorized' }, via);
      case 'no-id':
        return send(res, call, 200, { success: true, data: {} }, via);
      case 'reject':
        return send(res, call, 200, { success: false, error: 'Sjinn policy: prompt rejected' }, via);
      case 'no-credits':
        return send(res, call, 200, { success: false, error: 'Insufficient credits on sjinn account' }, via);
      case 'lose': {
        createTask(via, api, body);
        call.status = 0;
        req.socket.destroy();
        return;
      }
      case '504':
        createTask(via, api, body);
        return send(res, call, 504, { error: 'gateway timeout' }, via);
      case 'ok':
        break;
    }
    if (api === 'agent' && faults.correctToTool) {
      const task = createTask(via, 'tool', body);
      const answer =
        faults.correctedAt === 'top'
          ? { success: true, _corrected_api: 'tool', data: { task_id: task.id } }
          : { success: true, data: { task_id: task.id, _corrected_api: 'tool' } };
      return send(res, call, 200, answer, via);
    }
    const task = createTask(via, api, body);
    send(
      res,
      call,
      200,
      { success: true, data: api === 'agent' ? { chat_id: task.id } : { task_id: task.id } },
      via,
    );
  }

  function tier3Fields(id: string, kind: Exclude<FakeKind, 'video'>): Record<string, unknown> {
    const url = mediaUrl(id);
    const out: Record<string, unknown> = {};
    if (kind === 'transcript') {
      if (faults.transcript === 'segments')
        Object.assign(out, {
          transcript: FAKE_SEGMENTS.map((x) => x.text).join(' '),
          segments: FAKE_SEGMENTS,
        });
      else if (faults.transcript === 'srt')
        out.srt =
          '1\n00:00:00,000 --> 00:00:01,500\nHello and welcome.\n\n2\n00:00:01,500 --> 00:00:03,250\nToday we test dubbing.\n';
      else out.text = 'Hello and welcome. Today we test dubbing.';
      return out;
    }
    if (faults.urlLocation === 'none') return out;
    switch (faults.tier3Urls) {
      case 'native':
        if (kind === 'image') out.image_url = url;
        else if (kind === 'audio') out.audio_url = url;
        else out.video_url = url;
        return out;
      case 'normalised':
        return { video_url: url };
      case 'output_urls':
        return { output_urls: [url] };
      case 'tool_results':
        return { tool_results: [{ result: ['not-a-url', url] }] };
    }
  }

  function urlFields(id: string): Record<string, unknown> {
    const kind = kindOf(id);
    if (kind !== 'video') return tier3Fields(id, kind);
    const url = resultUrl(id);
    switch (faults.urlLocation) {
      case 'video_url':
        return { video_url: url };
      case 'output_urls':
        return { output_urls: [url] };
      case 'output.video_url':
        return { output: { video_url: url } };
      case 'tool_results':
        return { tool_results: [{ result: ['not-a-url', url] }] };
      case 'none':
        return {};
    }
  }

  function handleQuery(res: ServerResponse, call: FakeCall, api: string | undefined) {
    const { via, body } = call;
    if (faults.queryHttpStatus)
      return send(res, call, faults.queryHttpStatus, { error: 'forced query status' }, via);
    const id = String(body.chat_id ?? body.task_id ?? '');
    const task = state.tasks.get(id);
    if (!task) return send(res, call, 404, { error: 'task not found' }, via);
    const idField = api === 'agent' ? 'chat_id' : 'task_id';
    if (task.api !== api || body[idField] !== id) {
      state.wrongApiQueries.push({ id, taskApi: task.api, queriedAs: String(api) });
      return send(res, call, 404, { error: 'task not found' }, via);
    }
    task.queries += 1;
    if (faults.fail === 'success-false') {
      return send(res, call, 200, { success: false, error: 'Sjinn generation failed: content policy' }, via);
    }
    let status = faults.stall ? 2 : (progression[Math.min(task.queries - 1, progression.length - 1)] ?? 1);
    if (status === 1 && faults.fail === 'status') status = -1;
    const data: Record<string, unknown> = { status };
    if (status === 1) Object.assign(data, urlFields(id));
    if (status === -1) data.error = 'sjinn render failed: out of GPU memory';
    send(res, call, 200, { success: true, data: shapeQuery(shapes, data) }, via);
  }

  async function readJson(req: IncomingMessage): Promise<Record<string, unknown> | undefined> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    if (!text) return {};
    try {
      const v = JSON.parse(text) as unknown;
      return typeof v === 'object' && v !== null && !Array.isArray(v)
        ? (v as Record<string, unknown>)
        : undefined;
    } catch {
      return undefined;
    }
  }

  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const route = `${req.method} ${url.pathname}${url.search}`;
      if (opts.serveResults && req.method === 'GET' && url.pathname.startsWith('/files/')) {
        const bytes = Buffer.from(`fake director result ${url.pathname}\n`.repeat(64));
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.length });
        res.end(bytes);
        return;
      }
      const body = await readJson(req);
      const auth = req.headers.authorization ?? '';
      const unexpected = () => {
        state.unexpected.push(route);
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: `fake director: unexpected route ${route}` }));
        return true;
      };
      if (req.method !== 'POST' || body === undefined) return unexpected();
      let via: Via;
      let action: FakeCall['action'];
      let api: string | undefined;
      if (url.pathname === GATEWAY_PATH) {
        via = 'gateway';
        const a = url.searchParams.get('action');
        if (a !== 'create' && a !== 'query') return unexpected();
        action = a;
        api = typeof body.api === 'string' ? body.api : undefined;
      } else if (url.pathname.startsWith(`${DIRECT_PATH}/`)) {
        via = 'direct';
        const name = url.pathname.slice(DIRECT_PATH.length + 1);
        const table: Record<string, [FakeCall['action'], string | undefined]> = {
          create_agent_task: ['create', 'agent'],
          create_tool_task: ['create', 'tool'],
          query_agent_task_status: ['query', 'agent'],
          query_tool_task_status: ['query', 'tool'],
          query_account_status: ['account', undefined],
        };
        const hit = table[name];
        if (!hit) return unexpected();
        [action, api] = hit;
      } else {
        return unexpected();
      }
      const authorized = auth === `Bearer ${via === 'gateway' ? token : apiKey}`;
      const call: FakeCall = { via, action, api, body, authorized, status: 0 };
      calls.push(call);
      if (!authorized) return send(res, call, 401, { error: 'invalid or missing token' }, via);
      if (action === 'create') return await handleCreate(req, res, call, api);
      if (action === 'query') return handleQuery(res, call, api);
      send(res, call, 200, { success: true, data: state.account }, via);
    })().catch((err: unknown) => {
      state.unexpected.push(`handler error: ${String(err)}`);
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  base = `http://127.0.0.1:${port}`;

  return {
    url: `${base}${GATEWAY_PATH}`,
    directUrl: `${base}${DIRECT_PATH}`,
    token,
    apiKey,
    state,
    faults,
    shapes,
    calls,
    creates: () => calls.filter((c) => c.action === 'create'),
    queries: () => calls.filter((c) => c.action === 'query'),
    resultUrl,
    mediaUrl,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (state.unexpected.length > 0) {
        throw new Error(`fake director saw unexpected requests: ${state.unexpected.join(', ')}`);
      }
    },
  };
}
