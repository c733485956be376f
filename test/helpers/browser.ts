/**
 * Finding a Chromium for the browser tests the way the system would: an explicit path
 * (LIPSYNC_TEST_CHROMIUM, else CHROME_PATH), then the usual names on PATH (Debian's chromium, Ubuntu's
 * chromium-browser, Google Chrome), then a browser playwright-core downloaded itself.
 */
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

const NAMES = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable', 'chrome'];

function executable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The Chromium to launch, or undefined with none on this machine. */
export async function findChromium(env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  // An explicit path wins, when it can run (a stale setting must not make the test launch nothing).
  for (const v of [env.LIPSYNC_TEST_CHROMIUM, env.CHROME_PATH])
    if (v?.trim() && executable(v.trim())) return v.trim();
  for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean))
    for (const name of NAMES) if (executable(join(dir, name))) return join(dir, name);
  try {
    const { chromium } = await import('playwright-core');
    const own = chromium.executablePath();
    return own && existsSync(own) ? own : undefined;
  } catch {
    return undefined;
  }
}
