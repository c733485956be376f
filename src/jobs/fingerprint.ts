import { createHash } from 'node:crypto';
import type { InputRole, Json, JsonObject, ResolvedInput, TaskKind } from '../providers/provider.js';

/** Canonical JSON: object keys sorted, no whitespace, undefined dropped. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** A local file counts by content ({sha256, size}), a URL by its normalized string. */
export function inputIdentity(input: ResolvedInput): Json {
  return input.type === 'file' ? { sha256: input.sha256, size: input.size } : input.url;
}

export function fingerprint(
  provider: string,
  kind: TaskKind,
  inputs: Partial<Record<InputRole, ResolvedInput>>,
  params: JsonObject,
): string {
  const ids: JsonObject = {};
  for (const [role, input] of Object.entries(inputs)) if (input) ids[role] = inputIdentity(input);
  return createHash('sha256')
    .update(canonicalJson({ provider, kind, inputs: ids, params }))
    .digest('hex');
}
