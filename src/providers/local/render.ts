/**
 * The ffmpeg side of the local engine: fits the video to the (aligned) audio by playback type and
 * writes the mp4. Memory stays bounded for long inputs: ffmpeg's `reverse` filter holds every frame
 * it reverses, so a video is only ever reversed in chunks of a few hundred MB, and the reversed
 * chunks are joined without re-decoding.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '../../errors.js';
import { runFfmpeg, runProcess } from '../../media/ffmpeg.js';
import type { AudioInfo, VideoInfo } from '../../media/probe.js';
import type { Pause } from './activity.js';
import { type PlaybackType, planBounce, planBounceByAudio, type Segment } from './plan.js';

export interface RenderJob {
  ffmpegPath: string;
  ffprobePath: string;
  video: string;
  audio: string;
  videoInfo: VideoInfo;
  audioInfo: AudioInfo;
  playbackType: PlaybackType;
  /** Shift of the new audio, ms (positive delays it). */
  offsetMs: number;
  /** Output duration = the shifted audio's duration. */
  outSeconds: number;
  /** Pauses of the shifted audio, in output time (for normal_reverse_by_audio). */
  pauses: Pause[];
  /** Where to write the mp4 (the caller renames it into place). */
  outFile: string;
  /** Scratch directory for intermediates (the caller removes it). */
  tmpDir: string;
  signal: AbortSignal;
  onProgress: (fraction: number, stage: string) => void;
  /** Frames per reversed chunk; normally derived from the memory budget (tests force small chunks). */
  chunkFrames?: number;
}

/** Budget for frames held by one `reverse` filter. */
const REVERSE_BUDGET_BYTES = 256 * 1024 * 1024;
/** Intermediates: fast and visually lossless; only the final encode needs to be small. */
const INTERMEDIATE = ['-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '12', '-pix_fmt', 'yuv420p', '-an'];
const FINAL_VIDEO = ['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20', '-pix_fmt', 'yuv420p'];
const FINAL_AUDIO = ['-c:a', 'aac', '-b:a', '192k', '-ar', '48000'];
const MP4_OUT = ['-movflags', '+faststart', '-f', 'mp4'];

/**
 * The output frame rate: the probed one as an exact fraction (rounding 30000/1001 to 29.97 would
 * drop a frame every half minute), else 30 (still images, odd containers).
 */
export function outputRate(v: VideoInfo): { expr: string; value: number } {
  if (v.fps > 1 && v.fps <= 120) return { expr: v.frameRate ?? String(v.fps), value: v.fps };
  return { expr: '30', value: 30 };
}

/** The audio branch: start at file time 0, fix the channel layout, then shift. */
function audioFilter(input: string, a: AudioInfo, offsetMs: number): string {
  const stereo = a.channels !== 1;
  const parts = [
    `[${input}]aresample=async=1:first_pts=0`,
    `aformat=channel_layouts=${stereo ? 'stereo' : 'mono'}`,
  ];
  // This ffmpeg's adelay takes one delay per channel (no "all" option yet).
  if (offsetMs > 0) parts.push(`adelay=${stereo ? `${offsetMs}|${offsetMs}` : offsetMs}`);
  if (offsetMs < 0) parts.push(`atrim=start=${(-offsetMs / 1000).toFixed(3)}`, 'asetpts=PTS-STARTPTS');
  return `${parts.join(',')}[a]`;
}

/** libx264 with yuv420p needs even dimensions. */
function evenScale(v: VideoInfo): string[] {
  return v.width % 2 || v.height % 2 ? ['scale=trunc(iw/2)*2:trunc(ih/2)*2'] : [];
}

function progressReader(totalSeconds: number, report: (f: number) => void): (chunk: Buffer) => void {
  let partial = '';
  return (chunk) => {
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      const m = /^out_time_(?:ms|us)=(\d+)/.exec(line);
      if (m && totalSeconds > 0) report(Math.min(1, Number(m[1]) / 1e6 / totalSeconds));
    }
  };
}

export async function render(job: RenderJob): Promise<{ method: string }> {
  const v = job.videoInfo;
  const frame = 1 / outputRate(v).value;
  const videoSeconds = v.durationSeconds ?? 0;
  const copyable =
    v.codec === 'h264' && (v.pixFmt === 'yuv420p' || v.pixFmt === 'yuvj420p') && !evenScale(v).length;
  if (job.playbackType === 'normal' || videoSeconds <= 0 || job.outSeconds <= videoSeconds + frame / 2) {
    // Same length within a frame and already H.264: keep the video bit for bit (no quality loss, and
    // many times faster). Cutting a copied stream short is not frame accurate, so anything else is
    // re-encoded.
    if (copyable && Math.abs(job.outSeconds - videoSeconds) <= frame) {
      await renderNormal(job, true);
      return { method: 'video stream copied, audio replaced' };
    }
    await renderNormal(job, false);
    return {
      method:
        job.outSeconds > videoSeconds + frame
          ? 'video played once, last frame held to the end of the audio'
          : 'video played once, cut at the end of the audio',
    };
  }
  await renderBounce(job);
  return {
    method:
      job.playbackType === 'normal_reverse_by_audio'
        ? 'video played forward and backward, turning in pauses of the audio'
        : 'video played forward and backward to the end of the audio',
  };
}

