import { type App, createApp } from '../app.js';
import { loadConfig } from '../config.js';
import { PROVIDER_NAMES } from '../names.js';
import { failJson, printJson } from './output.js';
import { appOptionsForCli, CLI_DEFAULTS, type Command, oneOf, parseCommand } from './shared.js';

export const CREDITS: Command = {
  name: 'credits',
  synopsis: ['credits [--provider P]'],
  summary: "Prints one JSON object with every provider's configuration state and balance. Never spends.",
  flags: {
    provider: { type: 'string', value: 'P', help: PROVIDER_NAMES.join(' | '), check: oneOf(PROVIDER_NAMES) },
  },
};

/** `lipsync-mcp credits`: one JSON object with every provider's state and balance. */
export async function creditsCommand(argv: string[]): Promise<void> {
  let app: App | undefined;
  try {
    const values = parseCommand(CREDITS, argv);
    if (!values) return;
    const config = loadConfig({ defaults: CLI_DEFAULTS });
    app = await createApp(config, appOptionsForCli(config));
    const providers = await app.jobs.credits(values.provider as string | undefined);
    printJson({ providers }, app.redactor);
    await app.close(0);
  } catch (err) {
    failJson(err, app?.redactor);
  }
}
