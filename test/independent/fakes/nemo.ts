// NemoVideo fake (providers.md section 2): anonymous token, sessions, SSE with no done event,
// state with a draft, free render proxy with the URL in output.url or data.outputUrl.
import { FakeServer, send } from './base.js';

export class NemoFake extends FakeServer {
  readonly sessions = new Set<string>();
  readonly tokens = new Set<string>();
  chats = 0;
  anonTokens = 0;
  renders = new Map<string, number>();
  /** SSE: send heartbeats forever instead of closing. */
  sseHang = false;
  /** SSE: no text events at all (30% of edits). */
  sseSilent = false;
  /** Answer 1001 once on the next authenticated call. */
  expireOnce = false;
  urlInOutput = true;
  /** Render polls before completed. */
  renderAfter = 2;

  constructor() {
    super();
    this.install();
  }

  private authed(ctx: Parameters<typeof send>[0]): boolean {
    const h = String(ctx.seen.headers.authorization ?? '');
    const tok = h.replace(/^Bearer /, '');
    if (this.expireOnce) {
      this.expireOnce = false;
      this.tokens.delete(tok);
    }
    if (!this.tokens.has(tok)) {
      send(ctx, 401, { code: 1001, message: 'token invalid or expired' });
      return false;
    }
    return true;
  }

  private install(): void {
    this.route('POST', '/api/auth/anonymous-token', (ctx) => {
      if (!ctx.seen.headers['x-client-id'])
        return send(ctx, 400, { code: 400, message: 'X-Client-Id required' });
      this.anonTokens++;
      const token = `nemo_anon_${this.anonTokens}_${Math.random().toString(36).slice(2)}`;
      this.tokens.add(token);
      send(ctx, 200, { code: 0, data: { token, user_id: 'u1', expires_at: 9_999_999_999, credits: 100 } });
    });
    this.route('POST', '/api/tasks/me/with-session/nemo_agent', (ctx) => {
      if (!this.authed(ctx)) return;
      const b = ctx.json();
      // The documented body; an empty or nameless one is a bad request (code 4000 on HTTP 200).
      if (typeof b.task_name !== 'string' || !b.task_name)
        return send(ctx, 200, { code: 4000, msg: 'task_name is required' });
      const sid = `sess_${this.sessions.size + 1}`;
      this.sessions.add(sid);
      send(ctx, 200, { code: 0, data: { task_id: `t_${sid}`, session_id: sid, user_id: 'u1' } });
    });
    this.route('POST', /^\/api\/upload-video\/nemo_agent\/me\//, (ctx) => {
      if (!this.authed(ctx)) return;
      send(ctx, 200, {
        code: 0,
        data: {
          files: [
            {
              filename: 'in.mp4',
              file_type: 'video',
              cdn_url: `${this.url}/cdn/in.mp4`,
              duration: 1,
              hash: 'h',
            },
          ],
        },
      });
    });
    this.route('POST', '/run_sse', (ctx) => this.sse(ctx));
    this.route('GET', '/api/credits/balance/simple', (ctx) => {
      if (!this.authed(ctx)) return;
      send(ctx, 200, { code: 0, data: { available: 100, frozen: 0, total: 100 } });
    });
    this.route('GET', /^\/api\/state\/nemo_agent\/me\/[^/]+\/latest$/, (ctx) => {
      if (!this.authed(ctx)) return;
      const draft = { t: [{ tt: 0, sg: [{ d: 1000, m: { url: `${this.url}/cdn/in.mp4` } }] }], d: 1000 };
      send(ctx, 200, {
        code: 0,
        data: { state: { draft, video_infos: [], generated_media: [{ url: `${this.url}/cdn/gen.mp4` }] } },
      });
    });
    this.route('POST', '/api/render/proxy/lambda', (ctx) => {
      if (!this.authed(ctx)) return;
      const id = String(ctx.json().id);
      if (this.renders.has(id)) return send(ctx, 409, { code: 409, message: 'render id reused' });
      this.renders.set(id, 0);
      send(ctx, 200, { code: 0, data: { id, status: 'pending' } });
    });
    this.route('GET', /^\/api\/render\/proxy\/lambda\/[^/]+$/, (ctx) => {
      if (!this.authed(ctx)) return;
      const id = ctx.seen.path.split('/').pop() ?? '';
      const n = (this.renders.get(id) ?? 0) + 1;
      this.renders.set(id, n);
      if (n < this.renderAfter) return send(ctx, 200, { code: 0, data: { id, status: 'processing' } });
      const url = `${this.url}/cdn/render_${id}.mp4`;
      send(ctx, 200, {
        code: 0,
        data: this.urlInOutput
          ? { id, status: 'completed', output: { url } }
          : { id, status: 'completed', outputUrl: url },
      });
    });
    this.route('GET', /^\/cdn\//, (ctx) => {
      ctx.res.writeHead(200, { 'content-type': 'video/mp4' }).end(Buffer.from('NEMO-VIDEO'));
    });
  }

  private sse(ctx: Parameters<typeof send>[0]): void {
    if (!this.authed(ctx)) return;
    this.chats++;
    const res = ctx.res;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.write('data: {"type":"heartbeat"}\n\n');
    res.write('data:\n\n');
    if (this.sseHang) {
      const iv = setInterval(() => res.write('data: {"type":"heartbeat"}\n\n'), 200);
      res.on('close', () => clearInterval(iv));
      return;
    }
    if (!this.sseSilent) res.write('data: {"type":"text","text":"Done: added background music."}\n\n');
    res.write('data: {"type":"tool_call","name":"edit"}\n\n');
    if (ctx.fault === 'sseDrop') {
      res.write('data: {"type":"text","text":"partial');
      res.socket?.destroy();
      return;
    }
    res.write('data: {"type":"tool_result","ok":true}\n\n');
    res.end(); // no done event: closing is the end
  }
}
