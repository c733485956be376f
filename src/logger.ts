import pino from 'pino';
import type { Redactor } from './redact.js';

export type Logger = pino.Logger;

/**
 * pino to stderr (fd 2) only: stdout belongs to JSON-RPC. Every line passes through the redactor, so
 * a secret is removed by value even when it hides inside an error message or a URL.
 */
export function createLogger(
  level: string,
  redactor: Redactor,
  destination: number | NodeJS.WritableStream = 2,
): Logger {
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
}

/** A logger that discards everything (tests, library use). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
