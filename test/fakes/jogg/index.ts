/**
 * Loopback fake of the Jogg API (providers.md section 1), including its awkward parts: envelope codes
 * on HTTP 200, the result nested under `data.data`, latest-matching lookup by exact URL strings, a
 * signed PUT URL that must not receive the API key. Fault switches cover what the real one may do.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { within } from '../../helpers/wait.js';
import {
  checkCreate,
  checkLookup,
  checkSignedPut,
  checkUploadRequest,
  type Refusal,
  type SignedAsset,
} from './contract.js';

export interface JoggTask {
  task_id: string;
  video_url: string;
  audio_url: string;
  playback_type: string;
  status: 'pending' | 'processing' | 'success' | 'failed';
  queries: number;
  created_at: number;
  completed_at?: number;
}

export interface JoggFaults {
  /** Accept the next N creates, record the task, then destroy the socket without answering. */
  loseCreateAnswer: number;
  /** Answer creates with this envelope code (HTTP 200). */
  createCode?: number;
  /** Answer every call with this envelope code (HTTP 200). */
  allCode?: number;
  /** Query this many times (pending, processing...) before success. */
  queriesToFinish: number;
  /** New tasks end as failed with this message. */
  failTasks?: string;
  /** Return HTTP 503 with an HTML page for the next N GET queries. */
  queryHtml503: number;
  /** Return an HTML page with HTTP 200 for everything. */
  htmlOk: boolean;
  /** Answer with a body of this many bytes (JSON string padding). */
  hugeBody?: number;
  /** Result URL to hand out on success (default: a URL on this fake). */
  resultUrl?: string;
  /** Make `GET /result/...` redirect to this Location. */
  resultRedirect?: string;
  /** The latest-matching lookup finds nothing (as if the index lagged behind). */
  lookupBlind: boolean;
  /** Delay every answer by this many ms. */
  delayMs: number;
  /** Success tasks report a wrong type for duration_seconds etc. */
  wrongTypes: boolean;
  /** Cut every JSON answer in half (with a matching Content-Length): a complete body, broken JSON. */
  truncateJson?: boolean;
  /** Accept the next N creates, record the task, and never answer (the socket stays open): a create in flight. */
  holdCreates: number;
  /** Answer latest-matching lookups only once this settles: a pause between a claim and its send. */
  lookupGate?: Promise<unknown>;
  /** Contract shapes the client must survive: failed tasks carry no `error` at all. */
  failWithoutError: boolean;
  /** Contract shapes: unfinished tasks report this status string (one not in the documented list). */
  unknownStatus?: string;
}

export interface JoggCall {
  method: string;
  path: string;
  apiKey: string | undefined;
  platform: string | undefined;
  body?: unknown;
  bytes?: number;
}

export interface FakeJogg {
  url: string;
  apiKey: string;
  faults: JoggFaults;
  tasks: Map<string, JoggTask>;
  calls: JoggCall[];
  /** Every request the fake refused as malformed (what the real service would refuse too). */
  refusals: string[];
  count(method: string, pathPrefix: string): number;
  /** Bytes received per signed upload, and whether any carried the API key. */
  puts: {
    path: string;
    bytes: number;
    sha256: string;
    apiKeySeen: boolean;
    contentType: string | undefined;
  }[];
  quota: number;
  /** Resolves once a call matching `pred` has been seen (at once if one already was). */
  seen(pred: (c: JoggCall) => boolean): Promise<JoggCall>;
  close(): Promise<void>;
}

const RESULT_BYTES = Buffer.from('fake-mp4-bytes:'.repeat(64));

