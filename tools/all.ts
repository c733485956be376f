import { checkCredits } from './check-credits.js';
import { createLipSync } from './create-lip-sync.js';
import type { AnyTool } from './define.js';
import { downloadResultTool } from './download-result.js';
import { editVideo } from './edit-video.js';
import { exportRender } from './export-render.js';
import { generateAudio } from './generate-audio.js';
import { generateImage } from './generate-image.js';
import { generateVideo } from './generate-video.js';
import { getTaskStatus } from './get-task-status.js';
import { listTasks } from './list-tasks.js';
import { spendReportTool } from './spend-report.js';
import { transcribe } from './transcribe.js';
import { uploadAsset } from './upload-asset.js';

/**
 * Every tool definition, imported at once: for the docs generator (which writes tools/catalog.ts from
 * these) and tests. The server itself starts from tools/index.ts, which imports each tool on its first call.
 */
export const ALL_TOOLS: AnyTool[] = [
  createLipSync,
  getTaskStatus,
  downloadResultTool,
  listTasks,
  checkCredits,
  spendReportTool,
  uploadAsset,
  generateVideo,
  generateImage,
  generateAudio,
  transcribe,
  editVideo,
  exportRender,
];
