#!/usr/bin/env node
/**
 * lipsync-mcp: stdio MCP server (default), `serve --http`, `run`, `credits`, `spend`, `doctor`, `demo`.
 * Every subcommand's arguments are checked here against its option table (src/cli/shared.ts) before
 * anything starts, so a typo is a usage error (exit 2), never a server started or a job paid.
 */
import { fileURLToPath } from 'node:url';
import { failJson } from './cli/output.js';
import { type Command, parseCommand, synopsis, UsageError } from './cli/shared.js';
import { stdioCommand } from './cli/stdio.js';
import { VERSION } from './version.js';

// The one-shot commands are imported when they run: the stdio server, which MCP clients start and
// wait for, loads none of them (issue 13: cold start to tools/list).

const SERVE: Command = {
  name: 'serve',
  synopsis: ['serve [--http] [--host H] [--port P] [--allowed-host NAME]...'],
  summary:
    'Runs the MCP server: on stdio (the default, what MCP clients start), or with --http as a\n' +
    'Streamable HTTP server (loopback unless LIPSYNC_HTTP_TOKEN is set).',
  flags: {
    http: { type: 'boolean', help: 'serve Streamable HTTP instead of stdio' },
    host: { type: 'string', value: 'H', help: 'address to bind (with --http; default LIPSYNC_HTTP_HOST)' },
    port: {
      type: 'string',
      value: 'P',
      help: 'port (with --http; default LIPSYNC_HTTP_PORT)',
      check: (v) => (/^\d+$/.test(v) && Number(v) <= 65_535 ? undefined : 'takes a port number 0..65535'),
    },
    'allowed-host': { type: 'string', value: 'NAME', multiple: true, help: 'extra Host header to accept' },
  },
};

const DOCTOR: Command = {
  name: 'doctor',
  synopsis: ['doctor [--json]'],
  summary: 'Shows which providers are configured, where each key came from, and what is missing.',
  flags: { json: { type: 'boolean', help: 'print the report as JSON' } },
};

const DEMO: Command = {
  name: 'demo',
  synopsis: ['demo'],
  summary: 'Offline demo with the local engine: no key, no network.',
  flags: {},
};

async function help(): Promise<string> {
  const [{ RUN }, { CREDITS }, { SPEND }] = await Promise.all([
    import('./cli/run.js'),
    import('./cli/credits.js'),
    import('./cli/spend.js'),
  ]);
  return `lipsync-mcp ${VERSION} — lip-sync and AI-video jobs for agents, never paid twice.

Usage:
  lipsync-mcp                      MCP server on stdio (what MCP clients start)
${[SERVE, RUN, CREDITS, SPEND, DOCTOR, DEMO].map((c) => synopsis(c)).join('\n')}

\`lipsync-mcp COMMAND --help\` describes each command's options.
run prints exactly one JSON object on stdout; progress goes to stderr; errors are JSON on stderr
(exit 1, or 2 for a usage error).
Providers: local (offline), jogg (JOGG_API_KEY), nemovideo (anonymous or NEMO_TOKEN), director (GATEWAY_TOKEN).
`;
}

async function serve(rest: string[]): Promise<void> {
  const values = parseCommand(SERVE, rest);
  if (!values) return;
  if (!values.http) {
    const stray = (['host', 'port', 'allowed-host'] as const).find((k) => values[k] !== undefined);
    if (stray) throw new UsageError(SERVE, `--${stray} applies only with --http.`, `--${stray}`);
    return stdioCommand();
  }
  const { httpCommand } = await import('./cli/http.js');
  return httpCommand(rest);
}

async function main(argv: string[]): Promise<void> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case undefined:
      return stdioCommand();
    case 'serve':
      return serve(rest);
    // One-shot commands exit when done, even if a socket or timer lingers.
    case 'run': {
      const { runCommand } = await import('./cli/run.js');
      return runCommand(rest).then(() => process.exit(0));
    }
    case 'credits': {
      const { creditsCommand } = await import('./cli/credits.js');
      return creditsCommand(rest).then(() => process.exit(0));
    }
    case 'spend': {
      const { spendCommand } = await import('./cli/spend.js');
      return spendCommand(rest).then(() => process.exit(0));
    }
    case 'doctor': {
      if (!parseCommand(DOCTOR, rest)) return;
      const { doctorCommand } = await import('./cli/doctor.js');
      return doctorCommand(rest).then(() => process.exit(0));
    }
    case 'demo': {
      if (!parseCommand(DEMO, rest)) return;
      const { demoCommand } = await import('./cli/demo.js');
      return demoCommand(rest, fileURLToPath(import.meta.url)).then(() => process.exit(0));
    }
    case '--version':
    case '-v':
      process.stdout.write(`${VERSION}\n`);
      return;
    case '--help':
    case '-h':
    case 'help':
      process.stdout.write(await help());
      return;
    default:
      process.stderr.write(await help());
      process.stderr.write(
        `${JSON.stringify({ error: `Unknown command "${cmd}".`, code: 'invalid_input', hint: 'Run `lipsync-mcp --help`.' })}\n`,
      );
      process.exit(2);
  }
}

main(process.argv.slice(2)).catch((err) => failJson(err, undefined));
