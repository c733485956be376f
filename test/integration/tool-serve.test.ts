/**
 * The server lists its tools from tools/catalog.ts and imports each on its first call (tools/serve.ts).
 * A client must not see the difference from tools registered the SDK's own way (McpServer.registerTool)
 * for an extra argument and a good call. Arguments that fail a tool's schema are refused by both; ours
 * say so in the documented error shape, `{ error: { code: "invalid_input", message, hint } }`, naming
 * the argument and what it accepts, where the SDK answers its raw text. An unknown tool is a protocol
 * error (JSON-RPC -32602, as MCP 2025-11-25 says), where SDK 1.32's McpServer answers an isError result.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { type CallToolResult, ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { McpServer } from '@modelcontextprotocol/server';
import { createServer } from '../../src/server.js';
import { ALL_TOOLS } from '../../tools/all.js';
import { registerTool, type ToolContext } from '../../tools/define.js';
import { harness, testEnv } from '../helpers/app.js';

async function sdkServer(ctx: ToolContext): Promise<{ client: Client; close(): Promise<void> }> {
  const server = new McpServer({ name: 'sdk', version: '0' }, { capabilities: { tools: {} } });
  for (const t of ALL_TOOLS) registerTool(server, t, ctx);
  const [a, b] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: 'sdk-client', version: '0' });
  await Promise.all([server.connect(a), client.connect(b)]);
  return {
    client,
    async close() {
      await client.close();
      await server.close();
    },
  };
}

/** Calls every registration answers the same way: valid arguments. */
const SAME: [string, Record<string, unknown> | undefined][] = [
  ['get_task_status', { task_id: 'ls_000000000000000000000', extra_key: 1 }],
  ['list_tasks', { limit: 3 }],
  ['list_tasks', undefined],
  ['spend_report', { days: 2 }],
];

/**
 * Arguments that fail a tool's own schema, with what our answer must say. The SDK's McpServer refuses
 * them too, with its raw text; ours answer in the documented error shape (issue 24, item 11).
 */
const INVALID: [string, Record<string, unknown> | undefined, RegExp][] = [
  [
    'get_task_status',
    { wait_seconds: 'soon' },
    /^Invalid argument for get_task_status: wait_seconds must be a number\.$/,
  ],
  ['get_task_status', { task_id: 'x', wait_seconds: 51 }, /: wait_seconds must be at most 50\.$/],
  ['get_task_status', { task_id: 'x', wait_seconds: 1.5 }, /: wait_seconds must be a whole number\.$/],
  ['get_task_status', { task_id: '' }, /: task_id must not be empty\.$/],
  ['get_task_status', { task_id: 'x'.repeat(201) }, /: task_id must be at most 200 characters\.$/],
  ['create_lip_sync', {}, /^Invalid argument for create_lip_sync: audio is required\.$/],
  ['create_lip_sync', undefined, /: audio is required\.$/],
  [
    'create_lip_sync',
    { audio: 'a.wav', provider: 'heygen', dry_run: 'yes' },
    /^Invalid arguments for create_lip_sync: provider must be one of local, jogg, nemovideo, director; dry_run must be true or false\.$/,
  ],
  ['list_tasks', { limit: -1 }, /: limit must be at least 1\.$/],
  ['generate_image', { prompt: 'p'.repeat(4001) }, /: prompt must be at most 4000 characters\.$/],
  ['generate_video', { prompt: 'p', duration: 7 }, /: duration must be one of 5, 10\.$/],
  [
    'edit_video',
    { operation: 'trim', clips: ['not a url', 3], start_seconds: -1 },
    /: clips\[0\] must be a URL; clips\[1\] must be a string; start_seconds must be at least 0\.$/,
  ],
  ['edit_video', { clips: [] }, /: clips must have at least 1 item\.$/],
];

function context(h: Awaited<ReturnType<typeof harness>>): ToolContext {
  return {
    jobs: h.app.jobs,
    config: h.app.config,
    redactor: h.app.redactor,
    log: h.app.log,
    roots: () => [],
  };
}

test('valid calls: tools served from the catalog answer exactly as tools registered with the SDK', async () => {
  const env = testEnv({ LIPSYNC_LOG_LEVEL: 'silent' });
  const h = await harness(env.env);
  const sdk = await sdkServer(context(h));
  try {
    for (const [name, args] of SAME) {
      const ours = (await h.client.callTool({ name, arguments: args })) as CallToolResult;
      const theirs = (await sdk.client.callTool({ name, arguments: args })) as CallToolResult;
      assert.deepEqual(ours, theirs, `${name} ${JSON.stringify(args)}`);
    }
  } finally {
    await sdk.close();
    await h.close();
    env.cleanup();
  }
});

