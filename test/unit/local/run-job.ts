/** Drives the local provider the way the JobService does: prepare, start, drain events. */
import { systemClock } from '../../../src/clock.js';
import { silentLogger } from '../../../src/logger.js';
import { createLocalProvider, type LocalProvider } from '../../../src/providers/local/index.js';
import type { JsonObject, ResolvedInput, Snapshot } from '../../../src/providers/provider.js';
import { mediaTools } from '../../helpers/media.js';

/** In-process by default (live events, close() stops jobs); pass 'worker' for the detached worker. */
export async function localProvider(mode: 'inline' | 'worker' = 'inline'): Promise<LocalProvider> {
  const t = await mediaTools();
  return createLocalProvider({
    mode,
    ffmpegPath: t.ffmpeg,
    ffprobePath: t.ffprobe,
    ffmpegSource: 'bundled (@ffmpeg-installer/ffmpeg)',
    clock: systemClock,
    log: silentLogger(),
  });
}

export function fileInput(path: string): ResolvedInput {
  const filename = path.split('/').pop() ?? path;
  return { type: 'file', path, filename, mime: 'application/octet-stream', size: 0, sha256: '0'.repeat(64) };
}

export interface JobOutcome {
  final: Partial<Snapshot>;
  progress: number[];
  operation: JsonObject;
  provider: LocalProvider;
}

let counter = 0;

export async function runLocal(opts: {
  video: string;
  audio: string;
  workDir: string;
  params?: JsonObject;
  provider?: LocalProvider;
}): Promise<JobOutcome> {
  const provider = opts.provider ?? (await localProvider());
  const log = silentLogger();
  const signal = new AbortController().signal;
  const prepared = await provider.prepare(
    {
      kind: 'lip_sync',
      inputs: { video: fileInput(opts.video), audio: fileInput(opts.audio) },
      params: opts.params ?? {},
    },
    { asset: async () => '', signal, log, progress: () => {} },
  );
  const taskId = `t${process.pid}-${++counter}`;
  const started = await provider.start(prepared, {
    signal,
    log,
    progress: () => {},
    workDir: opts.workDir,
    taskId,
  });
  const progress: number[] = [];
  let final: Partial<Snapshot> = started.snapshot;
  for await (const ev of started.events ?? []) {
    if (typeof ev.progress === 'number' && ev.status === 'processing') progress.push(ev.progress);
    final = ev;
  }
  return { final, progress, operation: started.operation, provider };
}
