import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as extApps from '@modelcontextprotocol/ext-apps/server';
import type { TaskRow } from '../../src/jobs/store.js';
import { VIEWER_RESOURCE, viewerCsp } from '../../src/mcp/viewer.js';
import { RESOURCE_MIME_TYPE, RESOURCE_URI_META_KEY } from '../../tools/mcp-apps.js';

test('the MCP Apps names spelled in tools/mcp-apps.ts are the ext-apps package’s', () => {
  assert.equal(RESOURCE_URI_META_KEY, extApps.RESOURCE_URI_META_KEY);
  assert.equal(RESOURCE_MIME_TYPE, extApps.RESOURCE_MIME_TYPE);
});

type Csp = { resourceDomains?: string[] };
/** ext-apps' zod schemas (its .d.ts re-exports them from an extensionless path NodeNext cannot resolve). */
const apps = (await import('@modelcontextprotocol/ext-apps')) as unknown as {
  McpUiResourceCspSchema: { shape: Record<string, unknown>; parse(v: unknown): Csp };
  McpUiResourceMetaSchema: { parse(v: unknown): { csp?: Csp } };
};
const { McpUiResourceCspSchema, McpUiResourceMetaSchema } = apps;

const rows = (urls: (string | undefined)[]) => ({
  page: async () => ({
    rows: urls.map((resultUrl) => ({ snapshot: { status: 'success', resultUrl } }) as TaskRow),
  }),
});

test('the viewer declares its CSP in the fields ext-apps defines: blob:/data: media and the result hosts', async () => {
  const listed = McpUiResourceMetaSchema.parse((VIEWER_RESOURCE._meta as { ui: unknown }).ui);
  const known = Object.keys(McpUiResourceCspSchema.shape);
  for (const k of Object.keys(listed.csp ?? {}))
    assert.ok(known.includes(k), `${k} is not an McpUiResourceCsp field`);
  assert.deepEqual(listed.csp?.resourceDomains, ['blob:', 'data:']);
  const csp = await viewerCsp(
    rows([
      'https://cdn.example.com/a/result.mp4?sig=secret',
      'https://cdn.example.com/b.mp4',
      'file:///home/u/out.mp4',
      'not a url',
      undefined,
      'http://127.0.0.1:8080/r.mp4',
    ]),
  );
  McpUiResourceCspSchema.parse(csp);
  assert.deepEqual(csp.resourceDomains, [
    'blob:',
    'data:',
    'https://cdn.example.com',
    'http://127.0.0.1:8080',
  ]);
  const many = await viewerCsp(
    rows(Array.from({ length: 100 }, (_, i) => `https://h${i}.example.com/r.mp4`)),
  );
  assert.equal(many.resourceDomains.length, 2 + 32, 'the list of origins is bounded');
});
