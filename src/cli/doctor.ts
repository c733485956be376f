/** `lipsync-mcp doctor`: what is configured, where each credential came from, what is missing. */
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { type App, createApp } from '../app.js';
import { loadConfig } from '../config.js';
import { ESPEAK_FIX, locateEspeak } from '../providers/local/index.js';
import { VERSION } from '../version.js';
import { appOptionsForCli, CLI_DEFAULTS } from './shared.js';

export interface DoctorReport {
  version: string;
  node: string;
  home: string;
  ledger: string;
  output_dir: string;
  allowed_dirs: string[];
  /** Where local inputs may be read: the allowed folders and, unless it holds the ledger, the output folder. */
  input_dirs: string[];
  default_provider: string;
  providers: { name: string; display_name: string; configured: boolean; source: string; fix?: string }[];
  ffmpeg: { path?: string; source?: string; fix?: string; warning?: string };
  ffprobe: { path?: string; source?: string; fix?: string; warning?: string };
  /** Offline speech (generate_audio kind "speech" on the local engine): found, and offered or why not. */
  espeak: { path?: string; source?: string; offered: boolean; fix?: string };
  problems: string[];
}

export async function doctorCommand(argv: string[]): Promise<void> {
  const config = loadConfig({ defaults: CLI_DEFAULTS });
  const app = await createApp(config, appOptionsForCli(config));
  try {
    const report = buildReport(app);
    if (argv.includes('--json')) {
      process.stdout.write(`${app.redactor.redact(JSON.stringify(report, null, 2))}\n`);
      return;
    }
    const lines = [
      `lipsync-mcp ${report.version} (node ${report.node})`,
      `home:        ${report.home}`,
      `ledger:      ${report.ledger}`,
      `outputs:     ${report.output_dir}`,
      `inputs from: ${report.input_dirs.join(', ')}`,
      `default provider: ${report.default_provider}`,
      '',
      'providers:',
      ...report.providers.map(
        (p) =>
          `  ${p.configured ? 'ok ' : '-- '} ${p.display_name.padEnd(13)} ${p.configured ? `(${p.source})` : `not configured: ${p.fix ?? ''}`}`,
      ),
      '',
      `ffmpeg:  ${report.ffmpeg.path ? `${report.ffmpeg.path} (${report.ffmpeg.source})` : `not found — ${report.ffmpeg.fix}`}`,
      `ffprobe: ${report.ffprobe.path ? `${report.ffprobe.path} (${report.ffprobe.source})` : `not found — ${report.ffprobe.fix}`}`,
      `espeak-ng: ${espeakLine(report.espeak)}`,
    ];
    if (report.problems.length) lines.push('', 'problems:', ...report.problems.map((p) => `  - ${p}`));
    process.stdout.write(`${app.redactor.redact(lines.join('\n'))}\n`);
  } finally {
    await app.close(0);
  }
}

function espeakLine(e: DoctorReport['espeak']): string {
  if (!e.path) return `not found — offline speech is off. ${e.fix ?? ''}`;
  const where = `${e.path} (${e.source})`;
  return e.offered
    ? `${where}: offline speech on (generate_audio kind "speech", provider "local")`
    : `${where}, but offline speech is off: ${e.fix ?? ''}`;
}

/** espeak-ng as the local engine sees it: the engine offers speech only when it runs and espeak-ng is found. */
function espeakReport(app: App, problems: string[]): DoctorReport['espeak'] {
  const found = locateEspeak(app.config.espeak);
  if (found.problem) problems.push(found.problem);
  const offered = !!app.providers.get('local')?.capabilities.kinds.includes('audio');
  if (!found.location) return { offered, fix: ESPEAK_FIX };
  return {
    ...found.location,
    offered,
    ...(offered ? {} : { fix: 'the local engine is not running (it needs ffmpeg; see above).' }),
  };
}

export function buildReport(app: App): DoctorReport {
  const { config } = app;
  const problems: string[] = [];
  const ff = app.media;
  const fix =
    'install ffmpeg (e.g. `apt-get install ffmpeg` / `brew install ffmpeg`), set FFMPEG_PATH/FFPROBE_PATH, or reinstall lipsync-mcp with optional dependencies (npm i --include=optional).';
  for (const d of config.allowedDirs) {
    try {
      accessSync(d, constants.R_OK);
    } catch {
      problems.push(`allowed folder ${d} does not exist or is not readable`);
    }
  }
  const providers = [...app.providers.values()].map((p) => {
    const c = p.credentials();
    return {
      name: p.name,
      display_name: p.displayName,
      configured: c.configured,
      source: c.source,
      ...(c.fix ? { fix: c.fix } : {}),
    };
  });
  if (ff.problem) problems.push(ff.problem);
  if (!ff.ffmpeg) problems.push(`the local engine is unavailable: ffmpeg not found; ${fix}`);
  // The bundled builds are a last resort: warn with the version and the way to a current one.
  for (const w of new Set([ff.ffmpeg?.warning, ff.ffprobe?.warning])) if (w) problems.push(w);
  let def = 'local';
  try {
    def = app.jobs.pickProvider(undefined, 'lip_sync').name;
  } catch (err) {
    def = `none (${(err as Error).message})`;
  }
  return {
    version: VERSION,
    node: process.version,
    home: config.home,
    ledger: app.ledger.backend === 'sqlite' ? join(config.home, 'ledger.sqlite') : app.ledger.describe(),
    output_dir: config.outputDir,
    allowed_dirs: config.allowedDirs,
    input_dirs: config.inputDirs,
    default_provider: def,
    providers,
    ffmpeg: ff.ffmpeg ? { ...ff.ffmpeg } : { fix },
    ffprobe: ff.ffprobe ? { ...ff.ffprobe } : { fix },
    espeak: espeakReport(app, problems),
    problems,
  };
}
