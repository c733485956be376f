/**
 * A client's cancel of a task (the MCP Tasks extension's `tasks/cancel`), and the facts that extension
 * shows about a task. Everything is read from and written to the ledger, so any process or instance on
 * it answers the same.
 *
 * - A local job (free, on this machine) is stopped: its worker process ends, and the task is recorded
 *   as failed with code `cancelled`. The same request runs it again, for free.
 * - A paid job cannot be undone from here: once sent, the provider runs it and may charge for it. The
 *   cancel stops the client's waiting only. The ledger keeps following the job (its result and cost are
 *   recorded as ever, get_task_status still shows it), the task's warnings say so, and nothing here ever
 *   claims the job was cancelled at the provider or refunded.
 * The client's cancel is kept in the task's row (`request.client_cancel`): no new column.
 */
import { isFinal, type JobCore } from './core.js';
import type { TaskRow } from './store.js';
import type { TaskView } from './view.js';

const CANCEL_KEY = 'client_cancel';

/** What a client's cancel did, as recorded on the task. */
export interface ClientCancel {
  /** When (ISO). */
  at: string;
  /** Whether the job itself was stopped (a local job) or only the waiting (a paid job). */
  stopped: boolean;
  /** What happened, in words a person can act on. */
  message: string;
}

export interface CancelOutcome extends ClientCancel {
  task_id: string;
  /** The job had ended before the cancel could take effect: nothing was changed. */
  ended_first: boolean;
}

/** A task as the Tasks extension shows it: the view, when it was made and changed, how often to ask. */
export interface TaskFacts {
  view: TaskView;
  createdAt: number;
  updatedAt: number;
  /** The provider's own polling interval for this kind of job (ms). */
  pollIntervalMs: number;
  /** Whether the view is as final as it gets (JobService.isSettled). */
  settled: boolean;
  /** A client's cancel, when one was made and still applies. */
  cancel?: ClientCancel;
  /** The task reuses a job the provider already had (no new job was made for it). */
  foundExisting: boolean;
}

export function clientCancelOf(row: TaskRow): ClientCancel | undefined {
  const c = row.request[CANCEL_KEY] as Partial<ClientCancel> | undefined;
  if (!c || typeof c.at !== 'string' || typeof c.message !== 'string') return undefined;
  return { at: c.at, stopped: c.stopped === true, message: c.message };
}

export function factsOf(core: JobCore, row: TaskRow, view: TaskView, settled: boolean): TaskFacts {
  return {
    view,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    pollIntervalMs: core.pollInterval(row),
    settled,
    cancel: clientCancelOf(row),
    foundExisting: row.snapshot?.extra?.found_existing === true,
  };
}

/** Records the cancel on the task (and any other fields), from its current row. */
async function record(core: JobCore, id: string, cancel: ClientCancel, patch: Partial<TaskRow> = {}) {
  const row = await core.row(id);
  await core.update(id, { ...patch, request: { ...row.request, [CANCEL_KEY]: { ...cancel } } });
}

/** Cancels a task for a client: stops a local job; for a paid one, only the waiting (see above). */
export async function cancelTask(core: JobCore, row: TaskRow, signal: AbortSignal): Promise<CancelOutcome> {
  const at = new Date(core.now()).toISOString();
  const provider = core.d.providers.get(row.provider);
  const name = provider?.displayName ?? row.provider;
  const earlier = clientCancelOf(row);
  if (earlier) return { ...earlier, task_id: row.id, ended_first: false };
  if (isFinal(row)) {
    const message = `Task ${row.id} had already ended (${row.status}) before the cancel: nothing was changed.`;
    return { task_id: row.id, at, stopped: false, message, ended_first: true };
  }
  // A local job runs on the machine that submitted it: another machine on a shared ledger cannot stop it.
  const host = typeof row.request.inputs_host === 'string' ? row.request.inputs_host : core.host;
  if (provider && !provider.capabilities.paid && provider.stop && row.operation && host === core.host) {
    const ctx = { signal, log: core.d.log };
    const how = await provider.stop(row.operation, ctx);
    // The job may have finished just before it could be stopped: then that is its outcome.
    const snap = await provider.status(row.operation, ctx).catch(() => undefined);
    if (snap?.status === 'success') {
      await core.applySnapshot(row.id, snap, true);
      const message = `Task ${row.id} finished before it could be stopped: its result stands.`;
      return { task_id: row.id, at, stopped: false, message, ended_first: true };
    }
    const message = `Cancelled at the client's request: the ${name} job was stopped${how === 'not_running' ? ' (it was no longer running)' : ''}. Nothing was paid.`;
    const cancel = { at, stopped: true, message };
    await core.applySnapshot(row.id, { status: 'failed', error: { message, code: 'cancelled' } }, false);
    const error = {
      code: 'cancelled' as const,
      message,
      hint: 'Send the same request again to run it again (free).',
    };
    await record(core, row.id, cancel, { error });
    return { ...cancel, task_id: row.id, ended_first: false };
  }
  const message = waitingOnlyMessage(row, name, !!provider?.capabilities.paid, host);
  const cancel = { at, stopped: false, message };
  await record(core, row.id, cancel, { warnings: [...row.warnings, message] });
  core.wake(row.id);
  return { ...cancel, task_id: row.id, ended_first: false };
}

function waitingOnlyMessage(row: TaskRow, name: string, paid: boolean, host: string): string {
  const which = row.providerTaskId ? ` (${name} task ${row.providerTaskId})` : '';
  const fate = paid
    ? `was not cancelled at ${name}: it may still ${row.status === 'submitting' ? 'be sent, ' : ''}run and finish, and ${name} may still charge for it`
    : `could not be stopped ${row.operation ? `from here (it runs on ${host})` : '(it was still being started)'}: it may still run and finish, for free`;
  return `Stopped waiting for this task at the client's request. The ${name} job${which} ${fate}. This server keeps following it: get_task_status and list_tasks still show it, and download_result saves its result once it is done.`;
}

/**
 * A new call asked for a task a client had cancelled the waiting for (an identical request reused it):
 * the cancel no longer applies to it, and its note goes from the warnings.
 */
export async function resumeTask(core: JobCore, row: TaskRow): Promise<TaskRow> {
  const cancel = clientCancelOf(row);
  if (!cancel || isFinal(row)) return row;
  const { [CANCEL_KEY]: _gone, ...request } = row.request;
  return core.update(row.id, { request, warnings: row.warnings.filter((w) => w !== cancel.message) });
}
