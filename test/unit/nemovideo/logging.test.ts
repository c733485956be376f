import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { loadConfig } from '../../../src/config.js';
import { createNemoVideoProvider } from '../../../src/providers/nemovideo/index.js';
import { drain, fileInput, type Harness, harness, prepareCtx, request, startCtx } from './helpers.js';

const open: Harness[] = [];
after(async () => {
  for (const h of open) await h.close();
});

describe('NemoVideo log lines', () => {
  it('carry `provider` once (the logger handed to the provider already names it)', async () => {
    const h = await harness();
    open.push(h);
    // As createProviders does: the provider receives a child logger bound to its name.
    const log = h.log.child({ provider: 'nemovideo' });
    const provider = createNemoVideoProvider({
      config: loadConfig({
        env: { LIPSYNC_HOME: `${h.home}/lipsync`, NEMO_BASE_URL: h.fake.url },
        homeDir: h.home,
      }).nemo,
      http: h.http,
      clock: h.clock,
      log,
      redactor: h.redactor,
      version: '1',
    });
    const video = await fileInput(h.home, 'talk.mp4', 'video/mp4', 5_000);
    const audio = await fileInput(h.home, 'dub.wav', 'audio/wav', 5_000);
    const prepared = await provider.prepare(request('lip_sync', { video, audio }), prepareCtx(provider, log));
    h.fake.faults.dropStreamAfter = 3; // logs a warning from the chat route
    h.fake.fail({ path: '/api/credits', status: 429 }); // logs a warning from the API layer
    await drain((await provider.start(prepared, startCtx(log))).events);
    await provider.credits!(new AbortController().signal);
    const lines = h.logs.lines.filter((l) => l.includes('NemoVideo'));
    assert.ok(lines.some((l) => /stream ended early/.test(l)));
    assert.ok(lines.some((l) => /rate limited/.test(l)));
    assert.ok(lines.some((l) => /anonymous token/.test(l)));
    for (const line of lines) assert.equal(line.split('"provider":').length - 1, 1, line);
  });
});
