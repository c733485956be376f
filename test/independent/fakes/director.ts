// The Director gateway fake (providers.md section 3): POST ?action=create|query, status 0/1/2/-1
// (numbers or strings), _corrected_api, video_url in several places, 429 video_limit_reached.
import { FakeServer, send } from './base.js';

export interface DirTask {
  id: string;
  api: 'agent' | 'tool';
  body: Record<string, unknown>;
  polls: number;
}

export class DirectorFake extends FakeServer {
  readonly tasks = new Map<string, DirTask>();
  creates = 0;
  /** Queries before done. */
  finishAfter = 2;
  /** Status sent as strings ("0", "2", "1") instead of numbers. */
  stringStatus = false;
  /** Where the URL goes: video_url | output_urls | output | tool_results. */
  urlPlace: 'video_url' | 'output_urls' | 'output' | 'tool_results' = 'video_url';
  /** Agent creates fall back to tool tasks and say so with _corrected_api. */
  correctToTool = false;
  failWith: string | undefined;
  /** Answer success:false (no status) on queries. */
  successFalse = false;
  dailyLimit = false;
  noIdOnCreate = false;
  readonly queriesByApi: string[] = [];
  /** The id each query asked about (`chat_id` or `task_id`), in order. */
  readonly queriedIds: string[] = [];
  token: string;

  constructor(token: string) {
    super();
    this.token = token;
    this.install();
  }

  private doneData(t: DirTask): Record<string, unknown> {
    const u = `${this.url}/media/${t.id}.mp4`;
    switch (this.urlPlace) {
      case 'output_urls':
        return { output_urls: [u] };
      case 'output':
        return { output: { video_url: u } };
      case 'tool_results':
        return { tool_results: [{ result: [u] }] };
      default:
        return { video_url: u };
    }
  }

  private st(n: number): number | string {
    return this.stringStatus ? String(n) : n;
  }

  private install(): void {
    this.route('POST', /^\/(gw\/?)?$/, (ctx) => {
      if (ctx.seen.headers.authorization !== `Bearer ${this.token}`) {
        return send(ctx, 401, { success: false, error: 'unauthorized' });
      }
      const action = ctx.seen.query.get('action');
      const b = ctx.json();
      if (action === 'create') return this.create(ctx, b);
      if (action === 'query') return this.query(ctx, b);
      send(ctx, 400, { success: false, error: 'unknown action' });
    });
    this.route('GET', /^\/media\//, (ctx) => {
      ctx.res.writeHead(200, { 'content-type': 'video/mp4' }).end(Buffer.from('DIRECTOR-VIDEO'));
    });
  }

  private create(ctx: Parameters<typeof send>[0], b: Record<string, unknown>) {
    if (this.dailyLimit) {
      return send(ctx, 429, { success: false, error: 'video_limit_reached', message: 'Daily limit reached' });
    }
    this.creates++;
    if (this.noIdOnCreate) return send(ctx, 200, { success: true, data: {} });
    const requested = b.api === 'tool' ? 'tool' : 'agent';
    const api = requested === 'agent' && this.correctToTool ? 'tool' : requested;
    const id = `${api === 'agent' ? 'chat' : 'task'}_${this.creates}_${Math.random().toString(36).slice(2, 6)}`;
    this.tasks.set(id, { id, api, body: b, polls: 0 });
    const data: Record<string, unknown> = api === 'agent' ? { chat_id: id } : { task_id: id };
    send(ctx, 200, {
      success: true,
      data,
      ...(api !== requested ? { _corrected_api: 'tool' } : {}),
    });
  }

  private query(ctx: Parameters<typeof send>[0], b: Record<string, unknown>) {
    const api = b.api === 'tool' ? 'tool' : 'agent';
    this.queriesByApi.push(api);
    const id = String(api === 'agent' ? b.chat_id : b.task_id);
    this.queriedIds.push(id);
    const t = this.tasks.get(id);
    if (!t || t.api !== api) return send(ctx, 404, { success: false, error: 'not found' });
    t.polls++;
    if (this.successFalse) return send(ctx, 200, { success: false, errorMsg: 'generation rejected' });
    if (this.failWith && t.polls >= this.finishAfter) {
      return send(ctx, 200, { success: true, data: { status: this.st(-1), error: this.failWith } });
    }
    if (t.polls >= this.finishAfter) {
      return send(ctx, 200, { success: true, data: { status: this.st(1), ...this.doneData(t) } });
    }
    send(ctx, 200, { success: true, data: { status: this.st(t.polls === 1 ? 0 : 2) } });
  }
}
