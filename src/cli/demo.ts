/**
 * `lipsync-mcp demo` (`npm run demo`): the main job, offline, with no key. Makes sample media with
 * ffmpeg, starts this MCP server over stdio, and as an MCP client runs create_lip_sync (local) ->
 * get_task_status (waits) -> download_result, printing each step. Where espeak-ng is installed it then
 * dubs the sample with offline speech: generate_audio (local) -> download -> create_lip_sync with that
 * audio -> download. A second run shows `reused: true`.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CallToolResult } from '@modelcontextprotocol/client';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { loadConfig } from '../config.js';
import { AppError } from '../errors.js';
import { bundledMarker, FFMPEG_FIX, firstTime, locateFfmpeg, runFfmpeg } from '../media/ffmpeg.js';
import { ESPEAK_FIX, locateEspeak } from '../providers/local/index.js';
import { failJson } from './output.js';

const say = (s: string) => process.stdout.write(`${s}\n`);

/** Speech-like bursts (a buzzing voice switched on and off), identical in both files but shifted. */
const VOICE = '0.5*sin(2*PI*170*t)*(0.6+0.4*sin(2*PI*4*t))*gt(sin(2*PI*0.45*t+0.3),0.15)';
const SECONDS = 8;
const SHIFT_MS = 240;

/** A talking-head stand-in (test pattern + its own "speech") and a re-recorded, late, noisy dub. */
async function makeSampleMedia(ffmpeg: string, video: string, audio: string): Promise<void> {
  const quiet = ['-y', '-loglevel', 'error'];
  await runFfmpeg(
    ffmpeg,
    [
      ...quiet,
      ...['-f', 'lavfi', '-i', `testsrc2=size=640x480:rate=25:duration=${SECONDS}`],
      ...['-f', 'lavfi', '-i', `aevalsrc='${VOICE}':s=48000:d=${SECONDS}`],
      ...['-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', video],
    ],
    { what: 'making the sample video' },
  );
  // The "re-recorded" audio: the same speech arriving SHIFT_MS late, with some noise.
  await runFfmpeg(
    ffmpeg,
    [
      ...quiet,
      ...['-f', 'lavfi', '-i', `aevalsrc='${VOICE}':s=48000:d=${SECONDS}`],
      ...['-f', 'lavfi', '-i', `anoisesrc=color=pink:amplitude=0.03:seed=7:d=${SECONDS + 1}:r=48000`],
      '-filter_complex',
      `[0:a]adelay=${SHIFT_MS}|${SHIFT_MS}[d];[d][1:a]amix=inputs=2:duration=first[m]`,
      ...['-map', '[m]', '-ac', '1', '-c:a', 'pcm_s16le', audio],
    ],
    { what: 'making the sample audio' },
  );
}

/** Starts this server (the command at `cli`) over stdio, as an MCP client would. */
async function connectClient(cli: string, home: string, dir: string): Promise<Client> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [cli],
    env: {
      ...childEnv(home),
      // The downloaded speech is the dub's input: the output folder is an input root by default.
      LIPSYNC_ALLOWED_DIRS: dir,
      LIPSYNC_DEFAULT_PROVIDER: 'local',
      LIPSYNC_LOG_LEVEL: 'warn',
    },
    stderr: 'inherit',
  });
  const client = new Client({ name: 'lipsync-demo', version: '1.0.0' });
  await client.connect(transport);
  return client;
}

type Result = Record<string, unknown>;

/** Waits (bounded, 50 s per call) until the task is final. */
async function waitForTask(client: Client, taskId: string, first: Result, step = '4.'): Promise<Result> {
  let status = first;
  say(`${step} get_task_status { wait_seconds: 50 }, until the task is done`);
  for (let i = 0; i < 20 && !status.completed; i++) {
    if (i > 0) say('   not done yet; asking again');
    status = data(
      await client.callTool(
        { name: 'get_task_status', arguments: { task_id: taskId, wait_seconds: 50 } },
        { onprogress: (p) => say(`   … ${p.message ?? p.progress}`), timeout: 70_000 },
      ),
    );
    say(`   -> ${status.status}`);
  }
  if (status.status !== 'success') {
    throw new AppError(
      'provider_failed',
      `The demo task ended as ${status.status}: ${JSON.stringify(status.error ?? {})}`,
    );
  }
  return status;
}

const SPEECH_TEXT = 'Hello! This voice was made offline with espeak-ng, and no account was needed.';

/** The dubbing workflow without an account: speech (espeak-ng) -> download -> lip sync with it -> download. */
async function runSpeechFlow(client: Client, video: string): Promise<boolean> {
  say('6. generate_audio { kind: "speech", provider: "local" } (offline speech with espeak-ng)');
  const spoken = data(
    await client.callTool({
      name: 'generate_audio',
      arguments: { kind: 'speech', text: SPEECH_TEXT, provider: 'local', voice: 'en' },
    }),
  );
  say(`   -> task ${spoken.task_id}: ${spoken.status}, reused: ${spoken.reused}`);
  const speech = await waitForTask(client, String(spoken.task_id), spoken, '  ');
  say(`   -> ${speech.duration_seconds} s of speech`);
  const wav = data(
    await client.callTool({ name: 'download_result', arguments: { task_id: spoken.task_id } }),
  );
  say(`   download_result -> ${wav.path}`);
  say(
    '7. create_lip_sync { provider: "local", audio: <that speech>, align: "off" } (a new voice: nothing to align to)',
  );
  const dub = data(
    await client.callTool({
      name: 'create_lip_sync',
      arguments: { video, audio: wav.path, provider: 'local', align: 'off' },
    }),
  );
  say(`   -> task ${dub.task_id}: ${dub.status}, reused: ${dub.reused}`);
  await waitForTask(client, String(dub.task_id), dub, '  ');
  const dl = data(await client.callTool({ name: 'download_result', arguments: { task_id: dub.task_id } }));
  say(`   download_result -> video with the new voice: ${dl.path}`);
  return !!(spoken.reused && dub.reused);
}

