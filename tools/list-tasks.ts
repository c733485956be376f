import { z } from 'zod';
import { inTurn } from '../src/jobs/turns.js';
import { defineTool } from './define.js';
import { choice, PROVIDERS, taskViewShape } from './schemas.js';

export const listTasks = defineTool({
  name: 'list_tasks',
  title: 'List tasks',
  description:
    'Recent tasks from the local ledger, newest first — including unfinished ones that survived a restart. Use it to find a task_id again instead of creating a new task.',
  input: {
    unfinished_only: z.boolean().optional().describe('Only tasks not yet success or failed.'),
    provider: choice(PROVIDERS).optional(),
    limit: z.number().int().min(1).max(200).optional().describe('Tasks per page. Default 20.'),
    cursor: z
      .string()
      .max(200)
      .optional()
      .describe('next_cursor of the previous page, to list older tasks (same filters).'),
  },
  output: {
    tasks: z.array(
      z.object({
        ...taskViewShape,
        cost: z
          .object({ amount: z.number().optional(), unit: z.string(), source: z.string() })
          .optional()
          .describe(
            'What the task cost: source provider, balance (read before and after), estimate, or reused (nothing paid).',
          ),
      }),
    ),
    count: z.number(),
    next_cursor: z.string().optional().describe('Present while older tasks remain: pass it as cursor.'),
  },
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handle(args, ctx) {
    // One listing per turn of the event loop: a burst of them never stalls other sessions.
    const { tasks, nextCursor } = await inTurn(() =>
      ctx.jobs.list({
        limit: args.limit,
        unfinishedOnly: args.unfinished_only,
        provider: args.provider,
        cursor: args.cursor,
        principal: ctx.principal,
      }),
    );
    const lines = tasks.map(
      (t) =>
        `${t.task_id} ${t.provider} ${t.kind} ${t.status}${t.result_url ? ` ${t.result_url}` : ''}${t.cost ? ` cost: ${t.cost.amount ?? '?'} ${t.cost.unit} (${t.cost.source})` : ''}`,
    );
    if (nextCursor) lines.push(`More: call list_tasks with cursor "${nextCursor}".`);
    return {
      structured: { tasks, count: tasks.length, ...(nextCursor ? { next_cursor: nextCursor } : {}) },
      text: tasks.length ? lines.join('\n') : args.cursor ? 'No more tasks.' : 'No tasks yet.',
    };
  },
});
