/**
 * Entry of the detached worker process that runs one local job: `node worker.js <spec.json>`.
 * Started by the local provider with `detached: true, stdio: 'ignore'` so the job outlives the CLI or
 * server that asked for it. It speaks only through the job's state file (see state.ts).
 */
import { AppError } from '../../errors.js';
import { failureMessage, runAndRecord } from './runner.js';
import { type JobState, readJson, type WorkerSpec, writeAtomic } from './state.js';

function stateFileOf(specFile: string): string {
  return specFile.replace(/\.job\.json$/, '.state.json');
}

async function fail(stateFile: string, err: unknown): Promise<void> {
  const state: JobState = {
    status: 'failed',
    pid: process.pid,
    progress: 0,
    stage: 'failed',
    error: { message: failureMessage(err) },
    updatedAt: Date.now(),
  };
  await writeAtomic(stateFile, JSON.stringify(state, null, 2)).catch(() => {});
}

async function main(specFile: string | undefined): Promise<void> {
  if (!specFile?.endsWith('.job.json')) {
    process.exitCode = 2;
    return;
  }
  const stateFile = stateFileOf(specFile);
  const spec = await readJson<WorkerSpec>(specFile);
  const complete =
    spec?.job === 'speech' ? !!spec.espeakPath && typeof spec.text === 'string' : !!spec?.ffmpegPath;
  if (!spec || !complete || !spec.ffprobePath || !spec.out) {
    await fail(stateFile, new AppError('internal', 'The local job description could not be read.'));
    return;
  }
  // SIGTERM (a cancelled job, a shutdown): stop the job's ffmpeg and record the stop, then end. A
  // step that does not watch the signal (pure computation) is cut off a moment later.
  const controller = new AbortController();
  process.once('SIGTERM', () => {
    controller.abort();
    setTimeout(() => process.exit(143), 3000).unref();
  });
  await runAndRecord(spec, stateFile, controller.signal).catch((err: unknown) => fail(stateFile, err));
}

await main(process.argv[2]);