async function renderNormal(job: RenderJob, copy: boolean): Promise<void> {
  const v = job.videoInfo;
  const graph = [audioFilter('1:a:0', job.audioInfo, job.offsetMs)];
  const args = ['-progress', 'pipe:1', '-nostats', '-i', job.video, '-i', job.audio];
  if (copy) {
    // No -t: a copied stream would be cut late; the audio is trimmed in the filter instead.
    graph[0] = graph[0]!.replace(/\[a\]$/, `,atrim=end=${job.outSeconds.toFixed(3)}[a]`);
    args.push('-filter_complex', graph.join(';'), '-map', '0:v:0', '-map', '[a]', '-c:v', 'copy');
  } else {
    // tpad holds the last frame for as long as the audio needs; -t ends the output with the audio.
    const chain = [
      `fps=${outputRate(v).expr}`,
      'tpad=stop_mode=clone:stop=-1',
      ...evenScale(v),
      'format=yuv420p',
    ];
    graph.push(`[0:v:0]${chain.join(',')}[v]`);
    args.push('-filter_complex', graph.join(';'), '-map', '[v]', '-map', '[a]', ...FINAL_VIDEO);
    args.push('-t', job.outSeconds.toFixed(3));
  }
  args.push(...FINAL_AUDIO, ...MP4_OUT, job.outFile);
  await runFfmpeg(job.ffmpegPath, args, {
    what: 'writing the output video',
    signal: job.signal,
    onStdout: progressReader(job.outSeconds, (f) => job.onProgress(f, 'encoding')),
  });
}

/** Exact frame count of a file's video stream (packets, no decoding). */
async function countFrames(ffprobePath: string, file: string, signal: AbortSignal): Promise<number> {
  const res = await runProcess(
    ffprobePath,
    [
      '-v',
      'error',
      '-select_streams',
      'v:0',
      '-count_packets',
      '-show_entries',
      'stream=nb_read_packets',
      '-of',
      'csv=p=0',
      file,
    ],
    { signal, timeoutMs: 120_000 },
  );
  const n = Number.parseInt(res.stdout.toString('utf8').trim(), 10);
  if (res.code !== 0 || !Number.isFinite(n) || n <= 0) {
    throw new AppError(
      'provider_failed',
      'The local engine could not count the frames of its intermediate video.',
      {
        hint: 'Try again; if it repeats, re-encode the input video to mp4 (H.264).',
      },
    );
  }
  return n;
}

function concatList(files: string[]): string {
  return `ffconcat version 1.0\n${files.map((f) => `file '${f.replace(/'/g, "'\\''")}'`).join('\n')}\n`;
}

/** Seek so the first decoded frame is `frame`: half a frame early, with accurate (decoding) seek. */
function seekArgs(frame: number, fps: number): string[] {
  return frame > 0 ? ['-ss', ((frame - 0.5) / fps).toFixed(6)] : [];
}

type Ff = (args: string[], what: string, total?: number, report?: (f: number) => void) => Promise<unknown>;

/** What the bounce steps share: the job, its rate, scratch names, progress stages and ffmpeg. */
interface BounceCtx {
  job: RenderJob;
  rate: { expr: string; value: number };
  tmp: (name: string) => string;
  stage: (from: number, to: number, name: string) => (f: number) => void;
  ff: Ff;
}

function bounceCtx(job: RenderJob): BounceCtx {
  return {
    job,
    rate: outputRate(job.videoInfo),
    tmp: (name) => join(job.tmpDir, name),
    stage: (from, to, name) => (f) => job.onProgress(from + (to - from) * f, name),
    ff: (args, what, total, report) =>
      runFfmpeg(job.ffmpegPath, ['-progress', 'pipe:1', '-nostats', ...args], {
        what,
        signal: job.signal,
        onStdout: total && report ? progressReader(total, report) : () => {},
      }),
  };
}

/** Step 1: a constant-frame-rate copy of the video, keyframes every chunk, so seeks are cheap and exact. */
async function prepareForward(c: BounceCtx): Promise<{ forward: string; chunk: number }> {
  const v = c.job.videoInfo;
  const frameBytes = Math.max(1, v.width * v.height * 1.5);
  const chunk =
    c.job.chunkFrames ??
    Math.max(8, Math.min(Math.round(c.rate.value * 10), Math.floor(REVERSE_BUDGET_BYTES / frameBytes)));
  const forward = c.tmp('forward.mp4');
  const chain = [`fps=${c.rate.expr}`, ...evenScale(v), 'format=yuv420p'].join(',');
  await c.ff(
    [
      '-i',
      c.job.video,
      '-map',
      '0:v:0',
      '-vf',
      chain,
      ...INTERMEDIATE,
      '-g',
      String(chunk),
      '-f',
      'mp4',
      forward,
    ],
    'preparing the video',
    v.durationSeconds,
    c.stage(0, 0.25, 'preparing video'),
  );
  return { forward, chunk };
}

