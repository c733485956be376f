/**
 * The MCP surface beyond tools (design.md §10): task resources and their subscriptions, prompts,
 * completion. One ChangeFeed per App, shared by every session of the process.
 */
import type { McpServer, Resource } from '@modelcontextprotocol/server';
import type { App } from '../app.js';
import { LOCAL_SCOPE, type PrincipalScope, scopedLedger } from '../jobs/principal.js';
import { Completer } from './completion.js';
import { ChangeFeed } from './feed.js';
import { Follower } from './follow.js';
import type { TakenHook } from './media.js';
import { registerPrompts } from './prompts.js';
import { registerTaskResources } from './resources.js';
import { refuseSubscriptions, serveSubscriptions } from './subscriptions.js';
import { registerViewer, VIEWER_RESOURCE } from './viewer.js';

const shared = new WeakMap<App, { feed: ChangeFeed; follower: Follower }>();

/** The change feed of this App's ledger and its follower of subscribed tasks (created on first use). */
export function feedOf(app: App): { feed: ChangeFeed; follower: Follower } {
  let s = shared.get(app);
  if (!s) {
    s = {
      feed: new ChangeFeed(app.ledger, app.jobs),
      follower: new Follower(app),
    };
    shared.set(app, s);
  }
  return s;
}

/**
 * Registers resources, subscriptions, prompts and completion on one MCP server (before connect). With
 * a user's `scope` (OAuth) every read goes through the ledger as that user sees it: only their tasks.
 */
export function registerMcpSurface(
  server: McpServer,
  app: App,
  fixed: Resource[] = [VIEWER_RESOURCE],
  taken?: TakenHook,
  scope: PrincipalScope = LOCAL_SCOPE,
  /** Served statelessly (every request on its own): no subscription can outlive its request. */
  stateless = false,
): void {
  const seen: App = scope.owner === undefined ? app : { ...app, ledger: scopedLedger(app.ledger, scope) };
  const completer = new Completer(seen);
  registerViewer(server, seen.ledger);
  registerTaskResources(server, seen, completer, fixed, taken);
  if (stateless) refuseSubscriptions(server);
  else {
    const { feed, follower } = feedOf(app);
    serveSubscriptions(server, seen, feed, follower);
  }
  registerPrompts(server, completer);
  completer.install(server);
}
