/**
 * Who a task belongs to (issue 29). Over OAuth each user is a principal (`<issuer>#<subject>`); stdio,
 * the CLI and the single-user bearer token act as one fixed local principal, and every task recorded
 * before principals existed belongs to it, so their behaviour is unchanged.
 */
export const LOCAL_PRINCIPAL = 'local';

/** A principal's view of the ledger: only its own tasks, unless it is the local one over no OAuth. */
export interface PrincipalScope {
  id: string;
  /** Whether this principal may see a task recorded for `owner`. */
  sees(owner: string | null | undefined): boolean;
}

export function scopeOf(id: string): PrincipalScope {
  return { id, sees: (owner) => (owner ?? LOCAL_PRINCIPAL) === id };
}

export const LOCAL_SCOPE = scopeOf(LOCAL_PRINCIPAL);
