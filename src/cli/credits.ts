import { parseArgs } from 'node:util';
import { type App, createApp } from '../app.js';
import { loadConfig } from '../config.js';
import { failJson, printJson } from './output.js';
import { appOptionsForCli, CLI_DEFAULTS } from './shared.js';

/** `lipsync-mcp credits`: one JSON object with every provider's state and balance. */
export async function creditsCommand(argv: string[]): Promise<void> {
  let app: App | undefined;
  try {
    const { values } = parseArgs({ args: argv, options: { provider: { type: 'string' } }, strict: true });
    const config = loadConfig({ defaults: CLI_DEFAULTS });
    app = await createApp(config, appOptionsForCli(config));
    const providers = await app.jobs.credits(values.provider);
    printJson({ providers }, app.redactor);
    await app.close(0);
  } catch (err) {
    failJson(err, app?.redactor);
  }
}
