/**
 * The words The Director's wire layer (api.ts) and its answer table (classify.ts) share: which path a
 * request took, which API a task belongs to, and what a create answer proves. Apart from both so that
 * neither imports the other back (api.ts uses classify.ts; classify.ts needs only these).
 */
import type { AppError } from '../../errors.js';

export type Via = 'gateway' | 'direct';
export type ApiType = 'agent' | 'tool';

export interface DirectorAuth {
  via: Via;
  token: string;
  source: string;
}

export type CreateOutcome =
  | { kind: 'created'; id: string; api: ApiType; corrected: boolean }
  | { kind: 'retry' | 'rejected' | 'fatal'; error: AppError; reason: string };
