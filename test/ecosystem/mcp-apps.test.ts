import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as extApps from '@modelcontextprotocol/ext-apps/server';
import { RESOURCE_MIME_TYPE, RESOURCE_URI_META_KEY } from '../../tools/mcp-apps.js';

test('the MCP Apps names spelled in tools/mcp-apps.ts are the ext-apps package’s', () => {
  assert.equal(RESOURCE_URI_META_KEY, extApps.RESOURCE_URI_META_KEY);
  assert.equal(RESOURCE_MIME_TYPE, extApps.RESOURCE_MIME_TYPE);
});
