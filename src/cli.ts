#!/usr/bin/env node
/**
 * lipsync-mcp: stdio MCP server (default), `serve --http`, `run`, `credits`, `doctor`, `demo`.
 */
import { creditsCommand } from './cli/credits.js';
import { doctorCommand } from './cli/doctor.js';
import { failJson } from './cli/output.js';
import { runCommand } from './cli/run.js';
import { stdioCommand } from './cli/stdio.js';
import { VERSION } from './version.js';

const HELP = `lipsync-mcp ${VERSION} — lip-sync and AI-video jobs for agents, never paid twice.

Usage:
  lipsync-mcp                      MCP server on stdio (what MCP clients start)
  lipsync-mcp serve [--http] [--host H] [--port P]
  lipsync-mcp run --video V --audio A [--provider P] [--playback-type T] [--align auto|off]
                  [--force-recreate] [--poll | --no-poll] [--poll-interval-seconds N] [--max-wait-seconds N]
  lipsync-mcp run --task-id ID [--poll]
  lipsync-mcp credits [--provider P]
  lipsync-mcp doctor [--json]
  lipsync-mcp demo                 offline demo with the local engine (no key, no network)

run prints exactly one JSON object on stdout; progress goes to stderr; errors are JSON on stderr (exit 1).
Providers: local (offline), jogg (JOGG_API_KEY), nemovideo (anonymous or NEMO_TOKEN), director (GATEWAY_TOKEN).
`;

async function main(argv: string[]): Promise<void> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case undefined:
      return stdioCommand();
    case 'serve':
      if (rest.includes('--http')) {
        const { httpCommand } = await import('./cli/http.js');
        return httpCommand(rest);
      }
      return stdioCommand();
    // One-shot commands exit when done, even if a socket or timer lingers.
    case 'run':
      return runCommand(rest).then(() => process.exit(0));
    case 'credits':
      return creditsCommand(rest).then(() => process.exit(0));
    case 'doctor':
      return doctorCommand(rest).then(() => process.exit(0));
    case 'demo': {
      const { demoCommand } = await import('./cli/demo.js');
      return demoCommand(rest).then(() => process.exit(0));
    }
    case '--version':
    case '-v':
      process.stdout.write(`${VERSION}\n`);
      return;
    case '--help':
    case '-h':
    case 'help':
      process.stdout.write(HELP);
      return;
    default:
      process.stderr.write(
        `${JSON.stringify({ error: `Unknown command "${cmd}".`, code: 'invalid_input', hint: 'Run `lipsync-mcp --help`.' })}\n`,
      );
      process.exit(2);
  }
}

main(process.argv.slice(2)).catch((err) => failJson(err, undefined));
