import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { defineTool } from './define.js';
import { VIEWER_META } from './mcp-apps.js';

export const downloadResultTool = defineTool({
  name: 'download_result',
  title: 'Download result',
  description:
    "Save a finished task's video into the output folder (LIPSYNC_OUTPUT_DIR) and return its path. Safe to repeat: the same bytes are not saved twice and no other file is overwritten. Only works once get_task_status says success.",
  input: {
    task_id: z.string().min(1).max(200),
    filename: z
      .string()
      .min(1)
      .max(200)
      .optional()
      .describe('Plain file name to save as (no folders). Default <task_id>.mp4.'),
  },
  output: {
    task_id: z.string(),
    status: z
      .enum(['saved', 'downloading'])
      .describe('downloading: still in transfer, continuing in the background; call again later.'),
    path: z.string().optional(),
    size: z.number().optional(),
    sha256: z.string().optional(),
    mime_type: z.string().optional(),
    already_present: z.boolean().optional(),
    mouth_cues_json: z
      .string()
      .optional()
      .describe('Local engine: Rhubarb-compatible mouth cues (JSON) beside the video.'),
    mouth_cues_tsv: z.string().optional().describe('Local engine: the same cues as Rhubarb TSV.'),
    next_step: z.string().optional(),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  meta: VIEWER_META,
  async handle(args, ctx, call) {
    const d = await ctx.jobs.download(args.task_id, args.filename, call);
    if (d.status === 'downloading') return { structured: d, text: `Still downloading. ${d.next_step}` };
    const uri = pathToFileURL(d.path).href;
    return {
      structured: d,
      text: `${d.already_present ? 'Already saved' : 'Saved'}: ${d.path} (${(d.size / 1048576).toFixed(1)} MiB)`,
      content: [
        { type: 'resource_link', uri, name: d.path.split('/').pop() ?? 'result', mimeType: d.mime_type },
      ],
    };
  },
});
