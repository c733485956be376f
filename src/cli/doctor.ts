/** `lipsync-mcp doctor`: what is configured, where each credential came from, what is missing. */
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { type App, createApp } from '../app.js';
import { loadConfig } from '../config.js';
import { sqliteProblem } from '../jobs/sqlite.js';
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
  /** LIPSYNC_PUBLIC_BASE_URL: whether a probe file fetched through it answers from this machine. */
  public_files?: PublicProbe;
  problems: string[];
}

export interface PublicProbe {
  base_url: string;
  dir: string;
  answers: boolean;
  detail: string;
}

/**
 * Writes a probe file into the public folder and fetches it through LIPSYNC_PUBLIC_BASE_URL (signed, as
 * The Director would get it). From this machine only: a firewall or NAT may still hide it from the
 * internet, and `serve --http`'s own /files/ route answers only while it runs.
 */
export async function probePublic(
  app: Pick<App, 'config' | 'publisher'>,
  signal: AbortSignal = AbortSignal.timeout(10_000),
): Promise<PublicProbe | undefined> {
  const pf = app.config.publicFiles;
  if (!pf.baseUrl || !app.publisher) return undefined;
  const out = { base_url: pf.baseUrl, dir: pf.dir };
  const probe = await app.publisher.writeProbe();
  try {
    const url = `${pf.baseUrl}/${probe.name}?exp=${probe.exp}&sig=${app.publisher.sign(probe.name, probe.exp)}`;
    const res = await fetch(url, { signal, redirect: 'follow' });
    const body = Buffer.from(await res.arrayBuffer());
    if (res.status === 200 && body.equals(probe.bytes))
      return { ...out, answers: true, detail: `a probe file in ${pf.dir} was fetched through ${pf.baseUrl}` };
    return {
      ...out,
      answers: false,
      detail: `${pf.baseUrl} answered HTTP ${res.status}${res.status === 200 ? ' with other bytes' : ''} for a probe file written to ${pf.dir}: check that your web server publishes that folder at that URL (or that \`serve --http\` runs, for its /files/ route).`,
    };
  } catch (err) {
    return {
      ...out,
      answers: false,
      detail: `${pf.baseUrl} did not answer from this machine (${(err as Error).message}): start the web server that publishes ${pf.dir} (or \`serve --http\`, for its /files/ route).`,
    };
  } finally {
    await probe.remove();
  }
}

export async function doctorCommand(argv: string[]): Promise<void> {
  const config = loadConfig({ defaults: CLI_DEFAULTS });
  const app = await createApp(config, appOptionsForCli(config));
  try {
    const report = buildReport(app);
    const exposed = await probePublic(app);
    if (exposed) {
      report.public_files = exposed;
      if (!exposed.answers) report.problems.push(`LIPSYNC_PUBLIC_BASE_URL: ${exposed.detail}`);
    }
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
      `public folder: ${publicLine(report.public_files)}`,
    ];
    if (report.problems.length) lines.push('', 'problems:', ...report.problems.map((p) => `  - ${p}`));
    process.stdout.write(`${app.redactor.redact(lines.join('\n'))}\n`);
  } finally {
    await app.close(0);
  }
}

function publicLine(p: PublicProbe | undefined): string {
  if (!p) return 'off (LIPSYNC_PUBLIC_BASE_URL unset: The Director takes URLs only)';
  return `${p.dir} at ${p.base_url}: ${p.answers ? 'answers from this machine' : 'does NOT answer (see problems)'}`;
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
  // The ledger opens lazily, on the first job: say now if it cannot (Node 20 without better-sqlite3).
  const sqlite = sqliteProblem();
  if (sqlite) problems.push(sqlite);
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
