/**
 * Attack: the Streamable HTTP face in stateless mode (PostgreSQL ledger, where it is the default), both
 * protocol eras on one endpoint, and misbehaving clients. Expected answers come from the MCP spec
 * (2025-11-25 and 2026-07-28 Streamable HTTP), JSON-RPC 2.0 and the README ("Behind a load balancer").
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type PgTestDatabase, pgSkip, pgTestDatabase } from '../helpers/pg.js';
import {
  assertClean,
  call26,
  meta26,
  post,
  rpcError,
  rpcResult,
  type Served,
  serve,
  TASKS_EXT,
  V25,
  V26,
} from './serve.js';

const init25 = (id: number | string = 1) => ({
  jsonrpc: '2.0',
  id,
  method: 'initialize',
  params: { protocolVersion: V25, capabilities: {}, clientInfo: { name: 'attack', version: '1' } },
});
const h25 = { 'mcp-protocol-version': V25 };

describe('stateless HTTP on PostgreSQL (both eras, hostile clients)', { skip: pgSkip }, () => {
  let db: PgTestDatabase;
  let s: Served;
  before(async () => {
    db = await pgTestDatabase('attack_stateless');
    s = await serve({ LIPSYNC_DATABASE_URL: db.url });
  });
  after(async () => {
    await s?.stop();
    await db?.drop();
  });

  test('2025 initialize is answered and hands out no Mcp-Session-Id (README: stateless on PostgreSQL)', async () => {
    const a = await post(s.url, init25(), {});
    assert.equal(a.status, 200, a.text);
    assert.equal(a.headers.get('mcp-session-id'), null);
    assert.equal(rpcResult<{ protocolVersion: string }>(a).protocolVersion, V25);
  });

  test('2025 tools/call without any initialize stands alone and answers', async () => {
    const a = await post(
      s.url,
      { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'list_tasks', arguments: {} } },
      h25,
    );
    assert.equal(a.status, 200, a.text);
    assert.equal(rpcResult<{ isError?: boolean }>(a).isError ?? false, false);
  });

  for (const method of ['GET', 'DELETE']) {
    test(`${method} on the endpoint answers 405 with Allow: POST and a sentence (README; 2026 spec: 405)`, async () => {
      const a = await post(s.url, undefined, { ...h25, accept: 'text/event-stream' }, method);
      assert.equal(a.status, 405, a.text);
      assert.match(a.headers.get('allow') ?? '', /POST/);
      assert.ok(rpcError(a).message.length > 20, a.text);
    });
  }

  test('2026 server/discover on the same endpoint names 2026-07-28 and the tasks extension', async () => {
    const a = await call26(s.url, 1, 'server/discover');
    assert.equal(a.status, 200, a.text);
    const r = rpcResult<{
      supportedVersions: string[];
      capabilities: { extensions?: Record<string, unknown> };
    }>(a);
    assert.ok(r.supportedVersions.includes(V26), a.text);
    assert.ok(r.capabilities.extensions?.[TASKS_EXT], a.text);
  });

  test('2026 request naming an unknown protocol version: 400, -32022, the supported versions listed', async () => {
    const a = await post(
      s.url,
      {
        jsonrpc: '2.0',
        id: 3,
        method: 'tools/list',
        params: {
          _meta: {
            'io.modelcontextprotocol/protocolVersion': '2099-01-01',
            'io.modelcontextprotocol/clientInfo': { name: 'a', version: '1' },
            'io.modelcontextprotocol/clientCapabilities': {},
          },
        },
      },
      { 'mcp-protocol-version': '2099-01-01', 'mcp-method': 'tools/list' },
    );
    assert.equal(a.status, 400, a.text);
    const e = rpcError(a);
    assert.equal(e.code, -32022, a.text);
    assert.ok(JSON.stringify(e.data).includes(V26), a.text);
  });

  test('2026 header says 2025-11-25 while the envelope says 2026-07-28: 400 HeaderMismatch -32020', async () => {
    const a = await call26(s.url, 4, 'tools/list', {}, { headers: { 'mcp-protocol-version': V25 } });
    assert.equal(a.status, 400, a.text);
    assert.equal(rpcError(a).code, -32020);
  });

  test('2026 request without Mcp-Method: 400 -32020 naming the header', async () => {
    const a = await call26(s.url, 5, 'tools/list', {}, { headers: { 'mcp-method': '' } });
    assert.equal(a.status, 400, a.text);
    const e = rpcError(a);
    assert.equal(e.code, -32020);
    assert.match(e.message, /Mcp-Method/);
  });

  test('2026 tools/call whose Mcp-Name names another tool: 400 -32020 (a balancer must not be fooled)', async () => {
    const a = await call26(
      s.url,
      6,
      'tools/call',
      { name: 'list_tasks', arguments: {} },
      { headers: { 'mcp-name': 'check_credits' } },
    );
    assert.equal(a.status, 400, a.text);
    assert.equal(rpcError(a).code, -32020);
  });

  test('2026 Mcp-Name in the base64 sentinel form is decoded before comparing (spec: Value Encoding)', async () => {
    const enc = `=?base64?${Buffer.from('list_tasks').toString('base64')}?=`;
    const a = await call26(
      s.url,
      61,
      'tools/call',
      { name: 'list_tasks', arguments: {} },
      { headers: { 'mcp-name': enc } },
    );
    assert.equal(a.status, 200, a.text);
    assert.equal(rpcResult<{ isError?: boolean }>(a).isError ?? false, false, a.text);
  });

  test('2026 Mcp-Name with a malformed base64 sentinel: 400 -32020 (spec: Server Validation, malformed header)', async () => {
    const a = await call26(
      s.url,
      62,
      'tools/call',
      { name: 'list_tasks', arguments: {} },
      { headers: { 'mcp-name': '=?base64?***not base64***?=' } },
    );
    assert.equal(a.status, 400, a.text.slice(0, 300));
    assert.equal(rpcError(a).code, -32020);
  });

  test('2026 Mcp-Name sentinel that decodes to the body name plus a newline: 400 -32020', async () => {
    const enc = `=?base64?${Buffer.from('list_tasks\n').toString('base64')}?=`;
    const a = await call26(
      s.url,
      63,
      'tools/call',
      { name: 'list_tasks', arguments: {} },
      { headers: { 'mcp-name': enc } },
    );
    assert.equal(a.status, 400, a.text.slice(0, 300));
    assert.equal(rpcError(a).code, -32020);
  });

  test('2026 unknown method: 404 with -32601 (spec: Protocol Version Header)', async () => {
    const a = await call26(s.url, 7, 'nothing/here');
    assert.equal(a.status, 404, a.text);
    assert.equal(rpcError(a).code, -32601);
  });

  test('2026 batch array (requests with their envelope): 400 -32600 that says batches are the problem', async () => {
    const a = await post(
      s.url,
      [{ jsonrpc: '2.0', id: 8, method: 'tools/list', params: { _meta: meta26() } }],
      { 'mcp-protocol-version': V26, 'mcp-method': 'tools/list' },
    );
    assert.equal(a.status, 400, a.text);
    const e = rpcError(a);
    assert.equal(e.code, -32600);
    assert.match(e.message, /batch/i);
  });

  test('2026 batch array whose requests lack _meta is not told that 2026-07-28 is unsupported', {
    todo: 'answers 400 -32000 "Unsupported protocol version: 2026-07-28 (supported versions: 2025-11-25, …)" — the server does support 2026-07-28; the batch is the problem',
  }, async () => {
    const a = await post(s.url, [{ jsonrpc: '2.0', id: 8, method: 'tools/list', params: {} }], {
      'mcp-protocol-version': V26,
      'mcp-method': 'tools/list',
    });
    assert.equal(a.status, 400, a.text);
    const e = rpcError(a);
    assert.equal(e.code, -32600);
    assert.match(e.message, /batch/i);
  });

  test('body that is not JSON: 400 with JSON-RPC Parse error -32700 (JSON-RPC 2.0 §5.1)', async () => {
    const a = await post(s.url, '{"jsonrpc": "2.0", "id": 9, "method": ', h25);
    assert.equal(a.status, 400, a.text);
    assert.equal(rpcError(a).code, -32700, a.text);
  });

  test('Content-Type text/plain: 415 with a sentence', async () => {
    const a = await post(s.url, init25(10), { 'content-type': 'text/plain' });
    assert.equal(a.status, 415, a.text);
    assert.match(rpcError(a).message, /application\/json/);
  });

  test('body over LIPSYNC_HTTP_MAX_BODY_KB (1 MiB by default): 413 naming the limit', async () => {
    const body = JSON.stringify({
      jsonrpc: '2.0',
      id: 11,
      method: 'tools/call',
      params: { name: 'list_tasks', arguments: { x: 'a'.repeat(1_100_000) } },
    });
    const a = await post(s.url, body, h25);
    assert.equal(a.status, 413, a.text);
    assert.match(rpcError(a).message, /1048576|1024|1 ?Mi?B/);
  });

  test('deeply nested JSON (100 000 levels) is refused as a client error that says why, not "Internal server error"', async () => {
    const body = `{"jsonrpc":"2.0","id":12,"method":"tools/call","params":{"name":"list_tasks","arguments":{"x":${'['.repeat(100_000)}${']'.repeat(100_000)}}}}`;
    const a = await post(s.url, body, h25);
    assertClean(a.text);
    assert.ok(a.status >= 400 && a.status < 500, `HTTP ${a.status}: ${a.text}`);
    assert.match(rpcError(a).message, /nest|deep/i);
  });

  test('2026 deeply nested arguments are refused as a client error, not "Internal server error"', async () => {
    const nested = `${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}`;
    const meta = JSON.stringify({
      'io.modelcontextprotocol/protocolVersion': V26,
      'io.modelcontextprotocol/clientInfo': { name: 'a', version: '1' },
      'io.modelcontextprotocol/clientCapabilities': {},
    });
    const body = `{"jsonrpc":"2.0","id":13,"method":"tools/call","params":{"_meta":${meta},"name":"list_tasks","arguments":{"x":${nested}}}}`;
    const a = await post(s.url, body, {
      'mcp-protocol-version': V26,
      'mcp-method': 'tools/call',
      'mcp-name': 'list_tasks',
    });
    assertClean(a.text);
    assert.ok(a.status >= 400 && a.status < 500, `HTTP ${a.status}: ${a.text}`);
  });

  test('JSON-RPC id null (MCP: ids MUST NOT be null): 400 -32600 with a message that names the id', {
    todo: 'message is "Bad Request: the request body is not a valid JSON-RPC message": it does not say that the null id is what is wrong',
  }, async () => {
    const a = await post(s.url, { jsonrpc: '2.0', id: null, method: 'tools/list' }, h25);
    assert.equal(a.status, 400, a.text);
    const e = rpcError(a);
    assert.equal(e.code, -32600);
    assert.match(e.message, /\bid\b/);
  });

  test('an id of 200 000 characters is echoed exactly', async () => {
    const id = `x${'y'.repeat(200_000)}`;
    const a = await post(s.url, { jsonrpc: '2.0', id, method: 'ping' }, h25);
    assert.equal(a.status, 200, a.text.slice(0, 300));
    assert.equal(a.messages[0]?.id, id);
  });

  test('two clients using the same id at once each get their own answer', async () => {
    const [x, y] = await Promise.all([
      post(s.url, { jsonrpc: '2.0', id: 77, method: 'tools/list' }, h25),
      post(s.url, { jsonrpc: '2.0', id: 77, method: 'prompts/list' }, h25),
    ]);
    assert.ok(Array.isArray(rpcResult<{ tools: unknown[] }>(x!).tools), x!.text.slice(0, 300));
    assert.ok(Array.isArray(rpcResult<{ prompts: unknown[] }>(y!).prompts), y!.text.slice(0, 300));
  });

  test('2025 request with an unknown MCP-Protocol-Version: 400 listing what is supported', async () => {
    const a = await post(
      s.url,
      { jsonrpc: '2.0', id: 14, method: 'tools/list' },
      { 'mcp-protocol-version': '1999-01-01' },
    );
    assert.equal(a.status, 400, a.text);
    assert.match(rpcError(a).message, /2025-11-25/);
  });

  test('a stale Mcp-Session-Id on a stateless instance is ignored (README: any instance answers any request)', async () => {
    const a = await post(
      s.url,
      { jsonrpc: '2.0', id: 15, method: 'tools/list' },
      { ...h25, 'mcp-session-id': 'from-a-dead-instance' },
    );
    assert.equal(a.status, 200, a.text.slice(0, 300));
  });

  test('a foreign Origin is refused with 403 (spec: MUST validate Origin)', async () => {
    const a = await post(s.url, init25(16), { origin: 'https://evil.example' });
    assert.equal(a.status, 403, a.text);
  });

  test('2026 notification POST: 202 Accepted with no body', async () => {
    const a = await post(
      s.url,
      {
        jsonrpc: '2.0',
        method: 'notifications/cancelled',
        params: { requestId: 1, _meta: { 'io.modelcontextprotocol/protocolVersion': V26 } },
      },
      { 'mcp-protocol-version': V26, 'mcp-method': 'notifications/cancelled' },
    );
    assert.equal(a.status, 202, a.text);
    assert.equal(a.text, '');
  });

  test('Accept: text/html only never gets silence or a 5xx', async () => {
    const a = await post(
      s.url,
      { jsonrpc: '2.0', id: 17, method: 'tools/list' },
      { ...h25, accept: 'text/html' },
    );
    assert.ok(a.status < 500, a.text.slice(0, 300));
    assert.ok(a.messages.length === 1, a.text.slice(0, 300));
  });

  test('2026 resources/read with a numeric uri: -32602 Invalid params (JSON-RPC 2.0 §5.1), not -32603', {
    todo: 'answers -32603 (internal error) whose message is a raw zod issue list ("[\\n  {\\n    \\"expected\\": \\"string\\", …")',
  }, async () => {
    const a = await post(
      s.url,
      { jsonrpc: '2.0', id: 20, method: 'resources/read', params: { uri: 5, _meta: meta26() } },
      { 'mcp-protocol-version': V26, 'mcp-method': 'resources/read', 'mcp-name': '5' },
    );
    const e = rpcError(a);
    assert.equal(e.code, -32602, a.text.slice(0, 300));
    assert.doesNotMatch(e.message, /^\s*\[/, 'a raw validation dump is not words');
  });

  test('2026 completion/complete with an unknown ref type: -32602, not -32603', {
    todo: 'answers -32603 with a raw zod "invalid_union" issue list as the message',
  }, async () => {
    const a = await call26(s.url, 21, 'completion/complete', {
      ref: { type: 'ref/nope', name: 'x' },
      argument: { name: 'a', value: 'b' },
    });
    const e = rpcError(a);
    assert.equal(e.code, -32602, a.text.slice(0, 300));
  });

  test('2025 logging/setLevel with an unknown level: -32602, not -32603', {
    todo: 'answers -32603 with a raw zod "invalid_value" issue list as the message',
  }, async () => {
    const a = await post(
      s.url,
      { jsonrpc: '2.0', id: 22, method: 'logging/setLevel', params: { level: 'verbose' } },
      h25,
    );
    const e = rpcError(a);
    assert.equal(e.code, -32602, a.text.slice(0, 300));
  });

  test('2026 tools/call whose arguments are an array: -32602 in a sentence, not a raw validation dump', {
    todo: 'the -32602 message is "Invalid tools/call request: [\\n  {\\n    \\"expected\\": \\"record\\", …" — a JSON dump of zod issues',
  }, async () => {
    const a = await call26(s.url, 23, 'tools/call', { name: 'list_tasks', arguments: [1, 2] });
    const e = rpcError(a);
    assert.equal(e.code, -32602);
    assert.doesNotMatch(e.message, /"code":|"expected":/, e.message.slice(0, 300));
  });

  test('2026 resources/read of a traversal URI: -32602 "not found", nothing read', async () => {
    const a = await call26(s.url, 24, 'resources/read', { uri: 'lipsync://tasks/../../etc/passwd' });
    assert.equal(rpcError(a).code, -32602);
    assert.doesNotMatch(a.text, /root:x:0:0/);
  });

  test('60 parallel clients of both eras are all answered', async () => {
    const calls = [];
    for (let i = 0; i < 30; i++) {
      calls.push(
        post(
          s.url,
          { jsonrpc: '2.0', id: i, method: 'tools/call', params: { name: 'list_tasks', arguments: {} } },
          h25,
        ),
      );
      calls.push(call26(s.url, i, 'tools/call', { name: 'list_tasks', arguments: {} }));
    }
    const all = await Promise.all(calls);
    const bad = all.filter((a) => a.status !== 200 || !a.messages.some((m) => m.result));
    assert.equal(bad.length, 0, bad.map((a) => `${a.status} ${a.text.slice(0, 200)}`).join('\n'));
  });
});
