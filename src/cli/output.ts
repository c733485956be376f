import { toUserError } from '../errors.js';
import type { Redactor } from '../redact.js';
import { UsageError } from './shared.js';

/**
 * CLI failure contract: one JSON object `{error, code, hint?, missing_key?, flag?}` as the last line of
 * stderr. Exit 1, or 2 for a usage error (whose usage text is printed above the JSON, for people).
 */
export function failJson(err: unknown, redactor: Redactor | undefined): never {
  const ue = toUserError(err, redactor?.redact);
  const out: Record<string, unknown> = { error: ue.message, code: ue.code };
  if (ue.hint) out.hint = ue.hint;
  for (const key of ['missing_key', 'flag'] as const) {
    const v = ue.details?.[key];
    if (v) out[key] = v;
  }
  if (err instanceof UsageError) process.stderr.write(`${err.usage}\n`);
  process.stderr.write(`${JSON.stringify(out)}\n`);
  process.exit(err instanceof UsageError ? 2 : 1);
}

export function printJson(obj: unknown, redactor: Redactor): void {
  process.stdout.write(`${redactor.redact(JSON.stringify(obj))}\n`);
}
