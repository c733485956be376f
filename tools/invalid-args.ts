/**
 * Arguments that fail a tool's own schema, said in the documented error shape (`invalid_input`): each
 * argument named, with what it accepts, from zod's issues. The rejected value is never echoed (a
 * hostile 1 MB string must not come back as a 1 MB error). Loaded with the first refused call.
 */
import type { ZodRawShape } from 'zod';
import { AppError } from '../src/errors.js';

/** The parts of a zod 4 issue this reads (`z.core.$ZodIssue`, loosely: every code is handled). */
interface Issue {
  code: string;
  path: PropertyKey[];
  message: string;
  expected?: string;
  origin?: string;
  minimum?: number | bigint;
  maximum?: number | bigint;
  inclusive?: boolean;
  values?: unknown[];
  format?: string;
  keys?: string[];
  divisor?: number;
}

/** Most issues one answer lists; the count of the rest is given. */
const MAX_ISSUES = 5;
const MAX_NAME = 60;

function clip(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

/** `clips[0]`, `options.size`; the whole arguments object when the path is empty. */
function nameOf(path: PropertyKey[]): string {
  if (!path.length) return 'the arguments';
  const name = path
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i ? '.' : ''}${String(p)}`))
    .join('');
  return clip(name, MAX_NAME);
}

function valueAt(args: unknown, path: PropertyKey[]): unknown {
  let v = args;
  for (const p of path) v = v && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[p] : undefined;
  return v;
}

const TYPE_WORDS: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'an object',
};

const plural = (n: number | bigint, one: string) => `${n} ${one}${Number(n) === 1 ? '' : 's'}`;

function sizeLimit(i: Issue, bound: 'at most' | 'at least'): string {
  const n = (bound === 'at most' ? i.maximum : i.minimum) ?? 0;
  if (i.origin === 'string') {
    if (bound === 'at least' && Number(n) === 1) return 'must not be empty';
    return `must be ${bound} ${plural(n, 'character')}`;
  }
  if (i.origin === 'array' || i.origin === 'set') return `must have ${bound} ${plural(n, 'item')}`;
  if (i.inclusive === false) return `must be ${bound === 'at most' ? 'less' : 'more'} than ${n}`;
  return `must be ${bound} ${n}`;
}

/** What one issue says about its argument: "<name> must ...". */
function describe(i: Issue, args: unknown): string {
  const name = nameOf(i.path);
  switch (i.code) {
    case 'invalid_type': {
      const value = valueAt(args, i.path);
      if (value === undefined && i.path.length) return `${name} is required`;
      if (i.expected === 'number' && typeof value === 'number') return `${name} must be a finite number`;
      return `${name} must be ${TYPE_WORDS[i.expected ?? ''] ?? `of type ${i.expected}`}`;
    }
    case 'too_big':
      return `${name} ${sizeLimit(i, 'at most')}`;
    case 'too_small':
      return `${name} ${sizeLimit(i, 'at least')}`;
    case 'invalid_value': {
      const values = (i.values ?? []).map(String);
      return values.length === 1
        ? `${name} must be ${values[0]}`
        : `${name} must be one of ${values.join(', ')}`;
    }
    case 'invalid_format':
      return i.format === 'url' ? `${name} must be a URL` : `${name} must be a valid ${i.format}`;
    case 'not_multiple_of':
      return `${name} must be a multiple of ${i.divisor}`;
    case 'unrecognized_keys':
      return `${name} has unknown keys: ${clip((i.keys ?? []).map((k) => clip(k, 40)).join(', '), 200)}`;
    case 'invalid_union':
      return `${name} matches none of the accepted forms`;
    default:
      // A refinement's own message (written in the schema, not from the input).
      return `${name}: ${clip(i.message, 200)}`;
  }
}

/** "a", "a and b", "a, b and c". */
function inWords(names: string[]): string {
  return names.length < 2 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
}

/** What a top-level argument accepts, from its schema's description. */
function accepts(input: ZodRawShape, arg: PropertyKey | undefined): string | undefined {
  if (typeof arg !== 'string' || !Object.hasOwn(input, arg)) return undefined;
  const d = (input[arg] as { description?: string }).description;
  return d ? `${arg}: ${d}` : undefined;
}

/** The `invalid_input` error for a call whose arguments failed the tool's input schema (a ZodError). */
export function invalidArguments(tool: string, input: ZodRawShape, args: unknown, error: unknown): AppError {
  const found = (error as { issues?: unknown } | undefined)?.issues;
  const issues: Issue[] =
    Array.isArray(found) && found.length
      ? found
      : [{ code: 'custom', path: [], message: 'they do not match its input schema' }];
  const parts = issues.slice(0, MAX_ISSUES).map((i) => describe(i, args));
  if (issues.length > MAX_ISSUES) parts.push(`and ${issues.length - MAX_ISSUES} more`);
  const names = [...new Set(issues.slice(0, MAX_ISSUES).map((i) => nameOf(i.path)))];
  const first = accepts(input, issues[0]?.path[0]);
  return new AppError(
    'invalid_input',
    `Invalid argument${issues.length > 1 ? 's' : ''} for ${tool}: ${parts.join('; ')}.`,
    {
      hint: `Call ${tool} again with ${inWords(names)} corrected; its input schema (tools/list) says what each argument accepts.${first ? ` ${first}` : ''}`,
    },
  );
}
