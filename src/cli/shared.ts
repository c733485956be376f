import { parseArgs } from 'node:util';
import type { AppOptions } from '../app.js';
import { type Config, checkSetting, type SETTINGS } from '../config.js';
import { AppError } from '../errors.js';

/** The CLI has no client timeout: let `create` wait for uploads and the create request to finish. */
export function appOptionsForCli(config: Config): AppOptions {
  return { submitWaitMs: Math.max(45_000, config.jogg.maxWaitSeconds * 1000) };
}

/** Commands print their own progress lines; routine logs would only repeat them. */
export const CLI_DEFAULTS: Record<string, string> = { LIPSYNC_LOG_LEVEL: 'warn' };

/** One flag of a subcommand: its parseArgs type, the value's placeholder, a line of help, a check. */
export interface Flag {
  type: 'string' | 'boolean';
  /** Placeholder shown in the usage text, e.g. `N`; string flags only. */
  value?: string;
  help: string;
  multiple?: boolean;
  /** Returns why the value is not acceptable, or undefined when it is. */
  check?: (value: string) => string | undefined;
}

/** A subcommand's option table: the single source of its parsing and its usage text. */
export interface Command {
  name: string;
  /** Synopsis lines, without the leading `lipsync-mcp `. */
  synopsis: string[];
  summary: string;
  flags: Record<string, Flag>;
}

/** A mistake in the command line: exit code 2, the usage text on stderr, the flag named. */
export class UsageError extends AppError {
  readonly usage: string;
  constructor(command: Command, message: string, flag?: string) {
    super('invalid_input', message, {
      hint: `Run \`lipsync-mcp ${command.name} --help\`.`,
      details: flag === undefined ? undefined : { flag },
    });
    this.usage = usageText(command);
  }
}

/** The command's synopsis lines; a line starting with spaces continues the one before. */
export function synopsis(c: Command): string {
  return c.synopsis.map((s) => `  ${s.startsWith(' ') ? ' '.repeat(12) : 'lipsync-mcp '}${s}`).join('\n');
}

export function usageText(c: Command): string {
  const rows = Object.entries(c.flags).map(([name, f]) => [
    `--${name}${f.type === 'string' ? ` ${f.value ?? 'VALUE'}` : ''}`,
    f.help,
  ]);
  rows.push(['-h, --help', 'show this help']);
  const width = Math.max(...rows.map((r) => r[0]!.length));
  return [
    'Usage:',
    synopsis(c),
    '',
    c.summary,
    '',
    'Options:',
    ...rows.map(([f, h]) => `  ${f!.padEnd(width)}  ${h}`),
    '',
  ].join('\n');
}

type Values = Record<string, string | boolean | string[] | undefined>;

/**
 * Parses `argv` strictly against the command's table. Returns undefined when `--help` was asked for
 * (the usage text is already on stdout); throws a {@link UsageError} naming the flag otherwise.
 */
export function parseCommand(c: Command, argv: string[]): Values | undefined {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = {
    help: { type: 'boolean', short: 'h' },
  };
  for (const [name, f] of Object.entries(c.flags))
    options[name] = f.multiple ? { type: f.type, multiple: true } : { type: f.type };
  let values: Values;
  try {
    values = parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values as Values;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (!code?.startsWith('ERR_PARSE_ARGS_')) throw err;
    throw fromParseError(c, err as NodeJS.ErrnoException, argv);
  }
  if (values.help) {
    process.stdout.write(usageText(c));
    return undefined;
  }
  for (const [name, f] of Object.entries(c.flags)) {
    const v = values[name];
    for (const one of typeof v === 'string' ? [v] : Array.isArray(v) ? v : []) {
      const why = f.check?.(one);
      if (why) throw new UsageError(c, `--${name} ${why}, got "${one}".`, `--${name}`);
    }
  }
  return values;
}

/** Node's parseArgs errors, reworded: which flag, and what is wrong with it. */
function fromParseError(c: Command, err: NodeJS.ErrnoException, argv: string[]): AppError {
  const quoted = /'([^' ]+)/.exec(err.message)?.[1];
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return new UsageError(c, `Unknown option ${quoted} for \`${c.name}\`.`, quoted);
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return new UsageError(c, `Unexpected argument "${quoted}": \`${c.name}\` takes only options.`, quoted);
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
      const flag = quoted ?? '(unknown)';
      if (/does not take an argument/.test(err.message))
        return new UsageError(c, `${flag} is a switch and takes no value.`, flag);
      const next = argv[argv.indexOf(flag) + 1];
      const seen =
        next === undefined
          ? 'nothing follows it.'
          : `"${next}" looks like an option (write ${flag}=${next} if it is the value).`;
      return new UsageError(c, `${flag} needs a value, but ${seen}`, flag);
    }
    default:
      return new UsageError(c, err.message);
  }
}

/** A flag that overrides a setting is checked by that setting's own schema (src/config.ts). */
export function setting(name: keyof typeof SETTINGS): (v: string) => string | undefined {
  return (v) => checkSetting(name, v);
}

/** A check for one of a fixed set of words. */
export function oneOf(allowed: readonly string[]): (v: string) => string | undefined {
  return (v) => (allowed.includes(v) ? undefined : `takes one of ${allowed.join(', ')}`);
}
