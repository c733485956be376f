import { z } from 'zod';
import { defineTool } from './define.js';
import { choice, mediaInput } from './schemas.js';

export const uploadAsset = defineTool({
  name: 'upload_asset',
  title: 'Upload asset',
  description:
    'Upload a local file (or register a URL) with a provider ahead of time and get its asset URL. Cached by content: the same bytes are never uploaded twice. ' +
    'Not needed before create_lip_sync, which uploads for you.',
  input: {
    file: mediaInput('File to upload'),
    role: choice(['video', 'audio', 'image']).optional().describe('What the file is (default video).'),
    provider: choice(['jogg'])
      .optional()
      .describe(
        'Provider to upload to (Jogg; NemoVideo uploads belong to a session and happen inside create_lip_sync).',
      ),
  },
  output: {
    provider: z.string(),
    status: z
      .enum(['uploaded', 'uploading'])
      .describe('uploading: a large file still in transfer, continuing in the background; call again later.'),
    url: z.string().optional().describe('The asset URL, once uploaded.'),
    next_step: z.string().optional(),
    cached: z
      .boolean()
      .describe('True when these bytes were uploaded before and the earlier URL was reused.'),
    sha256: z.string().optional(),
    size: z.number().optional(),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  async handle(args, ctx, call) {
    const r = await ctx.jobs.uploadAsset(args.provider ?? 'jogg', args.file, args.role ?? 'video', call);
    return {
      structured: r,
      text:
        r.status === 'uploading'
          ? `Still uploading to ${r.provider} in the background. ${r.next_step}`
          : `${r.cached ? 'Already uploaded' : 'Uploaded'} to ${r.provider}: ${r.url}`,
    };
  },
});