/** Step 2: the reversed video, chunk by chunk (last chunk first), joined without re-encoding. */
async function reverseVideo(c: BounceCtx, forward: string, frames: number, chunk: number): Promise<string> {
  const fps = c.rate.value;
  const chunks = Math.ceil(frames / chunk);
  const parts: string[] = [];
  for (let k = chunks - 1; k >= 0; k--) {
    const first = k * chunk;
    const n = Math.min(chunk, frames - first);
    const part = c.tmp(`rev-${k}.mp4`);
    const args = [
      ...seekArgs(first, fps),
      '-i',
      forward,
      '-vf',
      `trim=end_frame=${n},reverse`,
      ...INTERMEDIATE,
    ];
    await c.ff([...args, '-frames:v', String(n), '-f', 'mp4', part], 'reversing the video');
    parts.push(part);
    c.stage(0.25, 0.45, 'reversing video')((chunks - k) / chunks);
  }
  const list = c.tmp('reverse.ffconcat');
  await writeFile(list, concatList(parts));
  const reversed = c.tmp('reverse.mp4');
  await c.ff(
    ['-f', 'concat', '-safe', '0', '-i', list, '-c', 'copy', '-f', 'mp4', reversed],
    'reversing the video',
  );
  return reversed;
}

/** Step 3: one file per distinct segment (a plain bounce repeats the same two or three). */
async function segmentFiles(
  c: BounceCtx,
  plan: Segment[],
  frames: number,
  forward: string,
  reversed: string | undefined,
): Promise<string[]> {
  const made = new Map<string, string>();
  const files: string[] = [];
  for (const [i, seg] of plan.entries()) {
    const key = `${seg.dir}:${seg.first}:${seg.count}`;
    let file = made.get(key);
    if (!file) {
      const target = c.tmp(`seg-${made.size}.mp4`);
      file = await extractSegment(seg, frames, c.rate.value, forward, reversed, target, c.ff);
      made.set(key, file);
    }
    files.push(file);
    c.stage(0.45, 0.6, 'assembling')((i + 1) / plan.length);
  }
  return files;
}

/** Step 4: join, renumber frames (concat timestamps can jitter at joins), add the audio, final encode. */
async function encodeBounce(c: BounceCtx, files: string[]): Promise<void> {
  const { job, rate } = c;
  const list = c.tmp('segments.ffconcat');
  await writeFile(list, concatList(files));
  const graph = [
    `[0:v]setpts=N/((${rate.expr})*TB)[v]`,
    audioFilter('1:a:0', job.audioInfo, job.offsetMs),
  ].join(';');
  await c.ff(
    [
      ...['-f', 'concat', '-safe', '0', '-i', list, '-i', job.audio, '-filter_complex', graph],
      ...['-map', '[v]', '-map', '[a]', ...FINAL_VIDEO, '-r', rate.expr, ...FINAL_AUDIO],
      ...['-t', job.outSeconds.toFixed(3), ...MP4_OUT, job.outFile],
    ],
    'writing the output video',
    job.outSeconds,
    c.stage(0.6, 1, 'encoding'),
  );
}

async function renderBounce(job: RenderJob): Promise<void> {
  const c = bounceCtx(job);
  const { forward, chunk } = await prepareForward(c);
  const frames = await countFrames(job.ffprobePath, forward, job.signal);
  // A one-frame video has nothing to bounce: hold it, as normal playback does.
  if (frames < 2) {
    await renderNormal(job, false);
    return;
  }
  const outFrames = Math.max(1, Math.ceil(job.outSeconds * c.rate.value - 1e-6));
  const plan =
    job.playbackType === 'normal_reverse_by_audio'
      ? planBounceByAudio(frames, outFrames, c.rate.value, job.pauses)
      : planBounce(frames, outFrames);
  const reversed = plan.some((s) => s.dir === -1) ? await reverseVideo(c, forward, frames, chunk) : undefined;
  await encodeBounce(c, await segmentFiles(c, plan, frames, forward, reversed));
}

async function extractSegment(
  seg: Segment,
  frames: number,
  fps: number,
  forward: string,
  reversed: string | undefined,
  file: string,
  ff: Ff,
): Promise<string> {
  // A backward segment starting at source frame s is reversed-video frame (frames - 1 - s).
  const source = seg.dir === 1 ? forward : reversed;
  if (!source) throw new AppError('internal', 'The reversed video is missing.');
  const start = seg.dir === 1 ? seg.first : frames - 1 - seg.first;
  if (start === 0 && seg.count === frames) return source;
  await ff(
    [
      ...seekArgs(start, fps),
      '-i',
      source,
      '-frames:v',
      String(seg.count),
      ...INTERMEDIATE,
      '-f',
      'mp4',
      file,
    ],
    'assembling the video',
  );
  return file;
}
