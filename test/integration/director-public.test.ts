/**
 * Local files for The Director (issue 30): with LIPSYNC_PUBLIC_BASE_URL a local input is copied under an
 * unguessable name into the exposed folder and sent as a signed, expiring URL. The fake fetches every
 * input URL at create, as the real service does, so the tests check the bytes it received. The folder is
 * served here by the same handler `serve --http` mounts on /files/.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { readdirSync, readFileSync, renameSync, symlinkSync, unlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { probePublic } from '../../src/cli/doctor.js';
import { servePublic } from '../../src/http-server/files.js';
import type { Publisher } from '../../src/media/publish.js';
import { type FakeDirector, startFakeDirector } from '../fakes/director/index.js';
import {
  errorOf,
  type Harness,
  harness,
  structured,
  type TestEnv,
  testEnv,
  writeBytes,
} from '../helpers/app.js';
import { drivenClock } from '../helpers/clock.js';
import { statusUntil, until } from '../helpers/wait.js';

type View = { task_id: string; reused: boolean; status: string; extra?: Record<string, unknown> };

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

describe('The Director with a local file served at a signed, expiring URL', () => {
  let director: FakeDirector;
  let files: Server;
  let publisher: Publisher | undefined;
  let base = '';
  let env: TestEnv;
  let h: Harness;
  let publicDir = '';
  const clock = drivenClock();
  before(async () => {
    director = await startFakeDirector();
    files = createServer((req, res) => {
      if (!publisher || !servePublic(publisher, req, res)) res.writeHead(404).end();
    });
    files.listen(0, '127.0.0.1');
    await once(files, 'listening');
    base = `http://127.0.0.1:${(files.address() as AddressInfo).port}/files`;
    env = testEnv({
      GATEWAY_TOKEN: director.token,
      DIRECTOR_GATEWAY_URL: director.url,
      LIPSYNC_PUBLIC_BASE_URL: base,
    });
    publicDir = join(env.env.LIPSYNC_HOME as string, 'public');
    h = await harness(env.env, { clock });
    publisher = h.app.publisher;
  });
  after(async () => {
    files.closeAllConnections();
    files.close();
    await h?.close();
    env?.cleanup();
    await director.close();
  });

  const exposed = () => readdirSync(publicDir);
  const finish = async (v: View) =>
    v.status === 'success' || v.status === 'failed'
      ? v
      : await statusUntil<View>(h, v.task_id, (s) => s.status === 'success' || s.status === 'failed');

  test('each tool takes a local path: The Director fetched exactly those bytes, and the copy is gone after success', async () => {
    const image = writeBytes(join(env.work, 'face.png'), 'face-1');
    const audio = writeBytes(join(env.work, 'voice.mp3'), 'voice-1');
    const video = writeBytes(join(env.work, 'talk.mp4'), 'talk-1');
    const calls: [string, Record<string, unknown>, string[]][] = [
      ['generate_video', { prompt: 'the face smiles', image, model: 'veo3' }, [image]],
      ['create_lip_sync', { provider: 'director', image, audio }, [image, audio]],
      ['transcribe', { audio }, [audio]],
      ['edit_video', { provider: 'director', operation: 'upscale', video }, [video]],
    ];
    for (const [tool, args, paths] of calls) {
      const f0 = director.state.fetched.length;
      const v = await finish(structured<View>(await h.call(tool, { ...args, wait_seconds: 50 })));
      assert.equal(v.status, 'success', `${tool}: ${JSON.stringify(v)}`);
      const got = director.state.fetched.slice(f0);
      assert.deepEqual(
        got.map((g) => [g.status, g.sha256]),
        paths.map((p) => [200, sha(p)]),
        `${tool}: The Director received the bytes of ${paths.join(', ')}`,
      );
      for (const g of got) {
        assert.ok(g.url.startsWith(`${base}/`), g.url);
        assert.doesNotMatch(g.url, /face|voice|talk/, 'the name says nothing of the file');
        assert.match(g.url, /[?&]exp=\d+&sig=[\w-]{43}$/);
      }
      await until(() => exposed().length === 0, `${tool}: the exposed copies are removed after success`);
    }
  });

  test('the same content under another path reuses the task (its URL differs), with no second create', async () => {
    const a = writeBytes(join(env.work, 'reuse-a.mp3'), 'reuse-1');
    const b = writeBytes(join(env.work, 'reuse-b.mp3'), 'reuse-1');
    const c0 = director.creates().length;
    const first = structured<View>(await h.call('transcribe', { audio: a }));
    const again = structured<View>(await h.call('transcribe', { audio: b }));
    assert.equal(again.task_id, first.task_id);
    assert.equal(again.reused, true);
    assert.equal(director.creates().length - c0, 1);
  });

  test('tampered, expired and foreign names answer 404 alike; a swap of the source after the start changes nothing', async () => {
    director.faults.stall = true;
    try {
      const real = writeBytes(join(env.work, 'still.png'), 'still-1');
      const link = join(env.work, 'link.png');
      symlinkSync(real, link);
      const v = structured<View>(
        await h.call('generate_video', { prompt: 'a still', image: link, model: 'veo3' }),
      );
      const url = director.state.fetched.at(-1)?.url ?? '';
      assert.equal(director.state.fetched.at(-1)?.sha256, sha(real));
      // The link now points elsewhere and the original is rewritten: the exposed copy must not change.
      const other = writeBytes(join(env.work, 'other.png'), 'other-1');
      unlinkSync(link);
      symlinkSync(other, link);
      renameSync(other, real);
      const r = await fetch(url);
      assert.equal(r.status, 200);
      assert.equal(
        createHash('sha256')
          .update(Buffer.from(await r.arrayBuffer()))
          .digest('hex'),
        director.state.fetched.at(-1)?.sha256,
      );
      const u = new URL(url);
      const sig = u.searchParams.get('sig') ?? '';
      const tampered = new URL(url);
      tampered.searchParams.set('sig', `${sig.slice(0, -1)}${sig.endsWith('A') ? 'B' : 'A'}`);
      const later = new URL(url);
      later.searchParams.set('exp', String(Number(u.searchParams.get('exp')) + 3600));
      const outside = `${base}/..%2Fledger.sqlite?${u.searchParams}`;
      const listing = `${base}/`;
      const bodies = new Set<string>();
      for (const bad of [tampered.href, later.href, outside, listing, `${base}/${'0'.repeat(16)}-x.png`]) {
        const res = await fetch(bad);
        assert.equal(res.status, 404, bad);
        bodies.add(await res.text());
      }
      assert.equal(bodies.size, 1, 'every refusal looks the same');
      clock.advance(7 * 3600_000);
      assert.equal((await fetch(url)).status, 404, 'expired');
      assert.ok(v.task_id);
    } finally {
      director.faults.stall = false;
    }
  });

  test('a failed task removes its copy too', async () => {
    director.faults.fail = 'status';
    try {
      const audio = writeBytes(join(env.work, 'fail.mp3'), 'fail-1');
      const v = await finish(structured<View>(await h.call('transcribe', { audio, wait_seconds: 50 })));
      assert.equal(v.status, 'failed');
      assert.equal(director.state.fetched.at(-1)?.sha256, sha(audio));
      const prefix = sha(audio).slice(0, 16);
      await until(() => !exposed().some((n) => n.startsWith(prefix)), 'the copy is removed after failure');
    } finally {
      director.faults.fail = 'none';
    }
  });

  test('doctor fetches a probe file through the base URL, and says so when it does not answer', async () => {
    const ok = await probePublic(h.app);
    assert.equal(ok?.answers, true, JSON.stringify(ok));
    assert.equal(ok?.base_url, base);
    const wrong = await probePublic({
      ...h.app,
      config: {
        ...h.app.config,
        publicFiles: { ...h.app.config.publicFiles, baseUrl: `${base}/elsewhere` },
      },
    });
    assert.equal(wrong?.answers, false);
    assert.match(wrong?.detail ?? '', /404/);
    assert.deepEqual(
      exposed().filter((n) => n.endsWith('.txt')),
      [],
      'the probe file is removed',
    );
  });

  test('a path outside the allowed folders is refused before anything is exposed', async () => {
    const err = errorOf(await h.call('transcribe', { audio: join(env.root, 'lipsync', 'ledger.sqlite') }));
    assert.equal(err.code, 'invalid_input');
    assert.match(err.message, /outside the folders/);
  });
});

describe('The Director with a local file, without the setting', () => {
  test('refused with a hint that names LIPSYNC_PUBLIC_BASE_URL', async () => {
    const director = await startFakeDirector();
    const env = testEnv({ GATEWAY_TOKEN: director.token, DIRECTOR_GATEWAY_URL: director.url });
    const h = await harness(env.env);
    try {
      const audio = writeBytes(join(env.work, 'speech.mp3'), 'speech-9');
      const err = errorOf(await h.call('transcribe', { audio }));
      assert.equal(err.code, 'invalid_input');
      assert.match(err.hint ?? '', /LIPSYNC_PUBLIC_BASE_URL/);
      assert.equal(director.creates().length, 0);
      assert.equal(h.app.publisher, undefined);
    } finally {
      await h.close();
      env.cleanup();
      await director.close();
    }
  });
});
