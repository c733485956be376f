/**
 * The 2025-11-25 wire form of the change feed: `resources/subscribe` / `resources/unsubscribe`, and
 * `notifications/resources/updated` for each subscribed URI whose task changed. One per MCP server
 * (session); the feed is shared by every session of the process.
 */
import type { McpServer } from '@modelcontextprotocol/server';
import type { ChangeFeed, TaskChange } from './feed.js';
import type { Follower } from './follow.js';
import { cuesUri, taskIdOf, taskUri } from './resources.js';

/** `follower` keeps subscribed unfinished tasks moving, so that a subscriber never needs to poll. */
export function serveSubscriptions(server: McpServer, feed: ChangeFeed, follower?: Follower): void {
  const watch = (id: string) => {
    feed.watch(id);
    follower?.follow(id);
  };
  const unwatch = (id: string) => {
    feed.unwatch(id);
    follower?.unfollow(id);
  };
  /** Subscribed URI -> its task (undefined for URIs that name no task: accepted, never updated). */
  const subs = new Map<string, string | undefined>();
  server.server.registerCapabilities({ resources: { subscribe: true, listChanged: true } });
  server.server.setRequestHandler('resources/subscribe', async (req) => {
    const uri = req.params.uri;
    if (!subs.has(uri)) {
      const id = taskIdOf(uri);
      subs.set(uri, id);
      if (id) watch(id);
    }
    return {};
  });
  server.server.setRequestHandler('resources/unsubscribe', async (req) => {
    const uri = req.params.uri;
    if (subs.has(uri)) {
      const id = subs.get(uri);
      subs.delete(uri);
      if (id) unwatch(id);
    }
    return {};
  });
  const onChange = (c: TaskChange) => {
    if (!server.isConnected()) return;
    for (const uri of [taskUri(c.task_id), cuesUri(c.task_id, 'json'), cuesUri(c.task_id, 'tsv')])
      if (subs.has(uri)) void server.server.sendResourceUpdated({ uri }).catch(() => undefined);
  };
  feed.on('change', onChange);
  const previous = server.server.onclose;
  server.server.onclose = () => {
    feed.off('change', onChange);
    for (const id of subs.values()) if (id) unwatch(id);
    subs.clear();
    previous?.();
  };
}
