/**
 * The system tools some tests need (espeak-ng, Chromium, PostgreSQL, a newer Node). Each export is a
 * `skip` value for node:test: false when the tool is within reach, else a sentence that names the tool
 * and how to get it. A test that needs one of them takes its `skip` from here, so that `npm test` on a
 * fresh machine skips it, saying why, instead of failing (issue 27 item 1). CI proves it: `.ci/run`
 * runs every test file that imports this module with the tools out of reach.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { loadConfig } from '../../src/config.js';
import { locateEspeak } from '../../src/providers/local/index.js';
import { findChromium } from './browser.js';
import { pgSkip } from './pg.js';

/** The first executable called one of `names` on PATH (then in `extra` absolute paths), if any. */
export function onPath(names: readonly string[], extra: readonly string[] = []): string | undefined {
  const dirs = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  for (const file of [...dirs.flatMap((d) => names.map((n) => join(d, n))), ...extra]) {
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here: the next one
    }
  }
  return undefined;
}

/** espeak-ng, found the way the local engine finds it (LIPSYNC_ESPEAK_PATH, then PATH). */
export const ESPEAK = locateEspeak(
  loadConfig({
    env: {
      PATH: process.env.PATH ?? '',
      ...(process.env.LIPSYNC_ESPEAK_PATH ? { LIPSYNC_ESPEAK_PATH: process.env.LIPSYNC_ESPEAK_PATH } : {}),
    },
  }).espeak,
).location?.path;

export const espeakSkip: string | false = ESPEAK
  ? false
  : 'needs espeak-ng, which is not installed here (apt-get install espeak-ng; CI installs it)';

/** Chromium, found as the system would (helpers/browser.ts: a set path, the usual names on PATH, playwright's). */
export const CHROMIUM = await findChromium();

export const chromiumSkip: string | false = CHROMIUM
  ? false
  : 'needs Chromium, which is not found here (LIPSYNC_TEST_CHROMIUM, CHROME_PATH, or chromium / chromium-browser / google-chrome on PATH): apt-get install -y chromium; CI installs it';

/** PostgreSQL: a server that LIPSYNC_TEST_DATABASE_URL points at. */
export const postgresSkip: string | false = pgSkip;

/** A skip for tests that need Node >= `major.minor`, naming the version found. */
export function nodeSkip(major: number, minor: number, why: string): string | false {
  const [maj = 0, min = 0] = process.versions.node.split('.').map(Number);
  return maj > major || (maj === major && min >= minor)
    ? false
    : `needs Node >= ${major}.${minor} (${why}); this is ${process.version}, CI runs it on Node 24`;
}

/** nginx (Debian's, in /usr/sbin, often off a user's PATH), for the load-balancer test. */
export const NGINX = onPath(['nginx'], ['/usr/sbin/nginx', '/usr/local/sbin/nginx']);

export const nginxSkip: string | false = NGINX
  ? false
  : 'needs nginx, which is not installed here (apt-get install -y nginx; CI installs it)';
