/**
 * Shared pieces of the hostile-input suite: a canary secret in every credential variable, every
 * provider pointed at the one fake (so any request to any provider is counted and nothing leaves
 * loopback), a seeded PRNG, and the checks every result must pass.
 */
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { FakeJogg } from '../fakes/jogg/index.js';
import { testEnv } from '../helpers/app.js';

export const CANARIES = {
  JOGG_API_KEY: 'CANARY-jogg-5a1e7c0d9b',
  NEMO_TOKEN: 'CANARY-nemo-3f8b2e6a41',
  GATEWAY_TOKEN: 'CANARY-gateway-c47d90ee12',
  SJINN_API_KEY: 'CANARY-sjinn-8e21b5f0aa',
  LIPSYNC_HTTP_TOKEN: 'CANARY-http-0b9c6d3e7f',
};

export function hostileEnv(fake: FakeJogg) {
  return testEnv({
    ...CANARIES,
    JOGG_BASE_URL: fake.url,
    NEMO_BASE_URL: fake.url,
    DIRECTOR_GATEWAY_URL: fake.url,
    SJINN_BASE_URL: fake.url,
  });
}

/** mulberry32: small, seeded, reproducible (shared with the media helpers). */
export { rng as prng } from '../helpers/media.js';

/** Stack-trace shapes: `at fn (file.js:1:2)`, `/x/y.ts:10`, `node:internal`. */
const STACK = /\bat .*\.(js|ts):\d+|node:internal|\.js:\d+:\d+/;

/** A result is either normal or an isError with a short, plain message; never a stack or a secret. */
export function checkResult(
  r: CallToolResult,
  what: string,
): { error?: { code: string; message: string }; echoed?: boolean } {
  const text = JSON.stringify(r);
  if (STACK.test(text)) throw new Error(`${what}: stack trace in result: ${text.slice(0, 500)}`);
  for (const c of Object.values(CANARIES)) if (text.includes(c)) throw new Error(`${what}: secret in result`);
  if (!r.isError) return {};
  const first = r.content[0] as { type: string; text?: string } | undefined;
  if (first?.type !== 'text' || !first.text) throw new Error(`${what}: error without text`);
  let error: { code: string; message: string };
  try {
    error = (JSON.parse(first.text) as { error: { code: string; message: string } }).error;
  } catch {
    // The SDK's own input-validation errors are plain text.
    error = { code: 'sdk_validation', message: first.text };
  }
  if (!error?.message) throw new Error(`${what}: error without a message: ${first.text.slice(0, 300)}`);
  // Our own errors must stay short. The SDK's zod enum message echoes the received value whole
  // (a 1 MB argument gives a 1 MB error): counted and reported as a finding, not failed here.
  const long = error.message.length > 4000;
  if (long && error.code !== 'sdk_validation')
    throw new Error(`${what}: overlong error message: ${first.text.slice(0, 300)}`);
  return { error, echoed: long };
}

/** Every file under a folder (symlinks listed, not followed), for before/after comparisons and scans. */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (lstatSync(p).isDirectory()) walk(p);
      else out.push(p);
    }
  };
  walk(dir);
  return out.sort();
}

/** Files under `home` (except token caches) that contain any canary. */
export function filesWithSecrets(home: string): string[] {
  return listFiles(home)
    .filter((f) => !/token/i.test(f.slice(home.length)))
    .filter((f) => {
      if (lstatSync(f).isSymbolicLink()) return false;
      const bytes = readFileSync(f);
      return Object.values(CANARIES).some((c) => bytes.includes(c));
    });
}
