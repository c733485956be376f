import { createRequire } from 'node:module';
import type pino from 'pino';
import type { Redactor } from './redact.js';

export type Logger = pino.Logger;

type Pino = typeof pino;

const require = createRequire(import.meta.url);

/** pino's numeric levels: a call below the logger's level writes nothing, so it needs no pino. */
const LEVELS: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };
const SILENT = Number.POSITIVE_INFINITY;

/**
 * A pino logger that is made on its first line: until then it is a small stand-in that knows its level,
 * so a start that logs nothing (an MCP client asking for the tool list) never loads pino — about 25 ms
 * of CPU, more than any other module of ours. Everything else is pino itself: the first call at an
 * enabled level (or any other use) builds it, synchronously, and every later call goes straight to it.
 */
function lazyLogger(level: string, make: () => Logger): Logger {
  let real: Logger | undefined;
  const get = () => {
    real ??= make();
    return real;
  };
  const threshold = level === 'silent' ? SILENT : (LEVELS[level] ?? LEVELS.info!);
  const noop = () => undefined;
  return new Proxy({} as Logger, {
    get(_, prop) {
      if (!real) {
        const n = typeof prop === 'string' ? LEVELS[prop] : undefined;
        if (n !== undefined && n < threshold) return noop;
        if (prop === 'level') return level;
        if (prop === 'child')
          return (bindings: pino.Bindings, options?: pino.ChildLoggerOptions) =>
            real
              ? real.child(bindings, options)
              : lazyLogger(options?.level ?? level, () => get().child(bindings, options));
      }
      const value = Reflect.get(get(), prop);
      return typeof value === 'function' ? value.bind(real) : value;
    },
    set(_, prop, value) {
      return Reflect.set(get(), prop, value);
    },
  });
}

/**
 * pino to stderr (fd 2) only: stdout belongs to JSON-RPC. Every line passes through the redactor, so
 * a secret is removed by value even when it hides inside an error message or a URL.
 */
export function createLogger(
  level: string,
  redactor: Redactor,
  destination: number | NodeJS.WritableStream = 2,
): Logger {
  return lazyLogger(level, () => {
    const pino = require('pino') as Pino;
    const dest =
      typeof destination === 'number' ? pino.destination({ fd: destination, sync: true }) : destination;
    return pino(
      {
        level,
        base: { name: 'lipsync-mcp' },
        redact: {
          paths: ['*.apiKey', '*.token', 'headers.authorization', 'headers["x-api-key"]'],
          censor: '[REDACTED]',
        },
        hooks: { streamWrite: (s: string) => redactor.redact(s) },
      },
      dest,
    );
  });
}

/** A logger that discards everything (tests, library use). */
export function silentLogger(): Logger {
  return lazyLogger('silent', () => (require('pino') as Pino)({ level: 'silent' }));
}
