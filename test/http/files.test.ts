/**
 * `serve --http` serves the public folder on /files/ (issue 30): a signed link answers without the MCP
 * bearer token and under the public host name the fetching service uses; anything else is the same 404,
 * and the MCP endpoint keeps its guards.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { raw, type Served, serve, TOKEN } from './helpers.js';

let s: Served;
before(async () => {
  s = await serve({ token: TOKEN, env: { LIPSYNC_PUBLIC_BASE_URL: 'https://media.example.test/files' } });
});
after(() => s.stop());

test('a signed link is served on /files/ without a token, under the public host name; the rest is 404', async () => {
  const bytes = Buffer.from('exposed input bytes');
  const path = join(s.env.work, 'clip.mp4');
  writeFileSync(path, bytes);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const publisher = s.app.publisher;
  assert.ok(publisher, 'the setting turns the publisher on');
  const { url } = await publisher.publish(
    { type: 'file', path, filename: 'clip.mp4', mime: 'video/mp4', size: bytes.length, sha256 },
    'video',
    'task-http-1',
  );
  const local = new URL(s.server.url);
  const signed = new URL(url);
  const at = (u: URL) => `http://${local.host}${u.pathname}${u.search}`;
  const headers = { host: 'media.example.test' };
  const ok = await raw(at(signed), { method: 'GET', headers });
  assert.equal(ok.status, 200);
  assert.equal(ok.body, bytes.toString());
  assert.equal(ok.headers['content-type'], 'video/mp4');
  const tampered = new URL(signed);
  tampered.searchParams.set('exp', String(Number(signed.searchParams.get('exp')) + 1));
  for (const u of [
    at(tampered),
    `http://${local.host}/files/`,
    `http://${local.host}/files/..%2F..%2Fledger.sqlite`,
  ]) {
    const r = await raw(u, { method: 'GET', headers });
    assert.equal(r.status, 404, u);
    assert.equal(r.body, 'Not found.\n');
  }
  assert.equal((await raw(at(signed), { method: 'POST', headers })).status, 404);
  // The MCP endpoint still wants its token.
  assert.equal((await raw(s.server.url, { method: 'POST', body: '{}' })).status, 401);
});
