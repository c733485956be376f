/**
 * Redaction by value: every secret this process knows (configured keys, tokens obtained at run time)
 * is replaced wherever it appears — log lines, tool results, error messages, CLI output.
 */
export class Redactor {
  private readonly values = new Set<string>();

  constructor(initial: Iterable<string> = []) {
    for (const v of initial) this.add(v);
  }

  /** Remember a secret. Very short values are ignored (they would mangle ordinary text). */
  add(value: string | undefined): void {
    if (value && value.length >= 6) {
      this.values.add(value);
      // Also catch the URL-encoded form (query strings, form bodies).
      const enc = encodeURIComponent(value);
      if (enc !== value) this.values.add(enc);
    }
  }

  redact = (text: string): string => {
    let out = text;
    for (const v of this.values) if (out.includes(v)) out = out.split(v).join('[REDACTED]');
    return out;
  };

  /** Deep-redacts a JSON-compatible value. */
  redactJson<T>(value: T): T {
    if (this.values.size === 0) return value;
    return JSON.parse(this.redact(JSON.stringify(value))) as T;
  }
}
