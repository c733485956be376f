/** Registers the result viewer page as the MCP App resource `ui://lipsync/viewer`. */
import type { McpServer, Resource } from '@modelcontextprotocol/server';
import { RESOURCE_MIME_TYPE, VIEWER_URI } from '../../tools/mcp-apps.js';
import type { LedgerStore } from '../jobs/store.js';
import { VIEWER_HTML } from './viewer-page.js';

export { VIEWER_URI };

/**
 * Media the page plays, as MCP Apps `resourceDomains` (a spec host adds them to `media-src`, and to
 * img-, script-, style- and font-src; its default allows only 'self' and data:): blob: for the videos
 * read through the host (a local task's original and result), data: for inline results.
 */
const PAGE_MEDIA = ['blob:', 'data:'];
/** Recent tasks whose result hosts the CSP names, and at most this many origins. */
const RECENT_TASKS = 100;
const MAX_ORIGINS = 32;

export const VIEWER_RESOURCE: Resource = {
  uri: VIEWER_URI,
  name: 'lipsync_viewer',
  title: 'Lip-sync result viewer',
  description:
    "Plays a task's result with its status, progress, warnings and cost (and a local task's mouth cues). An MCP App.",
  mimeType: RESOURCE_MIME_TYPE,
  // Static default for hosts that review it at connection time; resources/read adds the result hosts.
  _meta: { ui: { prefersBorder: true, csp: { resourceDomains: PAGE_MEDIA } } },
};

/**
 * The content-security policy the page needs (MCP Apps `_meta.ui.csp`): no connections, no frames;
 * media from blob:, data: and the origins of the results of the recent tasks (the player loads a
 * cloud result by its URL).
 */
export async function viewerCsp(ledger: Pick<LedgerStore, 'page'>): Promise<{ resourceDomains: string[] }> {
  const origins = new Set<string>();
  for (const row of (await ledger.page({ limit: RECENT_TASKS })).rows) {
    for (const u of [row.snapshot?.resultUrl, row.snapshot?.coverUrl]) {
      const origin = webOrigin(u);
      if (origin && origins.size < MAX_ORIGINS) origins.add(origin);
    }
  }
  return { resourceDomains: [...PAGE_MEDIA, ...origins] };
}

function webOrigin(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const u = new URL(url);
    return u.protocol === 'https:' || u.protocol === 'http:' ? u.origin : undefined;
  } catch {
    return undefined;
  }
}

export function registerViewer(server: McpServer, ledger: Pick<LedgerStore, 'page'>): void {
  // What ext-apps' registerAppResource does (it only adds the MIME type), without importing it.
  server.registerResource(
    VIEWER_RESOURCE.name,
    VIEWER_URI,
    {
      title: VIEWER_RESOURCE.title,
      description: VIEWER_RESOURCE.description,
      mimeType: RESOURCE_MIME_TYPE,
      _meta: VIEWER_RESOURCE._meta,
    },
    async () => ({
      contents: [
        {
          uri: VIEWER_URI,
          mimeType: RESOURCE_MIME_TYPE,
          text: VIEWER_HTML,
          // The page loads nothing but the videos: the CSP a host builds from this allows just those.
          _meta: { ui: { prefersBorder: true, csp: await viewerCsp(ledger) } },
        },
      ],
    }),
  );
}
