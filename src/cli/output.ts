import { toUserError } from '../errors.js';
import type { Redactor } from '../redact.js';

/** CLI failure contract: one JSON object `{error, code?, hint?, missing_key?}` on stderr, exit 1. */
export function failJson(err: unknown, redactor: Redactor | undefined): never {
  const ue = toUserError(err, redactor?.redact);
  const out: Record<string, unknown> = { error: ue.message, code: ue.code };
  if (ue.hint) out.hint = ue.hint;
  const missing = ue.details?.missing_key;
  if (missing) out.missing_key = missing;
  process.stderr.write(`${JSON.stringify(out)}\n`);
  process.exit(1);
}

export function printJson(obj: unknown, redactor: Redactor): void {
  process.stdout.write(`${redactor.redact(JSON.stringify(obj))}\n`);
}
