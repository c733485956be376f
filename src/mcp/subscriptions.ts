/**
 * The 2025-11-25 wire form of the change feed: `resources/subscribe` / `resources/unsubscribe`, and
 * `notifications/resources/updated` for each subscribed URI whose task changed. One per MCP server
 * (session); the feed is shared by every session of the process.
 *
 * Bounded: a session holds at most `config.maxSubscriptions` (LIPSYNC_MAX_SUBSCRIPTIONS) URIs, and only
 * URIs of tasks in the ledger (a task, its mouth cues, its media); anything else is invalid params.
 */

import type { McpServer } from '@modelcontextprotocol/server';
import { ProtocolError, ProtocolErrorCode } from '@modelcontextprotocol/server';
import type { App } from '../app.js';
import type { ChangeFeed, TaskChange } from './feed.js';
import type { Follower } from './follow.js';
import { taskIdOf } from './resources.js';

type SubscriptionApp = Pick<App, 'ledger' | 'config'>;

/**
 * A 2025 client served statelessly (several instances behind a balancer): a subscription could never
 * be heard (no stream outlives its request), so `subscribe` is not advertised, and a client that asks
 * anyway is told what to do instead.
 */
export function refuseSubscriptions(server: McpServer): void {
  server.server.registerCapabilities({ resources: { listChanged: true } });
  server.server.setRequestHandler('resources/subscribe', async () => {
    throw new ProtocolError(
      ProtocolErrorCode.MethodNotFound,
      "resources/subscribe is not available on this server: it answers every request on its own (several instances behind a load balancer), so no subscription could outlive its request. Follow a task with get_task_status and wait_seconds: its progress and job events arrive on that call's own stream.",
    );
  });
  server.server.setRequestHandler('resources/unsubscribe', async () => ({}));
}

/** `follower` keeps subscribed unfinished tasks moving, so that a subscriber never needs to poll. */
export function serveSubscriptions(
  server: McpServer,
  app: SubscriptionApp,
  feed: ChangeFeed,
  follower?: Follower,
): void {
  const max = app.config.maxSubscriptions;
  /** Subscribed URI -> its task. */
  const subs = new Map<string, string>();
  /** Task -> its subscribed URIs (a change is looked up by task). */
  const byTask = new Map<string, Set<string>>();
  const add = (uri: string, id: string) => {
    subs.set(uri, id);
    const uris = byTask.get(id);
    if (uris) uris.add(uri);
    else {
      byTask.set(id, new Set([uri]));
      feed.watch(id);
      follower?.follow(id);
    }
  };
  const remove = (uri: string) => {
    const id = subs.get(uri);
    if (id === undefined) return;
    subs.delete(uri);
    const uris = byTask.get(id);
    uris?.delete(uri);
    if (uris?.size) return;
    byTask.delete(id);
    feed.unwatch(id);
    follower?.unfollow(id);
  };
  const full = () =>
    new ProtocolError(
      ProtocolErrorCode.InvalidParams,
      `This session already holds at most ${max} subscriptions (LIPSYNC_MAX_SUBSCRIPTIONS): unsubscribe from tasks it no longer follows (finished ones) first, or raise the setting.`,
    );
  server.server.registerCapabilities({ resources: { subscribe: true, listChanged: true } });
  server.server.setRequestHandler('resources/subscribe', async (req) => {
    const uri = req.params.uri;
    if (subs.has(uri)) return {};
    const id = taskIdOf(uri);
    if (subs.size >= max) throw full();
    const row = await app.ledger.get(id);
    if (!row || row.rejected)
      throw new ProtocolError(
        ProtocolErrorCode.InvalidParams,
        `No task ${id} in the ledger to subscribe to: list_tasks or resources/list shows the tasks there are.`,
      );
    // Other subscribes of this session may have run while the ledger answered.
    if (subs.has(uri)) return {};
    if (subs.size >= max) throw full();
    add(uri, id);
    return {};
  });
  server.server.setRequestHandler('resources/unsubscribe', async (req) => {
    remove(req.params.uri);
    return {};
  });
  const onChange = (c: TaskChange) => {
    if (!server.isConnected()) return;
    for (const uri of byTask.get(c.task_id) ?? [])
      void server.server.sendResourceUpdated({ uri }).catch(() => undefined);
  };
  feed.on('change', onChange);
  const previous = server.server.onclose;
  server.server.onclose = () => {
    feed.off('change', onChange);
    for (const uri of [...subs.keys()]) remove(uri);
    previous?.();
  };
}
