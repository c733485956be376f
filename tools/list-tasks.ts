import { z } from 'zod';
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
    limit: z.number().int().min(1).max(200).optional().describe('Default 20.'),
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
  },
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handle(args, ctx) {
    const tasks = ctx.jobs.list({
      limit: args.limit,
      unfinishedOnly: args.unfinished_only,
      provider: args.provider,
    });
    const lines = tasks.map(
      (t) =>
        `${t.task_id} ${t.provider} ${t.kind} ${t.status}${t.result_url ? ` ${t.result_url}` : ''}${t.cost ? ` cost: ${t.cost.amount ?? '?'} ${t.cost.unit} (${t.cost.source})` : ''}`,
    );
    return {
      structured: { tasks, count: tasks.length },
      text: tasks.length ? lines.join('\n') : 'No tasks yet.',
    };
  },
});
