// Jogg lip sync fake (providers.md section 1): envelope {code,msg,data} on HTTP 200, result under data.data.
import { FakeServer, send } from './base.js';

export interface JoggTask {
  task_id: string;
  video_url: string;
  audio_url: string;
  playback_type: string;
  status: 'pending' | 'processing' | 'success' | 'failed';
  queries: number;
  created_at: number;
}

export class JoggFake extends FakeServer {
  readonly tasks: JoggTask[] = [];
  readonly assets = new Map<string, Buffer>();
  /** Accepted creates (the money spent). */
  creates = 0;
  /** Queries of a task before it becomes success (pending, processing, then success). */
  finishAfter = 2;
  /** When set, every create answers this envelope code instead (HTTP 200). */
  createCode: { code: number; msg: string } | undefined;
  /** When set, status queries answer this envelope code (HTTP 200). */
  queryCode: { code: number; msg: string } | undefined;
  failTasks = false;
  quota = 42;
  expectKey: string;
  videoBytes = Buffer.from('FAKE-RESULT-VIDEO');

  constructor(key: string) {
    super();
    this.expectKey = key;
    this.install();
  }

  private authOk(key: string | string[] | undefined): boolean {
    return key === this.expectKey;
  }

  seedTask(t: Partial<JoggTask> & { video_url: string; audio_url: string }): JoggTask {
    const task: JoggTask = {
      task_id: `seeded_${this.tasks.length + 1}`,
      playback_type: 'normal',
      status: 'pending',
      queries: 0,
      created_at: 1_700_000_000,
      ...t,
    };
    this.tasks.push(task);
    return task;
  }

  view(t: JoggTask): Record<string, unknown> {
    const done = t.status === 'success';
    return {
      task_id: t.task_id,
      status: t.status,
      created_at: t.created_at,
      ...(done || t.status === 'failed' ? { completed_at: t.created_at + 60 } : {}),
      data: done
        ? {
            result_url: `${this.url}/results/${t.task_id}.mp4`,
            cover_url: `${this.url}/results/${t.task_id}.jpg`,
            duration_seconds: 1.5,
          }
        : {},
      ...(t.status === 'failed' ? { error: { message: 'face not detected in the video' } } : {}),
    };
  }

  private advance(t: JoggTask): void {
    t.queries++;
    if (t.status === 'success' || t.status === 'failed') return;
    if (t.queries >= this.finishAfter) t.status = this.failTasks ? 'failed' : 'success';
    else if (t.queries >= 1) t.status = 'processing';
  }

  private install(): void {
    const env = (code: number, msg: string, data: unknown = null) => ({ code, msg, data });
    const guard = (ctx: Parameters<typeof send>[0]): boolean => {
      if (this.authOk(ctx.seen.headers['x-api-key'])) return true;
      // Hostile provider: echoes the key it got in its message.
      send(ctx, 200, env(10105, `invalid api key ${String(ctx.seen.headers['x-api-key'])}`));
      return false;
    };
    this.route('POST', '/v2/upload/asset', (ctx) => {
      if (!guard(ctx)) return;
      const b = ctx.json();
      const id = `a${this.assets.size + 1}_${Math.random().toString(36).slice(2, 8)}`;
      this.assets.set(id, Buffer.alloc(0));
      send(
        ctx,
        200,
        env(0, 'ok', {
          sign_url: `${this.url}${ctx.seen.via ? `/via/${ctx.seen.via}` : ''}/signed/${id}?sig=abc`,
          asset_url: `https://assets.jogg.example/${id}/${String(b.filename)}`,
        }),
      );
    });
    this.route('PUT', /^\/signed\//, (ctx) => {
      const id = ctx.seen.path.split('/')[2] ?? '';
      this.assets.set(id, ctx.seen.raw);
      ctx.res.writeHead(200).end();
    });
    this.route('GET', '/v2/lip_sync_video', (ctx) => {
      if (!guard(ctx)) return;
      const q = ctx.seen.query;
      const match = [...this.tasks]
        .reverse()
        .find(
          (t) =>
            t.video_url === q.get('video_url') &&
            t.audio_url === q.get('audio_url') &&
            t.playback_type === (q.get('playback_type') ?? 'normal'),
        );
      if (!match) return send(ctx, 200, env(17003, 'task not found'));
      send(ctx, 200, env(0, 'ok', this.view(match)));
    });
    this.route('POST', '/v2/create_lip_sync_video', (ctx) => {
      if (!guard(ctx)) return;
      if (this.createCode) return send(ctx, 200, env(this.createCode.code, this.createCode.msg));
      const b = ctx.json();
      const t = this.seedTask({
        task_id: `jt_${this.tasks.length + 1}_${Math.random().toString(36).slice(2, 6)}`,
        video_url: String(b.video_url),
        audio_url: String(b.audio_url),
        playback_type: String(b.playback_type ?? 'normal'),
      });
      this.creates++;
      this.emit('created', t);
      send(ctx, 200, env(0, 'ok', { task_id: t.task_id, status: 'pending' }));
    });
    this.route('GET', /^\/v2\/lip_sync_video\/[^/]+$/, (ctx) => {
      if (!guard(ctx)) return;
      if (this.queryCode) return send(ctx, 200, env(this.queryCode.code, this.queryCode.msg));
      const id = ctx.seen.path.split('/').pop();
      const t = this.tasks.find((x) => x.task_id === id);
      if (!t) return send(ctx, 200, env(10104, 'task not found'));
      this.advance(t);
      send(ctx, 200, env(0, 'ok', this.view(t)));
    });
    this.route('GET', '/v2/user/remaining_quota', (ctx) => {
      if (!guard(ctx)) return;
      send(ctx, 200, env(0, 'ok', { remaining_quota: this.quota }));
    });
    this.route('GET', /^\/results\//, (ctx) => {
      ctx.res.writeHead(200, { 'content-type': 'video/mp4' }).end(this.videoBytes);
    });
  }
}