test('an unknown tool is a JSON-RPC error -32602 "Unknown tool: name", as v2\'s McpServer answers too', async () => {
  const env = testEnv({ LIPSYNC_LOG_LEVEL: 'silent' });
  const h = await harness(env.env);
  const sdk = await sdkServer(context(h));
  try {
    for (const name of ['no_such_tool', 'toString', '']) {
      // v2's McpServer also throws a protocol error here (SDK 1.32's wrapped it into an isError result).
      await assert.rejects(sdk.client.callTool({ name, arguments: {} }), McpError, `the SDK refuses ${name}`);
      await assert.rejects(h.client.callTool({ name, arguments: {} }), (err: unknown) => {
        assert.ok(err instanceof McpError, String(err));
        assert.equal(err.code, ErrorCode.InvalidParams);
        // The server says `Unknown tool: …`; the 1.x client adds its `MCP error -32602: ` prefix.
        assert.match(err.message, new RegExp(`^(MCP error -32602: )+Unknown tool: ${name}$`));
        return true;
      });
    }
    const listed = (await h.client.callTool({ name: 'list_tasks', arguments: {} })) as CallToolResult;
    assert.equal(listed.isError, undefined, 'the server keeps serving');
  } finally {
    await sdk.close();
    await h.close();
    env.cleanup();
  }
});

test('arguments that fail a tool schema: refused as the SDK refuses them, answered as invalid_input naming the argument', async () => {
  const env = testEnv({ LIPSYNC_LOG_LEVEL: 'silent' });
  const h = await harness(env.env);
  const sdk = await sdkServer(context(h));
  try {
    for (const [name, args, says] of INVALID) {
      const what = `${name} ${JSON.stringify(args)?.slice(0, 80)}`;
      const theirs = (await sdk.client.callTool({ name, arguments: args })) as CallToolResult;
      assert.equal(theirs.isError, true, `the SDK refuses ${what} too`);
      const ours = (await h.client.callTool({ name, arguments: args })) as CallToolResult;
      assert.equal(ours.isError, true, what);
      assert.equal(ours.structuredContent, undefined, what);
      assert.equal(ours.content.length, 1, what);
      const body = JSON.parse((ours.content[0] as { text: string }).text) as {
        error: { code: string; message: string; hint?: string };
      };
      assert.deepEqual(Object.keys(body), ['error'], what);
      assert.equal(body.error.code, 'invalid_input', what);
      assert.match(body.error.message, says, what);
      assert.match(body.error.hint ?? '', new RegExp(`^Call ${name} again with `), what);
    }
    // The first call of a tool imports it; a failed validation does not stop later calls.
    const listed = (await h.client.callTool({ name: 'list_tasks', arguments: {} })) as CallToolResult;
    assert.equal(listed.isError, undefined);
  } finally {
    await sdk.close();
    await h.close();
    env.cleanup();
  }
});

test('every tool answers a wrong-typed argument as invalid_input, naming it, never echoing the value', async () => {
  const env = testEnv({ LIPSYNC_LOG_LEVEL: 'silent' });
  const h = await harness(env.env);
  try {
    const hostile = `HOSTILE-${'z'.repeat(5000)}`;
    for (const t of ALL_TOOLS) {
      const arg = Object.keys(t.input)[0]!;
      const r = (await h.client.callTool({
        name: t.name,
        arguments: { [arg]: { nested: hostile } },
      })) as CallToolResult;
      const text = (r.content[0] as { text: string }).text;
      assert.equal(r.isError, true, t.name);
      const { error } = JSON.parse(text) as { error: { code: string; message: string } };
      assert.equal(error.code, 'invalid_input', `${t.name}: ${text.slice(0, 200)}`);
      assert.match(
        error.message,
        new RegExp(`for ${t.name}: ${arg.replace(/[[\]]/g, '\\$&')} must be `),
        text,
      );
      assert.ok(!text.includes('HOSTILE'), `${t.name} echoes the value`);
    }
  } finally {
    await h.close();
    env.cleanup();
  }
});

test('a server given some tools lists and runs only those', async () => {
  const env = testEnv({ LIPSYNC_LOG_LEVEL: 'silent' });
  const h = await harness(env.env);
  const server = createServer(h.app, { tools: ['list_tasks', 'get_task_status'] });
  const [a, b] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: 'c', version: '0' });
  await Promise.all([server.connect(a), client.connect(b)]);
  try {
    assert.deepEqual(
      (await client.listTools()).tools.map((t) => t.name),
      ['get_task_status', 'list_tasks'],
    );
    // A tool this server does not serve is unknown to it: a protocol error (MCP 2025-11-25), no result.
    await assert.rejects(client.callTool({ name: 'create_lip_sync', arguments: {} }), (err: unknown) => {
      assert.ok(err instanceof McpError, String(err));
      assert.equal(err.code, ErrorCode.InvalidParams);
      assert.match(err.message, /Unknown tool: create_lip_sync/);
      return true;
    });
  } finally {
    await client.close();
    await server.close();
    await h.close();
    env.cleanup();
  }
});
