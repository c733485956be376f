/**
 * The MCP Tasks extension (`io.modelcontextprotocol/tasks`, SEP-2663, 2026-07-28), for clients that
 * declare it in a request's capabilities. The SDK (v2) has no task runtime on this era: it passes a
 * `resultType: "task"` answer to tools/call through, and serves `tasks/get` / `tasks/cancel` /
 * `tasks/update` as extension methods registered with their own schemas; this module is the rest.
 *
 * - A long tool (create_lip_sync, generate_*, transcribe, edit_video, export_render) whose job is still
 *   running answers a declaring client with a task (CreateTaskResult). Its task id is the ledger's
 *   task id; the ledger row exists before the answer leaves (the spec's "durably created").
 * - `tasks/get` and `tasks/cancel` go to the job service, which reads and writes the ledger: any
 *   process or instance on the same ledger answers, with no state held here.
 * - `pollIntervalMs` is the provider's own polling interval for the job; `ttlMs` is null (the ledger
 *   keeps tasks).
 * - Everyone else (2025-11-25 clients, 2026 clients that do not declare it) gets the ordinary answers
 *   and follows tasks with get_task_status, as before.
 *
 * Ledger state -> extension status (mcpStatus below):
 * - a client's cancel recorded on the task                    -> `cancelled` (statusMessage: what it did)
 * - submitting, pending, processing                           -> `working`
 * - unknown, while the provider can still be asked            -> `working` (it is being reconciled)
 * - success                                                   -> `completed`, result: the task as
 *                                                                get_task_status shows it
 * - failed, rejected, unknown that nobody can settle          -> `completed`, result with isError: true
 *                                                                and `{error:{code,message,hint}}` — a
 *                                                                tool-level outcome, which the spec keeps
 *                                                                out of `failed`
 * - `failed` (a JSON-RPC error during execution) and `input_required` are never stored: a paid job is
 *   confirmed before its task exists (input_required on tools/call), and a ledger that cannot be read
 *   answers tasks/get with a JSON-RPC error instead.
 */
import {
  type CallToolResult,
  CLIENT_CAPABILITIES_META_KEY,
  type McpServer,
  MissingRequiredClientCapabilityError,
  ProtocolError,
  ProtocolErrorCode,
  type ServerContext,
} from '@modelcontextprotocol/server';
import { z } from 'zod';
import type { App } from '../app.js';
import { isAppError, toUserError } from '../errors.js';
import type { PrincipalScope } from '../jobs/principal.js';
import type { TaskFacts } from '../jobs/service.js';

export const TASKS_EXTENSION = 'io.modelcontextprotocol/tasks';

/** The tools whose jobs outlast a call: they may answer with a task. */
const LONG_TOOLS = new Set([
  'create_lip_sync',
  'generate_video',
  'generate_image',
  'generate_audio',
  'transcribe',
  'edit_video',
  'export_render',
]);

type Summarize = typeof import('../../tools/summary.js')['summarize'];
/** The one-line task summary the tools write, loaded with the first task answer (a start loads no tool code). */
const summarizer = async (): Promise<Summarize> => (await import('../../tools/summary.js')).summarize;

type McpTaskStatus = 'working' | 'input_required' | 'completed' | 'failed' | 'cancelled';

const TaskParams = z.object({ taskId: z.string().min(1).max(200) });
const UpdateParams = TaskParams.extend({ inputResponses: z.record(z.string(), z.unknown()).optional() });

/** Whether this (2026-07-28) request's client declared the Tasks extension in its capabilities. */
export function declaresTasks(extra: ServerContext): boolean {
  const env = extra.mcpReq.envelope as Record<string, unknown> | undefined;
  const caps = env?.[CLIENT_CAPABILITIES_META_KEY] as { extensions?: Record<string, unknown> } | undefined;
  return !!caps?.extensions && Object.hasOwn(caps.extensions, TASKS_EXTENSION);
}

function mcpStatus(f: TaskFacts): McpTaskStatus {
  if (f.cancel) return 'cancelled';
  return f.view.completed || f.settled ? 'completed' : 'working';
}

/** The fields every Task carries. */
function taskFields(f: TaskFacts, statusMessage: string) {
  return {
    taskId: f.view.task_id,
    status: mcpStatus(f),
    statusMessage,
    createdAt: new Date(f.createdAt).toISOString(),
    lastUpdatedAt: new Date(f.updatedAt).toISOString(),
    ttlMs: null,
    pollIntervalMs: f.pollIntervalMs,
  };
}

/** The tool's answer once the job is over: the task as the long tools return it (createShape). */
function finalResult(app: App, f: TaskFacts, summarize: Summarize): CallToolResult {
  const v = f.view;
  const action = f.foundExisting ? 'reused_existing_task' : 'created_new_task';
  const structured = app.redactor.redactJson({ action, reused: f.foundExisting, ...v }) as Record<
    string,
    unknown
  >;
  const line = app.redactor.redact(summarize(v));
  if (v.status === 'success')
    return { content: [{ type: 'text', text: line }], structuredContent: structured };
  const error = v.error ?? { code: v.status === 'unknown' ? 'unknown' : 'provider_failed', message: line };
  return {
    isError: true,
    content: [{ type: 'text', text: JSON.stringify({ error: app.redactor.redactJson(error) }) }],
    structuredContent: structured,
  };
}

