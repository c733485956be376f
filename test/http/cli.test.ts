import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { testEnv } from '../helpers/app.js';
import { CLI, runCli } from '../helpers/spawn.js';
import { raw, TOKEN } from './helpers.js';

test('serve --http refuses a non-loopback bind without LIPSYNC_HTTP_TOKEN (JSON on stderr, exit 1)', async () => {
  const env = testEnv();
  try {
    for (const host of ['0.0.0.0', '::', '192.0.2.10']) {
      const r = await runCli(['serve', '--http', '--host', host, '--port', '0'], env.env);
      assert.equal(r.code, 1, r.stderr);
      const err = JSON.parse(r.stderr.trim().split('\n').at(-1) as string);
      assert.equal(err.code, 'missing_credentials');
      assert.equal(err.missing_key, 'LIPSYNC_HTTP_TOKEN');
      assert.match(err.error, /Refusing to listen/);
    }
    const tpl = await runCli(['serve', '--http', '--host', '0.0.0.0'], {
      ...env.env,
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal unsubstituted template
      LIPSYNC_HTTP_TOKEN: '${LIPSYNC_HTTP_TOKEN}',
    });
    assert.equal(tpl.code, 1);
    assert.match(tpl.stderr, /unsubstituted template/);
    const bad = await runCli(['serve', '--http', '--port', 'eighty'], env.env);
    assert.equal(bad.code, 2, 'a bad flag value is a usage error');
    assert.match(bad.stderr, /--port takes a port number/);
  } finally {
    env.cleanup();
  }
});

test('serve --http on loopback with a token: health answers, SIGTERM shuts down cleanly', async () => {
  const env = testEnv({ LIPSYNC_HTTP_TOKEN: TOKEN });
  const child = spawn(process.execPath, [CLI, 'serve', '--http', '--port', '0'], {
    env: env.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    let stderr = '';
    let stdout = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr.on('data', (d) => {
        stderr += d;
        const m = /"listening":"([^"]+)"/.exec(stderr);
        if (m) resolve(m[1] as string);
      });
      child.on('exit', () => reject(new Error(`exited early: ${stderr}`)));
    });
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    const h = await raw(url.replace('/mcp', '/health'), { method: 'GET' });
    assert.equal(h.status, 200);
    assert.equal((await raw(url, { body: '{}' })).status, 401);
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.equal(stdout, '', 'nothing on stdout');
    assert.ok(!stderr.includes(TOKEN), 'the token is never printed');
  } finally {
    child.kill('SIGKILL');
    env.cleanup();
  }
});
