/**
 * The stdio MCP server: stdout is JSON-RPC only; exits when stdin closes or on SIGTERM/SIGINT.
 *
 * The SDK's `serveStdio` serves both protocol eras from one factory: a 2025-11-25 client opens with
 * `initialize`, a 2026-07-28 one with `server/discover` or a request carrying the per-request envelope.
 * A client pinned to 2026-07-28 may start a copy of the server only to ask `server/discover`, then stop
 * it (SIGTERM, SIGKILL a second later): nothing with an effect starts until the connection is really
 * used (`notifications/initialized`, or a 2026 request other than `server/discover`), so such a copy
 * leaves nothing half-done — no recovery pass, no ledger opened, no claim taken over.
 */
import type {
  JSONRPCMessage,
  McpServer,
  Transport,
  TransportSendOptions,
} from '@modelcontextprotocol/server';
import { StdioServerTransport, serveStdio } from '@modelcontextprotocol/server/stdio';
import { type App, createApp } from '../app.js';
import { loadConfig } from '../config.js';
import { ListenWatch, listenedUris } from '../mcp/listen.js';
import { createServer } from '../server.js';

/** How long after the connection is in use the recovery pass starts (ms). */
const RECOVERY_DELAY_MS = 300;

/**
 * The stdio transport, with a look at each incoming message before the SDK's entry gets it: the
 * entry owns the era decision and the `subscriptions/listen` streams, and tells neither.
 */
class WatchedStdio implements Transport {
  private readonly inner = new StdioServerTransport();
  onmessage?: Transport['onmessage'];
  onclose?: () => void;
  onerror?: (error: Error) => void;

  constructor(private readonly seen: (message: JSONRPCMessage) => void) {}

  start(): Promise<void> {
    this.inner.onmessage = (message: JSONRPCMessage) => {
      this.seen(message);
      this.onmessage?.(message);
    };
    this.inner.onclose = () => this.onclose?.();
    this.inner.onerror = (error) => this.onerror?.(error);
    return this.inner.start();
  }

  send(message: JSONRPCMessage, _options?: TransportSendOptions): Promise<void> {
    return this.inner.send(message);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** Whether a message means the connection is in use (not the opening handshake, not a version probe). */
function usesConnection(m: JSONRPCMessage): boolean {
  if (!('method' in m)) return false;
  if (m.method === 'notifications/initialized') return true;
  if (m.method === 'initialize' || m.method === 'server/discover' || m.method.startsWith('notifications/'))
    return false;
  return 'id' in m && typeof (m.params as { _meta?: unknown } | undefined)?._meta === 'object';
}

export async function stdioCommand(): Promise<void> {
  // Anything that would print to stdout goes to stderr instead: stdout belongs to the protocol.
  console.log = console.error;
  console.info = console.error;
  console.debug = console.error;
  const config = loadConfig();
  const app = await createApp(config);
  process.on('unhandledRejection', (err) =>
    app.log.error({ err: app.redactor.redact(String(err)) }, 'unhandled rejection'),
  );
  let closing = false;
  let started = false;
  /** The 2026-07-28 instance serving this connection, when it is one (task changes go through it). */
  let modern: McpServer | undefined;
  let listens: ListenWatch | undefined;
  const listenWatch = () => {
    listens ??= new ListenWatch(app, (uris) => {
      for (const uri of uris) void modern?.server.sendResourceUpdated({ uri }).catch(() => undefined);
    });
    return listens;
  };
  const onMessage = (m: JSONRPCMessage) => {
    if (!started && usesConnection(m)) {
      started = true;
      // The era the client chose, for the ready line: a 2025 client completes `initialize`.
      const protocol =
        'method' in m && m.method === 'notifications/initialized' ? '2025 (initialize)' : '2026-07-28';
      setTimeout(() => startBackground(app, protocol, () => closing), RECOVERY_DELAY_MS);
    }
    if (!('method' in m)) return;
    if (m.method === 'subscriptions/listen' && 'id' in m)
      listenWatch().open(String(m.id), listenedUris(m.params));
    else if (m.method === 'notifications/cancelled') {
      const id = (m.params as { requestId?: unknown } | undefined)?.requestId;
      if (id !== undefined) listens?.close(String(id));
    }
  };
  const handle = serveStdio(
    ({ era }) => {
      const server = createServer(app, { era });
      if (era === 'modern') modern = server;
      return server;
    },
    {
      transport: new WatchedStdio(onMessage),
      onerror: (err) => app.log.debug({ err: app.redactor.redact(String(err)) }, 'stdio'),
    },
  );
  const shutdown = async (why: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ why }, 'shutting down');
    listens?.closeAll();
    // Finish what is in flight briefly; unfinished claims are durable and recovered by the next start.
    await app.close(started ? 1200 : 0).catch(() => undefined);
    await handle.close().catch(() => undefined);
    process.exit(0);
  };
  process.stdin.on('end', () => void shutdown('stdin closed'));
  process.stdin.on('close', () => void shutdown('stdin closed'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

/**
 * Background work starts once the connection is in use, so that `initialize`, `server/discover` and
 * `tools/list` wait for none of it: recovery (take over dead owners' claims, look at unfinished tasks
 * once), which opens the ledger, and the start-up line of the log, whose first line loads the logger.
 */
function startBackground(app: App, protocol: string, closing: () => boolean): void {
  if (closing()) return;
  app.log.info({ providers: [...app.providers.keys()], protocol }, 'lipsync-mcp ready on stdio');
  app.jobs
    .recover()
    .then((r) => {
      if (r.resumed || r.checked) app.log.info(r, 'recovering unfinished tasks');
    })
    .catch((err) => app.log.warn({ err: app.redactor.redact(String(err)) }, 'recovery failed'));
}
