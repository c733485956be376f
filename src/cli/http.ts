/**
 * `lipsync-mcp serve --http [--host H] [--port P] [--allowed-host NAME]...`: the Streamable HTTP
 * server. Loopback by default; any other bind needs LIPSYNC_HTTP_TOKEN, because without it anyone on
 * the network could spend the configured provider credits.
 */
import { parseArgs } from 'node:util';
import { createApp } from '../app.js';
import { isUsableSecret, loadConfig } from '../config.js';
import { AppError } from '../errors.js';
import { isLoopback } from '../http-server/guard.js';
import { startHttpServer } from '../http-server/index.js';
import { failJson } from './output.js';

export async function httpCommand(argv: string[]): Promise<void> {
  let values: { host?: string; port?: string; 'allowed-host'?: string[] };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        http: { type: 'boolean' },
        host: { type: 'string' },
        port: { type: 'string' },
        'allowed-host': { type: 'string', multiple: true },
      },
      strict: true,
    }));
  } catch (err) {
    failJson(
      new AppError('invalid_input', (err as Error).message, { hint: 'Run `lipsync-mcp --help`.' }),
      undefined,
    );
  }
  // Paid jobs started over HTTP are confirmed with the user unless LIPSYNC_CONFIRM_PAID says otherwise.
  const config = loadConfig({ defaults: { LIPSYNC_CONFIRM_PAID: 'true' } });
  const host = values.host?.trim() || config.http.host;
  const port = values.port === undefined ? config.http.port : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    failJson(
      new AppError('invalid_input', `--port must be an integer 0..65535, got "${values.port}".`),
      undefined,
    );
  const tok = config.http.token;
  if (tok && !isUsableSecret(tok))
    failJson(
      new AppError(
        'missing_credentials',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: names the literal placeholder form
        'LIPSYNC_HTTP_TOKEN looks like an unsubstituted template (${...}).',
        {
          hint: 'Set it to the real token value.',
          details: { missing_key: 'LIPSYNC_HTTP_TOKEN' },
        },
      ),
      undefined,
    );
  const token = isUsableSecret(tok) ? tok.value : undefined;
  const oauth = config.http.oauth;
  if (!isLoopback(host) && token === undefined && oauth === undefined)
    failJson(
      new AppError('missing_credentials', `Refusing to listen on ${host} without LIPSYNC_HTTP_TOKEN.`, {
        hint: 'Set LIPSYNC_HTTP_TOKEN (clients then send Authorization: Bearer <token>), or LIPSYNC_OAUTH_ISSUER (each user signs in), or bind 127.0.0.1.',
        details: { missing_key: 'LIPSYNC_HTTP_TOKEN' },
      }),
      undefined,
    );

  const app = await createApp(config);
  process.on('unhandledRejection', (err) =>
    app.log.error({ err: app.redactor.redact(String(err)) }, 'unhandled rejection'),
  );
  const recovered = await app.jobs.recover();
  if (recovered.resumed || recovered.checked) app.log.info(recovered, 'recovering unfinished tasks');
  let server: Awaited<ReturnType<typeof startHttpServer>>;
  try {
    server = await startHttpServer(app, {
      host,
      port,
      // With OAuth, the issuer's tokens replace the shared one.
      token: oauth ? undefined : token,
      oauth,
      allowedOrigins: config.http.allowedOrigins,
      maxBodyBytes: config.http.maxBodyBytes,
      sessionIdleMs: config.http.sessionIdleMs,
      maxSessions: config.http.maxSessions,
      trustRoots: config.http.trustRoots,
      legacySessions: config.http.legacySessions,
      limits: {
        maxConnections: config.http.maxConnections,
        headersTimeoutMs: config.http.headersTimeoutMs,
        requestTimeoutMs: config.http.requestTimeoutMs,
        keepAliveTimeoutMs: config.http.keepAliveTimeoutMs,
      },
      allowedHosts: values['allowed-host'],
    });
  } catch (err) {
    await app.close(0).catch(() => undefined);
    const e = err as NodeJS.ErrnoException;
    failJson(
      new AppError('unavailable', `Cannot listen on ${host}:${port}: ${e.code ?? e.message}.`),
      app.redactor,
    );
  }
  // Announce the URL on stderr too, for scripts that start the server and wait for it.
  process.stderr.write(`${JSON.stringify({ listening: server.url })}\n`);
  let closing = false;
  const shutdown = async (why: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ why }, 'shutting down');
    // In-flight calls get 10 s; unfinished claims are durable in the ledger and recovered next start.
    await server.close(10_000).catch(() => undefined);
    await app.close(2000).catch(() => undefined);
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}
