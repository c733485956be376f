import { z } from 'zod';
import { defineTool } from './define.js';
import { choice, PROVIDERS } from './schemas.js';

export const checkCredits = defineTool({
  name: 'check_credits',
  title: 'Check credits',
  description:
    'Show every provider: whether it is configured, where its credential came from, its remaining balance, and how to fix what is missing. Never spends anything.',
  input: {
    provider: choice(PROVIDERS).optional().describe('Only this provider.'),
  },
  output: {
    providers: z.array(
      z.object({
        provider: z.string(),
        display_name: z.string(),
        configured: z.boolean(),
        source: z.string(),
        summary: z.string(),
        balance: z.record(z.unknown()).optional(),
        fix: z.string().optional(),
      }),
    ),
  },
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  async handle(args, ctx, call) {
    const providers = await ctx.jobs.credits(args.provider, call.signal);
    const text = providers
      .map((p) => `${p.display_name}: ${p.configured ? p.summary : `not configured — ${p.fix ?? ''}`}`)
      .join('\n');
    return { structured: { providers }, text };
  },
});
