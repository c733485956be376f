#!/usr/bin/env node
// `npm run test:stress [-- N]`: the whole suite N times (default 5, or STRESS_RUNS) while two busy
// processes keep both cores loaded, as on a shared CI machine. Reports pass/fail per run; exits non-zero
// if any run failed. The busy processes are always stopped, also on Ctrl-C.
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const runs = Number(process.argv[2] ?? process.env.STRESS_RUNS ?? 5);
if (!Number.isInteger(runs) || runs < 1) {
  console.error('usage: npm run test:stress [-- N]   (N >= 1 runs, default 5)');
  process.exit(2);
}

const build = spawnSync('npm', ['run', 'build'], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);

const hogs = [0, 1].map(() => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
const stopHogs = () => {
  for (const h of hogs) if (h.exitCode === null && h.signalCode === null) h.kill('SIGKILL');
};
process.on('exit', stopHogs);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    stopHogs();
    process.exit(130);
  });
}
console.log(
  `stress: ${runs} runs of the whole suite with 2 busy processes (pids ${hogs.map((h) => h.pid).join(', ')})`,
);

function runOnce() {
  return new Promise((resolve) => {
    const t0 = Date.now();
    let out = '';
    const child = spawn(process.execPath, ['scripts/run-tests.mjs'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code) => {
      const num = (label) => Number(out.match(new RegExp(`^ℹ ${label} (\\d+)`, 'm'))?.[1] ?? NaN);
      const failed = [...out.matchAll(/^✖ (.+?) \(\d/gm)].map((m) => m[1]);
      resolve({
        code,
        ms: Date.now() - t0,
        pass: num('pass'),
        fail: num('fail'),
        failed: [...new Set(failed)],
      });
    });
  });
}

const results = [];
for (let i = 1; i <= runs; i++) {
  const r = await runOnce();
  results.push(r);
  const verdict = r.code === 0 ? 'PASS' : 'FAIL';
  console.log(
    `run ${i}/${runs}: ${verdict}  ${r.pass} passed, ${r.fail} failed, ${(r.ms / 1000).toFixed(1)} s`,
  );
  for (const name of r.failed) console.log(`    ✖ ${name}`);
  if (r.code !== 0) {
    const log = join(tmpdir(), `lipsync-stress-run-${i}.log`);
    writeFileSync(log, r.out);
    console.log(`    full output: ${log}`);
  }
}
stopHogs();
const bad = results.filter((r) => r.code !== 0).length;
console.log(`stress: ${runs - bad}/${runs} runs passed, ${bad} failed`);
process.exit(bad ? 1 : 0);
