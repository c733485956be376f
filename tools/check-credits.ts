import { z } from 'zod';
import type { SpentToday } from '../src/jobs/service.js';
import { defineTool } from './define.js';
import { choice, PROVIDERS } from './schemas.js';

/** Today's spend of one count (a provider's, or one of The Director's two). */
const meterToday = z.object({
  amount: z.number(),
  unit: z.string(),
  unknown_jobs: z.number(),
  paid_jobs: z.number(),
  cap: z.object({ setting: z.string(), limit: z.number() }).optional(),
});

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
        balance: z.record(z.string(), z.unknown()).optional(),
        fix: z.string().optional(),
        spent_today: meterToday
          .extend({
            images_audio: meterToday
              .optional()
              .describe(
                "The Director only: today's images, audio and transcripts, counted apart from videos.",
              ),
          })
          .optional()
          .describe("Today's spend from the local ledger, in the provider's unit (The Director: videos)."),
      }),
    ),
  },
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  async handle(args, ctx, call) {
    const today = new Map((await ctx.jobs.spentToday()).map((s) => [s.provider, s]));
    const providers = (await ctx.jobs.credits(args.provider, call.signal)).map((p) => {
      const s = today.get(p.provider);
      const { provider: _, ...spent_today } = s ?? { provider: '' };
      return s
        ? { ...p, spent_today: spent_today as Omit<SpentToday, 'provider'> }
        : { ...p, spent_today: undefined };
    });
    const text = providers
      .map((p) => {
        const line = `${p.display_name}: ${p.configured ? p.summary : `not configured — ${p.fix ?? ''}`}`;
        const s = p.spent_today;
        if (!s) return line;
        const parts = [s, ...(s.images_audio ? [s.images_audio] : [])].map(
          (m) => `${m.amount} ${m.unit}${m.cap ? ` of ${m.cap.limit} (${m.cap.setting})` : ''}`,
        );
        return `${line} Spent today: ${parts.join('; ')}.`;
      })
      .join('\n');
    return { structured: { providers }, text };
  },
});
