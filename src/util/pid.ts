/** Process liveness, for lease takeover: is the owner of a claim still running on this host? */
import { hostname } from 'node:os';

/** This machine's name: a claim's owner is a pid on a host, and a pid is only checked on its own host. */
export const HOST = hostname();

/** True when a process with this pid exists (EPERM: it exists but belongs to another user). */
export function isPidAlive(pid: number | null | undefined): boolean {
  // 0 and negative numbers address process groups, not one process: never "alive" owners.
  if (typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
