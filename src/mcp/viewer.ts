/** Registers the result viewer page as the MCP App resource `ui://lipsync/viewer`. */
import type { McpServer, Resource } from '@modelcontextprotocol/server';
import { RESOURCE_MIME_TYPE, VIEWER_URI } from '../../tools/mcp-apps.js';
import { VIEWER_HTML } from './viewer-page.js';

export { VIEWER_URI };

export const VIEWER_RESOURCE: Resource = {
  uri: VIEWER_URI,
  name: 'lipsync_viewer',
  title: 'Lip-sync result viewer',
  description:
    "Plays a task's result with its status and progress (and a local task's mouth cues). An MCP App.",
  mimeType: RESOURCE_MIME_TYPE,
};

export function registerViewer(server: McpServer): void {
  // What ext-apps' registerAppResource does (it only adds the MIME type), without importing it.
  server.registerResource(
    VIEWER_RESOURCE.name,
    VIEWER_URI,
    { title: VIEWER_RESOURCE.title, description: VIEWER_RESOURCE.description, mimeType: RESOURCE_MIME_TYPE },
    async () => ({
      contents: [
        {
          uri: VIEWER_URI,
          mimeType: RESOURCE_MIME_TYPE,
          text: VIEWER_HTML,
          // No network: the page loads nothing; only the result video itself is fetched by <video>.
          _meta: { ui: { prefersBorder: true } },
        },
      ],
    }),
  );
}
