/**
 * Bundles the compiled CLI (dist/src/cli.js) into dist/bin/: what `lipsync-mcp` runs (package.json
 * "bin"). An MCP client starts a server for every session and waits for its `tools/list`; loading some
 * 250 small modules (ours, the MCP SDK's, zod's) costs more of that wait than anything they do, so the
 * shipped command loads a few files instead. Code imported on first use (providers, the job units,
 * one-shot commands) stays in chunks loaded then.
 *
 * Not bundled, loaded from node_modules as usual: native or binary packages (better-sqlite3, the
 * ffmpeg/ffprobe installers), pg (loaded only with LIPSYNC_DATABASE_URL), pino (its transports start
 * worker threads from files of its own), and undici (CommonJS imported with import(): bundled, its named
 * exports would be lost — `Agent is not a constructor` — and it loads on the first request anyway). The local engine's worker is an entry of its own, next
 * to the chunk that starts it (launch.ts finds it as ./worker.js).
 *
 * Runs after `tsc` (npm run build); the tests run both dist/src and this bundle.
 */
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = `${root}dist/bin`;

export const EXTERNAL = [
  'better-sqlite3',
  'pg',
  'pino',
  'undici',
  '@ffmpeg-installer/ffmpeg',
  '@ffprobe-installer/ffprobe',
];

rmSync(outdir, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: {
    'lipsync-mcp': 'dist/src/cli.js',
    worker: 'dist/src/providers/local/worker.js',
  },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  chunkNames: 'chunk-[hash]',
  external: EXTERNAL,
  // CommonJS packages inside the bundle (ajv, undici's parts) call require(): give ESM one.
  banner: {
    js: "import { createRequire as __lipsyncRequire } from 'node:module'; const require = __lipsyncRequire(import.meta.url);",
  },
  legalComments: 'linked',
  logLevel: 'warning',
});