export async function startFakeJogg(opts: { apiKey?: string } = {}): Promise<FakeJogg> {
  const apiKey = opts.apiKey ?? 'jogg-test-key-0123456789';
  const tasks = new Map<string, JoggTask>();
  const assets = new Map<string, SignedAsset>();
  const calls: JoggCall[] = [];
  const puts: FakeJogg['puts'] = [];
  const refusals: string[] = [];
  const faults: JoggFaults = {
    loseCreateAnswer: 0,
    queriesToFinish: 2,
    queryHtml503: 0,
    htmlOk: false,
    lookupBlind: false,
    delayMs: 0,
    wrongTypes: false,
    holdCreates: 0,
    failWithoutError: false,
  };
  const waiters: { pred: (c: JoggCall) => boolean; resolve: (c: JoggCall) => void }[] = [];
  const record = (c: JoggCall) => {
    calls.push(c);
    for (const w of [...waiters])
      if (w.pred(c)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(c);
      }
  };
  let base = '';
  const fake: FakeJogg = {
    url: '',
    apiKey,
    faults,
    tasks,
    calls,
    refusals,
    puts,
    quota: 1000,
    count: (method, prefix) => calls.filter((c) => c.method === method && c.path.startsWith(prefix)).length,
    seen: (pred) => {
      const done = calls.find(pred);
      return done
        ? Promise.resolve(done)
        : within(
            new Promise((resolve) => waiters.push({ pred, resolve })),
            'a matching call at the Jogg fake',
          );
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };

  const send = (res: ServerResponse, status: number, body: unknown) => {
    const full = JSON.stringify(body);
    const text = faults.truncateJson ? full.slice(0, Math.floor(full.length / 2)) : full;
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };
  const ok = (res: ServerResponse, data: unknown) => {
    if (faults.hugeBody) {
      send(res, 200, { code: 0, msg: 'ok', data, pad: 'x'.repeat(faults.hugeBody) });
      return;
    }
    send(res, 200, { code: 0, msg: 'success', data });
  };
  const code = (res: ServerResponse, c: number, msg: string) => send(res, 200, { code: c, msg, data: null });
  /** Answers a contract refusal; true when there was one. */
  const refuse = (res: ServerResponse, r: Refusal | undefined): boolean => {
    if (!r) return false;
    if (r.kind === 'envelope') code(res, r.code, r.msg);
    else
      res.writeHead(403, { 'content-type': 'application/xml' }).end(`<Error><Code>${r.msg}</Code></Error>`);
    refusals.push(r.msg);
    return true;
  };
  const ASSET_HOST = 'https://assets.jogg.example/';
  const assetOf = (u: string) =>
    u.startsWith(ASSET_HOST) ? assets.get(u.slice(ASSET_HOST.length).split('/')[0] ?? '') : 'foreign';

  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname;
    // Signed uploads are hashed as they stream in (never held whole), like a real object store.
    const isPut = req.method === 'PUT' && path.startsWith('/signed/');
    const putHash = createHash('sha256');
    let putBytes = 0;
    if (isPut) {
      for await (const c of req) {
        putHash.update(c as Buffer);
        putBytes += (c as Buffer).length;
      }
    }
    const raw = isPut ? Buffer.alloc(0) : await readBody(req);
    const call: JoggCall = {
      method: req.method ?? 'GET',
      path: path + url.search,
      apiKey: header(req, 'x-api-key'),
      platform: header(req, 'x-api-platform'),
      bytes: raw.length,
    };
    if (raw.length && (req.headers['content-type'] ?? '').includes('json')) {
      try {
        call.body = JSON.parse(raw.toString('utf8'));
      } catch {
        call.body = raw.toString('utf8');
      }
    }
    record(call);
    if (faults.delayMs) await new Promise((r) => setTimeout(r, faults.delayMs));

    // Signed storage URL: no API key expected (or allowed).
    if (req.method === 'PUT' && path.startsWith('/signed/')) {
      puts.push({
        path,
        bytes: putBytes,
        sha256: putHash.digest('hex'),
        apiKeySeen: call.apiKey !== undefined,
        contentType: header(req, 'content-type'),
      });
      const id = path.slice('/signed/'.length);
      const a = assets.get(id);
      if (refuse(res, checkSignedPut(a, url.searchParams.get('sig'), header(req, 'content-type')))) return;
      if (a) a.uploaded = true;
      res.writeHead(200).end();
      return;
    }
    if (req.method === 'GET' && path.startsWith('/result/')) {
      if (faults.resultRedirect) {
        res.writeHead(302, { location: faults.resultRedirect }).end();
        return;
      }
      res
        .writeHead(200, { 'content-type': 'video/mp4', 'content-length': RESULT_BYTES.length })
        .end(RESULT_BYTES);
      return;
    }
    if (faults.htmlOk) {
      res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>Maintenance</body></html>');
      return;
    }
    if (call.apiKey !== apiKey) {
      code(res, 10105, 'invalid api key');
      return;
    }
    if (faults.allCode !== undefined) {
      code(res, faults.allCode, 'fault');
      return;
    }

    if (req.method === 'POST' && path === '/v2/upload/asset') {
      if (refuse(res, checkUploadRequest(call.body))) return;
      const b = call.body as { filename: string; content_type: string };
      const id = randomUUID();
      const sig = randomUUID().slice(0, 8);
      assets.set(id, { filename: b.filename, contentType: b.content_type, sig, uploaded: false });
      ok(res, {
        sign_url: `${base}/signed/${id}?sig=${sig}`,
        asset_url: `https://assets.jogg.example/${id}/${encodeURIComponent(b.filename)}`,
      });
      return;
    }
    if (req.method === 'GET' && path === '/v2/lip_sync_video') {
      if (refuse(res, checkLookup(url.searchParams))) return;
      if (faults.lookupGate) await faults.lookupGate;
      const v = url.searchParams.get('video_url');
      const a = url.searchParams.get('audio_url');
      const p = url.searchParams.get('playback_type') ?? 'normal';
      const match = faults.lookupBlind
        ? undefined
        : [...tasks.values()]
            .filter((t) => t.video_url === v && t.audio_url === a && t.playback_type === p)
            .at(-1);
      if (!match) {
        code(res, 17003, 'task not found');
        return;
      }
      ok(res, view(match));
      return;
    }
    if (req.method === 'POST' && path === '/v2/create_lip_sync_video') {
      if (faults.createCode !== undefined) {
        code(res, faults.createCode, 'create refused');
        return;
      }
      if (refuse(res, checkCreate(call.body, assetOf))) return;
      const b = call.body as { video_url: string; audio_url: string; playback_type: string };
      const t: JoggTask = {
        task_id: `jt_${randomUUID().slice(0, 8)}`,
        video_url: b.video_url,
        audio_url: b.audio_url,
        playback_type: b.playback_type,
        status: 'pending',
        queries: 0,
        created_at: Math.floor(Date.now() / 1000),
      };
      tasks.set(t.task_id, t);
      fake.quota -= 1;
      if (faults.loseCreateAnswer > 0) {
        faults.loseCreateAnswer -= 1;
        req.socket.destroy();
        return;
      }
      if (faults.holdCreates > 0) {
        faults.holdCreates -= 1;
        return;
      }
      ok(res, { task_id: t.task_id, status: 'pending' });
      return;
    }
    if (req.method === 'GET' && path.startsWith('/v2/lip_sync_video/')) {
      if (faults.queryHtml503 > 0) {
        faults.queryHtml503 -= 1;
        res.writeHead(503, { 'content-type': 'text/html' }).end('<html>503 Service Unavailable</html>');
        return;
      }
      const t = tasks.get(decodeURIComponent(path.slice('/v2/lip_sync_video/'.length)));
      if (!t) {
        code(res, 10104, 'task not found');
        return;
      }
      t.queries += 1;
      advance(t);
      ok(res, view(t));
      return;
    }
    if (req.method === 'GET' && path === '/v2/user/remaining_quota') {
      ok(res, { remaining_quota: fake.quota });
      return;
    }
    // Fail loudly on anything unexpected.
    res
      .writeHead(500, { 'content-type': 'application/json' })
      .end(JSON.stringify({ code: 50000, msg: `fake: unexpected ${req.method} ${path}` }));
  });

  function advance(t: JoggTask) {
    if (t.status === 'success' || t.status === 'failed') return;
    if (t.queries >= faults.queriesToFinish) {
      t.status = faults.failTasks ? 'failed' : 'success';
      t.completed_at = Math.floor(Date.now() / 1000);
    } else if (t.queries >= 1) {
      t.status = 'processing';
    }
  }

  function view(t: JoggTask) {
    const shown = faults.unknownStatus && (t.status === 'pending' || t.status === 'processing');
    const out: Record<string, unknown> = {
      task_id: t.task_id,
      status: shown ? faults.unknownStatus : t.status,
      created_at: t.created_at,
    };
    if (t.status === 'success') {
      out.completed_at = t.completed_at;
      out.data = faults.wrongTypes
        ? { result_url: 12345, cover_url: ['x'], duration_seconds: 'long' }
        : {
            result_url: faults.resultUrl ?? `${base}/result/${t.task_id}.mp4`,
            cover_url: `${base}/result/${t.task_id}.jpg`,
            duration_seconds: 12.5,
          };
    }
    if (t.status === 'failed' && !faults.failWithoutError) out.error = { message: faults.failTasks };
    return out;
  }

  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.url = base;
  return fake;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