/** What tasks/get answers: the task, with its result once it is over (a DetailedTask). */
function detailedTask(app: App, f: TaskFacts, summarize: Summarize) {
  const status = mcpStatus(f);
  if (status === 'cancelled') {
    const since = f.view.completed ? ` Since then the job ended: ${f.view.status}.` : '';
    return taskFields(f, app.redactor.redact(`${f.cancel?.message ?? 'Cancelled.'}${since}`));
  }
  const fields = taskFields(f, app.redactor.redact(summarize(f.view)));
  return status === 'completed' ? { ...fields, result: finalResult(app, f, summarize) } : fields;
}

/** tasks/* need the extension declared on the request (spec: -32021 otherwise). */
function requireDeclared(extra: ServerContext, method: string): void {
  if (declaresTasks(extra)) return;
  throw new MissingRequiredClientCapabilityError(
    { requiredCapabilities: { extensions: { [TASKS_EXTENSION]: {} } } },
    `Missing required client capability: ${method} needs the ${TASKS_EXTENSION} extension declared in the request's client capabilities. Without it, follow tasks with get_task_status.`,
  );
}

/** Runs a ledger step for one task; an unknown id is the spec's -32602, other failures say what broke. */
async function forTask<T>(app: App, taskId: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (err) {
    if (isAppError(err) && err.code === 'not_found')
      throw new ProtocolError(
        ProtocolErrorCode.InvalidParams,
        `Failed to retrieve task: Task not found: ${taskId}. Use a taskId this server returned (list_tasks shows recent tasks).`,
      );
    const ue = toUserError(err, app.redactor.redact);
    throw new ProtocolError(ProtocolErrorCode.InternalError, `${ue.message}${ue.hint ? ` ${ue.hint}` : ''}`);
  }
}

/**
 * Serves the extension on a 2026-07-28 instance: declares it (server/discover) and answers tasks/get,
 * tasks/cancel and tasks/update, for `principal` (OAuth: another user's task is one that does not
 * exist). Before connecting.
 */
export function registerTasksExtension(server: McpServer, app: App, principal?: PrincipalScope): void {
  server.server.registerCapabilities({ extensions: { [TASKS_EXTENSION]: {} } });
  server.server.setRequestHandler('tasks/get', { params: TaskParams }, async ({ taskId }, extra) => {
    requireDeclared(extra, 'tasks/get');
    const facts = await forTask(app, taskId, () =>
      app.jobs.taskFacts(taskId, { signal: extra.mcpReq.signal, principal }),
    );
    return detailedTask(app, facts, await summarizer());
  });
  server.server.setRequestHandler('tasks/cancel', { params: TaskParams }, async ({ taskId }, extra) => {
    requireDeclared(extra, 'tasks/cancel');
    const outcome = await forTask(app, taskId, () => app.jobs.cancel(taskId, extra.mcpReq.signal, principal));
    app.log.info(
      { task: taskId, stopped: outcome.stopped, ended_first: outcome.ended_first },
      'tasks/cancel',
    );
    // The acknowledgement is empty (spec); what happened is in tasks/get's statusMessage.
    return {};
  });
  // This server's tasks never wait for input (input_required): there is never an outstanding key, and
  // the spec says to ignore responses for keys that are not outstanding.
  server.server.setRequestHandler('tasks/update', { params: UpdateParams }, async ({ taskId }, extra) => {
    requireDeclared(extra, 'tasks/update');
    await forTask(app, taskId, () => app.jobs.taskFacts(taskId, { principal }, { look: false }));
    return {};
  });
}

/**
 * A long tool's answer to a client that declared the extension, as a task (CreateTaskResult) while its
 * job runs. Undefined (the ordinary answer stands): another tool, an error, a dry run, a job already
 * over, or a client without the extension.
 */
export async function taskAnswer(
  app: App,
  tool: string,
  result: CallToolResult,
  extra: ServerContext,
  principal?: PrincipalScope,
): Promise<Record<string, unknown> | undefined> {
  if (!LONG_TOOLS.has(tool) || result.isError || !declaresTasks(extra)) return undefined;
  const sc = result.structuredContent as { task_id?: unknown; dry_run?: unknown } | undefined;
  if (typeof sc?.task_id !== 'string' || sc.dry_run === true) return undefined;
  const facts = await app.jobs.taskFacts(sc.task_id, { principal }, { look: false, resume: true });
  if (mcpStatus(facts) !== 'working') return undefined;
  // Said from the task as it is now (a cancel the call just lifted is no longer in its warnings).
  const reused = (sc as { reused?: unknown }).reused === true;
  const summarize = await summarizer();
  const line = `${reused ? 'Reused existing task (nothing new was paid)' : 'Created task'} — ${summarize(facts.view)}`;
  return { resultType: 'task', ...taskFields(facts, app.redactor.redact(line)) };
}
