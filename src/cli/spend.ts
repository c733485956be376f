import { type App, createApp } from '../app.js';
import { loadConfig } from '../config.js';
import { failJson, printJson } from './output.js';
import { appOptionsForCli, CLI_DEFAULTS, type Command, parseCommand } from './shared.js';

export const SPEND: Command = {
  name: 'spend',
  synopsis: ['spend [--days N]'],
  summary:
    "Prints one JSON object: what paid jobs cost per provider per day and per task (from the ledger), and today's spend. Sends nothing.",
  flags: {
    days: {
      type: 'string',
      value: 'N',
      help: 'days back, today included (default 7)',
      check: (v) => (/^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= 366 ? undefined : 'takes 1..366'),
    },
  },
};

/** `lipsync-mcp spend`: the spend report from the ledger. */
export async function spendCommand(argv: string[]): Promise<void> {
  let app: App | undefined;
  try {
    const values = parseCommand(SPEND, argv);
    if (!values) return;
    const config = loadConfig({ defaults: CLI_DEFAULTS });
    app = await createApp(config, appOptionsForCli(config));
    const days = values.days === undefined ? 7 : Number(values.days);
    printJson({ ...(await app.jobs.spendReport(days)), today: await app.jobs.spentToday() }, app.redactor);
    await app.close(0);
  } catch (err) {
    failJson(err, app?.redactor);
  }
}
