import { z } from 'zod';
import type { DryRun } from '../src/jobs/service.js';
import { defineTool } from './define.js';
import { createShape } from './schemas.js';

const estimateShape = z.object({
  provider: z.string(),
  display_name: z.string(),
  unit: z.string().describe('credits, videos or free'),
  amount: z.number().optional().describe('Expected cost in unit; absent when unknown until the job ends.'),
  basis: z.string(),
  balance: z.record(z.string(), z.unknown()).optional(),
  balance_summary: z.string().optional(),
});

/** Output of create_lip_sync / generate_video: a task, or (dry_run) what would happen and cost. */
export const createOrDryRunShape = {
  ...z.object(createShape).partial().shape,
  action: z.enum([
    'created_new_task',
    'reused_existing_task',
    'would_create_new_task',
    'would_reuse_existing_task',
  ]),
  reused: z.boolean(),
  provider: z.string(),
  warnings: z.array(z.string()),
  next_step: z.string(),
  dry_run: z.literal(true).optional().describe('A dry run: nothing was sent or paid.'),
  cost: estimateShape.optional().describe('Dry run: the expected cost in the provider unit.'),
  spent_today: z
    .object({
      amount: z.number(),
      unit: z.string(),
      unknown_jobs: z.number(),
      paid_jobs_all_providers: z.number(),
    })
    .optional(),
  caps: z.array(z.object({ setting: z.string(), limit: z.number(), unit: z.string() })).optional(),
};

export const dryRunInput = z
  .boolean()
  .optional()
  .describe(
    'true: only say which provider would run, whether this reuses a task (free) or creates one, and the expected cost. Sends and pays nothing.',
  );

export function dryRunText(d: DryRun): string {
  const cost =
    d.cost.amount === undefined ? `cost unknown until the job ends` : `${d.cost.amount} ${d.cost.unit}`;
  const parts = [
    `Dry run: ${d.reused ? `would reuse task ${d.task_id} (free)` : `would create a new ${d.provider} task`}`,
    `expected cost: ${cost} (${d.cost.basis})`,
  ];
  if (d.cost.balance_summary) parts.push(`balance: ${d.cost.balance_summary}`);
  parts.push(`spent today: ${d.spent_today.amount} ${d.spent_today.unit}`);
  if (d.warnings.length) parts.push(`warnings: ${d.warnings.join('; ')}`);
  parts.push(`Next: ${d.next_step}`);
  return parts.join('. ');
}

export const spendReportTool = defineTool({
  name: 'spend_report',
  title: 'Spend report',
  description:
    "What paid jobs cost, from the local ledger: per provider per day, and per task, in each provider's unit (credits, videos). " +
    'Each figure says its source: provider (its own figure), balance (balance read before and after), estimate, or reused (nothing paid). Sends nothing to any provider.',
  input: {
    days: z.number().int().min(1).max(366).optional().describe('Days back, today included (default 7).'),
  },
  output: {
    since: z.string(),
    days: z.array(
      z.object({
        day: z.string(),
        provider: z.string(),
        unit: z.string(),
        amount: z.number(),
        unknown: z.number().describe('Tasks whose cost is not known.'),
        tasks: z.number(),
      }),
    ),
    tasks: z.array(
      z.object({
        task_id: z.string(),
        provider: z.string(),
        day: z.string(),
        amount: z.number().optional(),
        unit: z.string(),
        source: z.string(),
        paid: z.boolean(),
      }),
    ),
  },
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handle(args, ctx) {
    const report = await ctx.jobs.spendReport(args.days ?? 7, ctx.principal);
    const lines = report.days.map(
      (d) =>
        `${d.day} ${d.provider}: ${d.amount} ${d.unit} over ${d.tasks} task(s)${d.unknown ? `, ${d.unknown} of unknown cost` : ''}`,
    );
    return { structured: report, text: lines.length ? lines.join('\n') : 'Nothing spent in this period.' };
  },
});
