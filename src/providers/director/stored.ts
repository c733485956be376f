/**
 * The JSON The Director keeps in the ledger: the prepared plan (`prepare` -> `start`) and the operation
 * handle (`start` -> `status`, also after a restart). Both are checked with zod when read back, because a
 * damaged row must never start a paid job or query the wrong task type.
 */
import { z } from 'zod';
import { AppError } from '../../errors.js';
import type { JsonObject, TaskKind } from '../provider.js';
import type { CreateSpec } from './choice.js';
import type { ApiType, Via } from './types.js';

export interface PreparedPlan {
  kind: TaskKind;
  /** Creates to try in order; more than one only for the auto model's fallback chain. */
  specs: CreateSpec[];
  notes: string[];
}

/** Our own prepared JSON (from the ledger): checked, because a damaged row must never start a job. */
const planSchema = z.object({
  kind: z.enum(['generate_video', 'lip_sync', 'image', 'audio', 'transcript', 'post']),
  specs: z
    .array(
      z.union([
        z.object({ api: z.literal('agent'), label: z.string(), message: z.string() }).loose(),
        z.object({ api: z.literal('tool'), label: z.string(), tool_type: z.string() }).loose(),
      ]),
    )
    .min(1),
  notes: z.array(z.string()).catch([]),
});

export function readPlan(prepared: JsonObject): PreparedPlan {
  const plan = planSchema.safeParse(prepared);
  if (!plan.success)
    throw new AppError('internal', 'The prepared Director request is damaged; nothing was started.', {
      noTaskCreated: true,
    });
  return { ...plan.data, specs: plan.data.specs as unknown as CreateSpec[] };
}

const operationSchema = z.object({
  api: z.enum(['agent', 'tool']),
  id: z.string().min(1),
  via: z.enum(['gateway', 'direct']).optional().catch(undefined),
});

export function readOperation(operation: JsonObject): { api: ApiType; id: string; via: Via | undefined } {
  const op = operationSchema.safeParse(operation);
  if (!op.success) {
    throw new AppError(
      'invalid_input',
      'This task handle does not belong to The Director (no api type or id).',
      {
        hint: 'Look the task up with list_tasks and query it by its task_id.',
      },
    );
  }
  return { api: op.data.api, id: op.data.id, via: op.data.via };
}
