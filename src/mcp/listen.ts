/**
 * The 2026-07-28 wire form of the change feed: `subscriptions/listen` streams. The SDK's serving entry
 * (serveStdio, createMcpHandler) owns the streams, their acknowledgement and their filtering by
 * `resourceSubscriptions`; what it cannot know is which tasks to look at. The transport edge tells
 * this watcher which URIs each open stream names; their tasks are watched in the ledger's change feed
 * (and followed, so that a listener never needs to poll) until the stream ends, and every change is
 * handed back as the URIs to announce (`notifications/resources/updated`), which the entry delivers
 * to the streams that asked for them. Replaces `resources/subscribe` on that era.
 */
import { CLIENT_CAPABILITIES_META_KEY } from '@modelcontextprotocol/server';
import type { App } from '../app.js';
import { feedOf } from './index.js';
import { cuesUri, taskIdOf, taskUri } from './resources.js';
import { TASKS_EXTENSION } from './tasks-ext.js';

/** At most this many URIs count per stream (the rest are acknowledged by the SDK but never watched). */
export const MAX_URIS_PER_LISTEN = 256;

/**
 * A `subscriptions/listen` request that asks for `taskIds` without declaring the Tasks extension: the
 * ext-tasks spec's -32021 (MUST), as the JSON-RPC error answer to send; undefined when it may proceed.
 */
export function listenRefusal(body: unknown): object | undefined {
  const m = body as {
    id?: unknown;
    method?: unknown;
    params?: { notifications?: { taskIds?: unknown }; _meta?: Record<string, unknown> };
  };
  if (m?.method !== 'subscriptions/listen' || m.params?.notifications?.taskIds === undefined)
    return undefined;
  const caps = m.params._meta?.[CLIENT_CAPABILITIES_META_KEY] as { extensions?: object } | undefined;
  if (caps?.extensions && Object.hasOwn(caps.extensions, TASKS_EXTENSION)) return undefined;
  return {
    jsonrpc: '2.0',
    id: typeof m.id === 'string' || typeof m.id === 'number' ? m.id : null,
    error: {
      code: -32021,
      message: `Missing required client capability: listening for taskIds needs the ${TASKS_EXTENSION} extension declared in the request's client capabilities. Without it, follow a task by its resource (resourceSubscriptions: lipsync://tasks/<task_id>) or with get_task_status.`,
      data: { requiredCapabilities: { extensions: { [TASKS_EXTENSION]: {} } } },
    },
  };
}

/** The resource URIs a `subscriptions/listen` request names (its `notifications.resourceSubscriptions`). */
export function listenedUris(params: unknown): string[] {
  const n = (params as { notifications?: { resourceSubscriptions?: unknown } } | undefined)?.notifications;
  const uris = n?.resourceSubscriptions;
  if (!Array.isArray(uris)) return [];
  return uris.filter((u): u is string => typeof u === 'string').slice(0, MAX_URIS_PER_LISTEN);
}

export class ListenWatch {
  /** Open stream -> the tasks it watches. */
  private readonly streams = new Map<string, string[]>();
  /** Watched task -> how many streams name it. */
  private readonly tasks = new Map<string, number>();
  private readonly stopFeed: () => void;
  private readonly feedOps: { watch(id: string): void; unwatch(id: string): void };

  constructor(
    app: App,
    private readonly announce: (uris: string[]) => void,
  ) {
    const { feed, follower } = feedOf(app);
    this.feedOps = {
      watch: (id) => {
        feed.watch(id);
        follower.follow(id);
      },
      unwatch: (id) => {
        feed.unwatch(id);
        follower.unfollow(id);
      },
    };
    const onChange = (c: { task_id: string }) => {
      if (!this.tasks.has(c.task_id)) return;
      this.announce([taskUri(c.task_id), cuesUri(c.task_id, 'json'), cuesUri(c.task_id, 'tsv')]);
    };
    feed.on('change', onChange);
    this.stopFeed = () => feed.off('change', onChange);
  }

  /** A stream opened (`key` names it until `close`); URIs that name no task are never updated. */
  open(key: string, uris: string[]): void {
    this.close(key);
    const ids = [...new Set(uris.map(taskIdOf).filter((id): id is string => !!id))];
    this.streams.set(key, ids);
    for (const id of ids) {
      const n = (this.tasks.get(id) ?? 0) + 1;
      this.tasks.set(id, n);
      if (n === 1) this.feedOps.watch(id);
    }
  }

  close(key: string): void {
    const ids = this.streams.get(key);
    if (!ids) return;
    this.streams.delete(key);
    for (const id of ids) {
      const n = (this.tasks.get(id) ?? 0) - 1;
      if (n > 0) this.tasks.set(id, n);
      else {
        this.tasks.delete(id);
        this.feedOps.unwatch(id);
      }
    }
  }

  get size(): number {
    return this.streams.size;
  }

  closeAll(): void {
    for (const key of [...this.streams.keys()]) this.close(key);
    this.stopFeed();
  }
}
