import { toUserError } from '../errors.js';
import type { Redactor } from '../redact.js';
import { UsageError } from './shared.js';

/** What the CLI prints for a failure: the JSON object, the exit code, and for a usage error its usage. */
export function cliFailure(
  err: unknown,
  redactor: Redactor | undefined,
): { json: Record<string, unknown>; exitCode: 1 | 2; usage?: string } {
  const ue = toUserError(err, redactor?.redact);
  const json: Record<string, unknown> = { error: ue.message, code: ue.code };
  if (ue.hint) json.hint = ue.hint;
  for (const key of ['missing_key', 'flag', 'retry_after_seconds'] as const) {
    const v = ue.details?.[key];
    if (v) json[key] = v;
  }
  return err instanceof UsageError ? { json, exitCode: 2, usage: err.usage } : { json, exitCode: 1 };
}

/**
 * CLI failure contract: one JSON object `{error, code, hint?, missing_key?, flag?, retry_after_seconds?}`
 * as the last line of stderr. Exit 1, or 2 for a usage error (whose usage text is printed above the JSON, for people).
 */
export function failJson(err: unknown, redactor: Redactor | undefined): never {
  const f = cliFailure(err, redactor);
  if (f.usage) process.stderr.write(`${f.usage}\n`);
  process.stderr.write(`${JSON.stringify(f.json)}\n`);
  process.exit(f.exitCode);
}

export function printJson(obj: unknown, redactor: Redactor): void {
  process.stdout.write(`${redactor.redact(JSON.stringify(obj))}\n`);
}
