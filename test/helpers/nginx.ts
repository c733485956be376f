/**
 * A real nginx in front of several `serve --http` instances, round-robin, no affinity (issue 26). The
 * config is the README's "Running several instances" one (`lbConfig`), plus the paths that let nginx
 * run without root and without touching /etc or /var: pid, logs and temp folders in a temp dir, `-p`
 * prefix, `daemon off`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NGINX } from './system-tools.js';

/** The `upstream` and `server` blocks of the README (one instance per `server` line). */
export function lbConfig(listen: string, upstreams: string[]): string {
  return `  upstream lipsync {
    # Round-robin, no affinity: any instance answers any request.
${upstreams.map((u) => `    server ${u} max_fails=1 fail_timeout=30s;`).join('\n')}
    keepalive 32;
  }
  server {
    listen ${listen};
    location / {
      proxy_pass http://lipsync;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      # Progress and notifications travel as server-sent events: pass them on as they come.
      proxy_buffering off;
      proxy_read_timeout 120s;
      # A dead instance: the request goes to the next one (a POST only when it was never sent).
      proxy_next_upstream error timeout;
    }
  }`;
}

export interface Nginx {
  url: string;
  port: number;
  stop(): Promise<void>;
  errorLog(): string;
  /** Requests answered so far per instance (`host:port`), from nginx's access log. */
  answeredBy(): Map<string, number>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const canConnect = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });

export async function startNginx(upstreams: string[], listenPort?: number): Promise<Nginx> {
  if (!NGINX) throw new Error('nginx is not installed');
  const dir = mkdtempSync(join(tmpdir(), 'lipsync-nginx-'));
  for (const t of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, t));
  const port = listenPort ?? (await freePort());
  const asRoot = process.getuid?.() === 0 ? 'user root;\n' : '';
  const conf = `${asRoot}worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  # Which instance answered each request (the tests count them per instance).
  log_format upstreams '$status $request_method $upstream_addr';
  access_log ${dir}/access.log upstreams;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
${lbConfig(`127.0.0.1:${port}`, upstreams)}
}
`;
  writeFileSync(join(dir, 'nginx.conf'), conf);
  const child: ChildProcess = spawn(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString('utf8');
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const errorLog = () => {
    try {
      return readFileSync(join(dir, 'error.log'), 'utf8');
    } catch {
      return '';
    }
  };
  // Ready when its port accepts (a hang guard, not a time limit: it fails with nginx's own words).
  for (let i = 0; !(await canConnect(port)); i++) {
    if (child.exitCode !== null || i > 2000)
      throw new Error(`nginx did not start: ${stderr}\n${errorLog()}`.slice(-3000));
    await new Promise((r) => setTimeout(r, 5));
  }
  const answeredBy = () => {
    const counts = new Map<string, number>();
    let log = '';
    try {
      log = readFileSync(join(dir, 'access.log'), 'utf8');
    } catch {
      // nothing logged yet
    }
    for (const line of log.split('\n').filter(Boolean)) {
      // A request nginx passed on to a second instance logs "a, b": the last one answered.
      const key = line.split(' ').slice(2).join(' ').split(', ').pop();
      if (key) counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return counts;
  };
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    port,
    errorLog,
    answeredBy,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
