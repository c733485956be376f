import { z } from 'zod';
import { PROVIDER_NAMES } from '../src/names.js';

// zod 4 reports a missing argument as "Invalid input: expected string, received undefined"; say it
// plainly, as zod 3 did ("Required at video"). Schema-level messages (choice() below) still win.
z.config({
  customError: (issue) =>
    issue.code === 'invalid_type' && issue.input === undefined ? 'Required' : undefined,
});

export const userErrorShape = z.object({
  code: z.string(),
  message: z.string(),
  hint: z.string().optional(),
  details: z.record(z.string(), z.unknown()).optional(),
});

/** The task snapshot every task tool returns. */
export const taskViewShape = {
  task_id: z.string().describe("This server's task id: stable across providers and restarts."),
  provider: z.string(),
  kind: z.string(),
  status: z.enum(['pending', 'processing', 'success', 'failed', 'unknown']),
  stage: z.string().optional().describe('While pending: preparing (uploads) or submitting.'),
  completed: z.boolean(),
  provider_task_id: z.string().optional(),
  result_url: z.string().optional(),
  cover_url: z.string().optional(),
  duration_seconds: z.number().optional(),
  progress: z.number().optional(),
  message: z.string().optional(),
  stalled: z.boolean().optional(),
  gave_up: z.boolean().optional(),
  error: userErrorShape.optional(),
  warnings: z.array(z.string()),
  extra: z.record(z.string(), z.unknown()).optional(),
  created_at: z.string(),
  completed_at: z.string().optional(),
  next_poll_seconds: z.number().optional(),
  next_step: z.string().describe('What to do next, in words.'),
};

export const createShape = {
  action: z.enum(['created_new_task', 'reused_existing_task']),
  reused: z.boolean(),
  ...taskViewShape,
};

export const waitSecondsInput = z
  .number()
  .int()
  .min(0)
  .max(50)
  .optional()
  .describe(
    'Seconds to wait for completion before answering (0-50, default 0). Progress notifications are sent while waiting.',
  );

/**
 * An enum whose error names the accepted values but never echoes the rejected one (a hostile 1 MB
 * string must not come back as a 1 MB error).
 */
export function choice<T extends string>(values: readonly [T, ...T[]]) {
  return z.enum(values as [T, ...T[]], {
    error: `must be one of: ${values.join(', ')}`,
  });
}

export const PROVIDERS = PROVIDER_NAMES;

export const providerInput = choice(PROVIDERS)
  .optional()
  .describe(
    'Provider: "local" (offline, no account; aligns audio, does not re-animate the mouth), "jogg", "nemovideo", "director". Default: LIPSYNC_DEFAULT_PROVIDER, else the first with a key set, else local.',
  );

const MAX_PATH = 4096;
export const mediaInput = (what: string) =>
  z
    .string()
    .min(1)
    .max(MAX_PATH)
    .describe(`${what}: a local file path (under an allowed folder) or an http(s) URL.`);