/** create -> wait -> download, printing each step. */
async function runFlow(client: Client, video: string, audio: string, speech: boolean): Promise<void> {
  const tools = await client.listTools();
  say(`   tools: ${tools.tools.map((t) => t.name).join(', ')}`);
  say('3. create_lip_sync { provider: "local" }');
  const created = data(
    await client.callTool({ name: 'create_lip_sync', arguments: { video, audio, provider: 'local' } }),
  );
  say(`   -> task ${created.task_id}: ${created.status}, reused: ${created.reused}`);
  const status = await waitForTask(client, String(created.task_id), created);
  const extra = (status.extra ?? {}) as Record<string, unknown>;
  // The engine says in words which way it moved the audio ("… was 240 ms late; it was advanced by …").
  if (typeof extra.align_note === 'string') say(`   alignment: ${extra.align_note}`);
  say(`   lip motion: ${extra.lip_motion} (the local engine fits timing; it does not redraw lips)`);
  say('5. download_result');
  const dl = data(
    await client.callTool({ name: 'download_result', arguments: { task_id: created.task_id } }),
  );
  say(`   -> video: ${dl.path}${dl.already_present ? ' (already saved earlier)' : ''}`);
  if (dl.mouth_cues_json) say(`   -> mouth cues beside it: ${dl.mouth_cues_json} and ${dl.mouth_cues_tsv}`);
  const speechReused = speech ? await runSpeechFlow(client, video) : true;
  if (!speech)
    say(`\nOffline speech (the dubbing workflow) was skipped: espeak-ng was not found. ${ESPEAK_FIX}`);
  say(
    created.reused && speechReused
      ? `\nThis run reused the earlier task${speech ? 's' : ''}: nothing was processed twice.`
      : '\nRun `npm run demo` again: the same request is answered with reused: true.',
  );
}

/** `cli`: the command's own entry file (dist/src/cli.js, or the bundle the package ships). */
export async function demoCommand(
  _argv: string[],
  cli = fileURLToPath(new URL('../cli.js', import.meta.url)),
): Promise<void> {
  try {
    const config = loadConfig();
    const tools = await locateFfmpeg(config.ffmpeg);
    if (!tools.ffmpeg || !tools.ffprobe) {
      throw new AppError('unavailable', 'The demo needs ffmpeg and ffprobe, and neither was found.', {
        hint: FFMPEG_FIX,
      });
    }
    const dir = join(config.home, 'demo');
    await mkdir(dir, { recursive: true });
    const video = join(dir, 'talk.mp4');
    const audio = join(dir, 'dub.wav');
    say('lipsync-mcp demo — offline, no account, no network');
    // The old bundled build is worth one note, in words (the server started below then stays quiet).
    const old = tools.ffmpeg.warning ?? tools.ffprobe.warning;
    if (old && firstTime(bundledMarker(config.home, tools), old)) say(`Note: ${old}\n`);
    if (!existsSync(video) || !existsSync(audio)) {
      say(`1. making sample media in ${dir}`);
      await makeSampleMedia(tools.ffmpeg.path, video, audio);
    } else {
      say(`1. sample media already in ${dir}`);
    }
    say(`   video: ${video}`);
    say(`   audio: ${audio} (the same speech, ${SHIFT_MS} ms late, with noise)`);
    say('2. starting the MCP server (stdio) and connecting as a client');
    const client = await connectClient(cli, config.home, dir);
    try {
      await runFlow(client, video, audio, !!locateEspeak(config.espeak).location);
    } finally {
      await client.close();
    }
  } catch (err) {
    failJson(err, undefined);
  }
}

// biome-ignore lint/suspicious/noExplicitAny: tool results are read loosely here
function data(r: unknown): Record<string, any> {
  const res = r as CallToolResult;
  if (res.isError) {
    const text = (res.content[0] as { text?: string } | undefined)?.text ?? 'error';
    throw new AppError('provider_failed', `The server answered with an error: ${text}`);
  }
  return res.structuredContent as Record<string, unknown>;
}

function childEnv(home: string): Record<string, string> {
  const cfg = loadConfig();
  const env: Record<string, string> = {
    LIPSYNC_HOME: home,
    HOME: cfg.homeDir,
    PATH: cfg.ffmpeg.pathDirs.join(':'),
  };
  if (cfg.ffmpeg.ffmpegPath) env.FFMPEG_PATH = cfg.ffmpeg.ffmpegPath;
  if (cfg.ffmpeg.ffprobePath) env.FFPROBE_PATH = cfg.ffmpeg.ffprobePath;
  if (cfg.espeak.path) env.LIPSYNC_ESPEAK_PATH = cfg.espeak.path;
  return env;
}
