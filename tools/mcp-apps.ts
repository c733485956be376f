/**
 * The two MCP Apps names this server uses, spelled as `@modelcontextprotocol/ext-apps/server` exports
 * them. Importing that module builds the whole App protocol and its zod schemas — about 25 ms of CPU
 * before the first `tools/list` answer — for two strings; test/ecosystem/mcp-apps.test.ts keeps these
 * equal to the package's.
 */
export const RESOURCE_URI_META_KEY = 'ui/resourceUri';
export const RESOURCE_MIME_TYPE = 'text/html;profile=mcp-app';

/** The result viewer (an MCP App); clients without MCP Apps ignore it and get the same results. */
export const VIEWER_URI = 'ui://lipsync/viewer';
export const VIEWER_META = { ui: { resourceUri: VIEWER_URI }, [RESOURCE_URI_META_KEY]: VIEWER_URI };
