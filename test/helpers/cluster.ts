/**
 * Three `serve --http` instances (child processes of the built CLI) behind a real nginx, round-robin,
 * no affinity (issues 26 and 29): each instance has its own home, as on three machines, and all share
 * one output folder, as the README's "Running several instances" says. The caller's environment
 * carries the shared settings (the PostgreSQL ledger, the confirmation key, the token or the issuer);
 * it is built once the balancer's URL is known, since an OAuth resource is that URL.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, type Nginx, startNginx } from './nginx.js';
import { CLI } from './spawn.js';

export interface Instance {
  child: ChildProcess;
  url: string;
  exited: Promise<number | null>;
  stderr: () => string;
}

export interface Cluster {
  instances: Instance[];
  lb: Nginx;
  /** The one output folder of every instance. */
  outputs: string;
  /** Stops nginx, then SIGKILLs the instances still running and waits for them. */
  stop(): Promise<void>;
}

/** `lipsync-mcp serve --http <args>` with `env`, once it says where it listens. */
export function startServe(env: Record<string, string>, args: string[]): Promise<Instance> {
  const child = spawn(process.execPath, [CLI, 'serve', '--http', ...args], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return new Promise((resolve, reject) => {
    child.stderr!.on('data', (d) => {
      stderr = (stderr + d).slice(-200_000);
      const m = /"listening":"([^"]+)"/.exec(stderr);
      if (m) resolve({ child, url: m[1] as string, stderr: () => stderr, exited });
    });
    exited.then((code) => reject(new Error(`instance exited early (${code}): ${stderr.slice(-2000)}`)));
  });
}

/**
 * Starts `count` instances under `root` with `envFor(lbUrl)` (plus their own LIPSYNC_HOME and the
 * shared LIPSYNC_OUTPUT_DIR), then nginx in front of them on the port `lbUrl` names.
 */
export async function startCluster(
  root: string,
  envFor: (lbUrl: string) => Record<string, string>,
  count = 3,
): Promise<Cluster> {
  const outputs = join(root, 'shared-outputs');
  const lbPort = await freePort();
  const env = envFor(`http://127.0.0.1:${lbPort}/mcp`);
  const started = await Promise.allSettled(
    Array.from({ length: count }, (_, i) => {
      const home = join(root, `instance-${String.fromCharCode(97 + i)}`);
      mkdirSync(home, { recursive: true });
      const own = { ...env, LIPSYNC_HOME: home, LIPSYNC_OUTPUT_DIR: outputs };
      return startServe(own, ['--port', '0', '--allowed-host', `127.0.0.1:${lbPort}`]);
    }),
  );
  const instances = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const killAll = async () => {
    for (const i of instances) i.child.kill('SIGKILL');
    await Promise.all(instances.map((i) => i.exited));
  };
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) {
    await killAll();
    throw (failed as PromiseRejectedResult).reason;
  }
  const lb = await startNginx(
    instances.map((i) => new URL(i.url).host),
    lbPort,
  ).catch(async (err) => {
    await killAll();
    throw err;
  });
  return {
    instances,
    lb,
    outputs,
    async stop() {
      await lb.stop();
      await killAll();
    },
  };
}
