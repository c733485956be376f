import type { AppOptions } from '../app.js';
import type { Config } from '../config.js';

/** The CLI has no client timeout: let `create` wait for uploads and the create request to finish. */
export function appOptionsForCli(config: Config): AppOptions {
  return { submitWaitMs: Math.max(45_000, config.jogg.maxWaitSeconds * 1000) };
}

/** Commands print their own progress lines; routine logs would only repeat them. */
export const CLI_DEFAULTS: Record<string, string> = { LIPSYNC_LOG_LEVEL: 'warn' };
