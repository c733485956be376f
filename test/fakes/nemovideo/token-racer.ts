/**
 * A separate process that needs a NemoVideo token (it reads the credit balance), for the cross-process
 * token-lock test. Usage: `node token-racer.js <base-url> <home> <speed> <stale-ms>`. Its clock runs
 * `speed` times faster than real time (a 30 s rate-limit wait takes 30/speed s), while the token lock
 * keeps wall-clock time, with a lock that counts as stale after `stale-ms`. Prints one JSON line.
 */
import { join } from 'node:path';
import { abortError, type Clock } from '../../../src/clock.js';
import { loadConfig } from '../../../src/config.js';
import { isAppError } from '../../../src/errors.js';
import { createHttpClient } from '../../../src/http/client.js';
import { createLogger } from '../../../src/logger.js';
import { createNemoVideoProvider } from '../../../src/providers/nemovideo/index.js';
import { Redactor } from '../../../src/redact.js';

const [baseUrl = '', home = '', speedArg = '1', staleArg = '30000'] = process.argv.slice(2);
const speed = Number(speedArg);

const clock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(abortError());
      const t = setTimeout(resolve, ms / speed);
      signal?.addEventListener('abort', () => {
        clearTimeout(t);
        reject(abortError());
      });
    }),
};

const redactor = new Redactor();
const config = loadConfig({
  env: { LIPSYNC_HOME: join(home, 'lipsync'), NEMO_BASE_URL: baseUrl },
  homeDir: home,
});
const http = createHttpClient({ clock, timeoutMs: 10_000 });
const provider = createNemoVideoProvider({
  config: config.nemo,
  http,
  clock,
  log: createLogger('warn', redactor, 2),
  redactor,
  version: 'racer',
  tokenLock: { staleMs: Number(staleArg) },
});
try {
  const credits = await provider.credits!(new AbortController().signal);
  process.stdout.write(`${JSON.stringify({ ok: true, summary: credits.summary })}\n`);
} catch (err) {
  const out = isAppError(err) ? { code: err.code, message: err.message } : { message: String(err) };
  process.stdout.write(`${JSON.stringify({ ok: false, ...out })}\n`);
  process.exitCode = 1;
} finally {
  await http.close();
}
