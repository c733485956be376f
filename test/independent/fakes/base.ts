// A tiny loopback HTTP server with a request log, a "request seen" event and fault switches.
// Written from providers.md alone (independent of the project's own fakes).
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type FaultKind =
  | 'status500'
  | 'status503'
  | 'status429'
  | 'reset'
  | 'hang'
  | 'malformed'
  | 'truncated'
  | 'html502'
  | 'lost'
  | 'sseDrop'
  /** The handler's side effect happens, then the answer never comes. */
  | 'acceptThenHang'
  /** The request waits (nothing happens yet) until release() is called, then is handled normally. */
  | 'hold';

export interface Fault {
  /** "METHOD path-prefix" (path without query), e.g. "POST /v2/create_lip_sync_video". */
  route: string;
  kind: FaultKind;
  /** How many matching requests it affects (default 1). */
  times?: number;
  retryAfter?: number;
  /** Only requests from this client (see Seen.via). */
  via?: string;
}

export interface Seen {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: string;
  raw: Buffer;
  /** Which client sent it, when its base URL was `${url}/via/NAME` (the prefix is stripped from path). */
  via?: string;
}

export interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  seen: Seen;
  json(): Record<string, unknown>;
  /** Set by the fault layer when the answer must be lost after the side effect. */
  fault?: FaultKind;
}

export type Handler = (ctx: Ctx) => void | Promise<void>;

export class FakeServer extends EventEmitter {
  readonly log: Seen[] = [];
  readonly faults: Fault[] = [];
  private server: Server;
  private sockets = new Set<Socket>();
  private routes: Array<{ method: string; match: (p: string) => boolean; h: Handler }> = [];
  private held: Array<() => void> = [];
  url = '';

  /** Lets every request held by a 'hold' fault go on (handled normally); returns how many. */
  release(): number {
    const h = this.held.splice(0);
    for (const go of h) go();
    return h.length;
  }

  constructor() {
    super();
    this.setMaxListeners(100);
    this.server = createServer((req, res) => void this.dispatch(req, res));
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  route(method: string, match: string | RegExp, h: Handler): void {
    const m = typeof match === 'string' ? (p: string) => p === match : (p: string) => match.test(p);
    this.routes.push({ method, match: m, h });
  }

  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  count(method: string, pathPrefix: string): number {
    return this.log.filter((s) => s.method === method && s.path.startsWith(pathPrefix)).length;
  }

  /** Resolves when a request matching the predicate has been seen (also one seen earlier, from log index `from`). */
  waitFor(pred: (s: Seen) => boolean, timeoutMs = 30_000, from = 0): Promise<Seen> {
    const found = this.log.slice(from).find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.off('seen', on);
        reject(new Error('fake: request never seen'));
      }, timeoutMs);
      const on = (s: Seen) => {
        if (!pred(s)) return;
        clearTimeout(t);
        this.off('seen', on);
        resolve(s);
      };
      this.on('seen', on);
    });
  }

  private takeFault(method: string, path: string, via?: string): Fault | undefined {
    const i = this.faults.findIndex((f) => {
      const [m, p] = f.route.split(' ');
      return m === method && p !== undefined && path.startsWith(p) && (f.via === undefined || f.via === via);
    });
    if (i < 0) return undefined;
    const f = this.faults[i]!;
    f.times = (f.times ?? 1) - 1;
    if (f.times <= 0) this.faults.splice(i, 1);
    return f;
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks);
    const u = new URL(req.url ?? '/', 'http://x');
    const via = /^\/via\/([^/]+)(\/.*)$/.exec(u.pathname);
    const seen: Seen = {
      method: req.method ?? 'GET',
      path: via ? via[2]! : u.pathname,
      ...(via ? { via: via[1]! } : {}),
      query: u.searchParams,
      headers: req.headers,
      body: raw.toString('utf8'),
      raw,
    };
    this.log.push(seen);
    let fault = this.takeFault(seen.method, seen.path, seen.via);
    let gate: Promise<void> | undefined;
    if (fault?.kind === 'hold') {
      // Registered before anyone hears of the request, so a release() right after waitFor() frees it.
      gate = new Promise<void>((go) => this.held.push(go));
      fault = undefined;
    }
    this.emit('seen', seen);
    if (gate) await gate;
    if (fault && this.preFault(fault, res)) return;
    const r = this.routes.find((x) => x.method === seen.method && x.match(seen.path));
    const ctx: Ctx = {
      req,
      res,
      seen,
      json: () => {
        try {
          return JSON.parse(seen.body || '{}') as Record<string, unknown>;
        } catch {
          return {};
        }
      },
      ...(fault ? { fault: fault.kind } : {}),
    };
    if (!r) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"no route"}');
      return;
    }
    await r.h(ctx);
  }

  /** Faults that answer before the handler runs (no side effect). Returns true when handled. */
  private preFault(f: Fault, res: ServerResponse): boolean {
    switch (f.kind) {
      case 'status500':
        res.writeHead(500, { 'content-type': 'text/plain' }).end('Internal Server Error');
        return true;
      case 'status503':
        res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"backend at capacity"}');
        return true;
      case 'html502':
        res.writeHead(502, { 'content-type': 'text/html' }).end('<html><body>Bad Gateway</body></html>');
        return true;
      case 'status429':
        res
          .writeHead(429, { 'content-type': 'application/json', 'retry-after': String(f.retryAfter ?? 1) })
          .end('{"code":429,"msg":"rate limited"}');
        return true;
      case 'reset':
        res.socket?.destroy();
        return true;
      case 'hang':
        return true;
      case 'malformed':
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"code":0,"data":{not json');
        return true;
      default:
        return false; // lost, truncated, sseDrop: the handler performs the side effect first
    }
  }
}

/** Sends a JSON answer, or loses/truncates it when the request carries such a fault. */
export function send(ctx: Ctx, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  if (ctx.fault === 'acceptThenHang') return;
  if (ctx.fault === 'lost') {
    ctx.res.socket?.destroy();
    return;
  }
  if (ctx.fault === 'truncated') {
    ctx.res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(text.length) });
    ctx.res.write(text.slice(0, Math.floor(text.length / 2)));
    setTimeout(() => ctx.res.socket?.destroy(), 5);
    return;
  }
  ctx.res.writeHead(status, { 'content-type': 'application/json' }).end(text);
}
