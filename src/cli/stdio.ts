/** The stdio MCP server: stdout is JSON-RPC only; exits when stdin closes or on SIGTERM/SIGINT. */
import { StdioServerTransport } from '@modelcontextprotocol/server/stdio';
import { createApp } from '../app.js';
import { loadConfig } from '../config.js';
import { createServer } from '../server.js';

/** How long after the handshake the recovery pass starts (ms). */
const RECOVERY_DELAY_MS = 300;

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
  const server = createServer(app);
  const transport = new StdioServerTransport();
  let closing = false;
  const shutdown = async (why: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ why }, 'shutting down');
    // Finish what is in flight briefly; unfinished claims are durable and recovered by the next start.
    await app.close(1200).catch(() => undefined);
    await server.close().catch(() => undefined);
    process.exit(0);
  };
  process.stdin.on('end', () => void shutdown('stdin closed'));
  process.stdin.on('close', () => void shutdown('stdin closed'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  await server.connect(transport);
  // Background work starts just after the handshake, so `initialize` and `tools/list` wait for neither:
  // recovery (take over dead owners' claims, look at unfinished tasks once), which opens the ledger, and
  // the start-up line of the log, whose first line loads the logger.
  setTimeout(() => {
    if (closing) return;
    app.log.info({ providers: [...app.providers.keys()] }, 'lipsync-mcp ready on stdio');
    app.jobs
      .recover()
      .then((r) => {
        if (r.resumed || r.checked) app.log.info(r, 'recovering unfinished tasks');
      })
      .catch((err) => app.log.warn({ err: app.redactor.redact(String(err)) }, 'recovery failed'));
  }, RECOVERY_DELAY_MS);
}
