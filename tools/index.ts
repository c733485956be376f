/**
 * The tools as the server starts with them: each tool's listing, as clients see it in `tools/list`
 * (tools/catalog.ts, generated from the zod schemas by `npm run docs` and checked against them by
 * test/ecosystem/docs.test.ts), and a loader that imports its definition on its first call. So a
 * `tools/list` answer builds no zod schema and converts none to JSON Schema.
 */
import { TOOL_CATALOG } from './catalog.js';
import type { AnyTool } from './define.js';

/** Each tool's definition, imported when it is first called. The order is the order clients list them. */
export const TOOL_LOADERS = {
  create_lip_sync: async () => (await import('./create-lip-sync.js')).createLipSync,
  get_task_status: async () => (await import('./get-task-status.js')).getTaskStatus,
  download_result: async () => (await import('./download-result.js')).downloadResultTool,
  list_tasks: async () => (await import('./list-tasks.js')).listTasks,
  check_credits: async () => (await import('./check-credits.js')).checkCredits,
  spend_report: async () => (await import('./spend-report.js')).spendReportTool,
  upload_asset: async () => (await import('./upload-asset.js')).uploadAsset,
  generate_video: async () => (await import('./generate-video.js')).generateVideo,
  generate_image: async () => (await import('./generate-image.js')).generateImage,
  generate_audio: async () => (await import('./generate-audio.js')).generateAudio,
  transcribe: async () => (await import('./transcribe.js')).transcribe,
  edit_video: async () => (await import('./edit-video.js')).editVideo,
  export_render: async () => (await import('./export-render.js')).exportRender,
} satisfies Record<string, () => Promise<AnyTool>>;

export type ToolName = keyof typeof TOOL_LOADERS;

export const TOOL_NAMES = Object.keys(TOOL_LOADERS) as ToolName[];

/**
 * The provider kinds a tool runs on: it is listed when some provider here offers one of them. Tools
 * not named here (status, download, tasks, credits, spend, uploads) are always listed.
 */
export const TOOL_KINDS: Partial<Record<ToolName, readonly string[]>> = {
  create_lip_sync: ['lip_sync'],
  generate_video: ['generate_video'],
  generate_image: ['image'],
  generate_audio: ['audio'],
  transcribe: ['transcript'],
  edit_video: ['edit', 'post'],
  export_render: ['render'],
};

/** The listing of each tool by name. */
export const TOOL_LISTING = new Map(TOOL_CATALOG.map((t) => [t.name, t]));
