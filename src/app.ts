/**
 * The composition root: config in, a running JobService and its collaborators out. Used by the stdio
 * server, the HTTP server and the CLI alike; tests pass their own config, clock and fakes.
 */
import { join } from 'node:path';
import { type Clock, systemClock } from './clock.js';
import { type Config, isUsableSecret } from './config.js';
import { AppError } from './errors.js';
import { createHttpClient, type HttpClient } from './http/client.js';
import { LazyLedger } from './jobs/lazy-ledger.js';
import { JobService, type PreflightFn } from './jobs/service.js';
import type { LedgerStore } from './jobs/store.js';
import { createLogger, type Logger } from './logger.js';
import { bundledMarker, bundledNotice, type FfmpegTools, locateFfmpeg } from './media/ffmpeg.js';
import type { FileHasher } from './media/hash.js';
import type { Publisher } from './media/publish.js';
import type { HostLookup } from './media/url-guard.js';
import { closeProviders, createProviders } from './providers/index.js';
import type { Provider, ProviderName } from './providers/provider.js';
import { Redactor } from './redact.js';
import { VERSION } from './version.js';

export interface App {
  config: Config;
  redactor: Redactor;
  log: Logger;
  clock: Clock;
  http: HttpClient;
  /** The task ledger: SQLite in `home` by default (the store may be shared with other instances). */
  ledger: LedgerStore;
  providers: Map<ProviderName, Provider>;
  jobs: JobService;
  /** ffmpeg/ffprobe as found (absent ones missing), and why not when the lookup failed. */
  media: FfmpegTools & { problem?: string };
  /** LIPSYNC_PUBLIC_BASE_URL: local inputs for The Director at signed, expiring links (else absent). */
  publisher?: Publisher;
  /**
   * The key that signs a 2026-07-28 client's pending confirmation of a paid job (`requestState`):
   * LIPSYNC_CONFIRM_KEY, else generated once into LIPSYNC_HOME (mode 0600). Read on first use.
   */
  confirmKey(): Promise<Buffer>;
  close(drainMs?: number): Promise<void>;
}

export interface AppOptions {
  clock?: Clock;
  log?: Logger;
  /** Replace or add providers (tests). */
  providers?: (
    built: Map<ProviderName, Provider>,
    app: Omit<App, 'providers' | 'jobs' | 'close' | 'confirmKey'>,
  ) => Map<ProviderName, Provider>;
  /** Skip the ffmpeg lookup and use these (tests). */
  media?: FfmpegTools;
  /** Replace the ffprobe preflight (tests), or `false` to skip it. */
  preflight?: PreflightFn | false;
  /** Where logs go instead of stderr (tests capture them to check redaction). */
  logStream?: NodeJS.WritableStream;
  cwd?: string;
  httpAttempts?: number;
  submitWaitMs?: number;
  maxLookMs?: number;
  /** Overall real-time budget of calls without a wait of their own (tests shorten it). */
  callBudgetMs?: number;
  /** Host name resolver for the private-URL check (tests: no real DNS). */
  lookupHost?: HostLookup;
  /** The in-process file hasher (tests: a fresh one stands for a new process). */
  hasher?: FileHasher;
}

export async function createApp(config: Config, opts: AppOptions = {}): Promise<App> {
  const redactor = new Redactor(config.secrets);
  const log = opts.log ?? createLogger(config.logLevel, redactor, opts.logStream ?? 2);
  const clock = opts.clock ?? systemClock;
  const http = createHttpClient({ clock, timeoutMs: config.requestTimeoutMs, attempts: opts.httpAttempts });
  let media: App['media'] = opts.media ?? {};
  if (!opts.media) {
    try {
      media = await locateFfmpeg(config.ffmpeg);
    } catch (err) {
      media = { problem: (err as Error).message };
    }
  }
  const notice = bundledNotice(media, bundledMarker(config.home, media));
  // The machine's own SQLite file: the ledger by default, and always the input-hash cache (keyed by
  // device and inode, which mean something on this machine only).
  const local = new LazyLedger(join(config.home, 'ledger.sqlite'));
  let ledger: LedgerStore = local.store();
  if (config.database.url) {
    try {
      // Loaded only when configured: the driver stays out of every other start.
      const { PgLedger } = await import('./jobs/ledger-pg.js');
      ledger = await PgLedger.open(config.database.url, { poolSize: config.database.poolSize, log });
    } catch (err) {
      local.closeSync();
      throw err;
    }
  }
  const exposed = await startPublisher(config, clock, log);
  const publisher = exposed?.publisher;
  const base = { config, redactor, log, clock, http, ledger, media, publisher };
  let providers = createProviders({
    config,
    http,
    clock,
    log,
    redactor,
    version: VERSION,
    ffmpeg: media,
    publisher,
  });
  if (opts.providers) providers = opts.providers(providers, base);
  const jobs = new JobService({
    ledger,
    providers,
    clock,
    log,
    redactor,
    http,
    inputPolicy: {
      allowedDirs: config.inputDirs,
      maxBytes: config.maxInputBytes,
      homeDir: config.homeDir,
      cwd: opts.cwd ?? process.cwd(),
      allowPrivateUrls: config.allowPrivateUrls,
      lookup: opts.lookupHost,
      hashCache: local.hashCache(),
      hasher: opts.hasher,
    },
    outputDir: config.outputDir,
    defaultProvider: config.defaultProvider,
    defaultPlaybackType: config.jogg.defaultPlaybackType,
    leaseMs: config.submitLeaseMs,
    preflight:
      opts.preflight === false
        ? undefined
        : (opts.preflight ??
          (async ({ inputs, provider, signal, params }) => {
            const { preflight: runPreflight } = await import('./media/preflight.js');
            const res = await runPreflight({
              inputs,
              provider,
              signal,
              playbackType: typeof params?.playback_type === 'string' ? params.playback_type : undefined,
              ffprobePath: media.ffprobe?.path,
              ffmpegPath: media.ffmpeg?.path,
            });
            // The first job decoded with the old bundled build says so (once), in its warnings and the log.
            const bundled = notice();
            if (bundled) log.warn(bundled);
            return bundled ? { ...res, warnings: [bundled, ...res.warnings] } : res;
          })),
    // The media checks are imported on first use: a start that runs no job never loads them.
    checkUpload: async (input, role, provider, signal) =>
      (await import('./media/media-check.js')).checkMediaInput(input, role, {
        ffprobePath: media.ffprobe?.path,
        maxBytes: config.maxInputBytes,
        provider,
        signal,
      }),
    spend: {
      caps: {
        perProvider: {
          jogg: config.spend.capJoggCredits,
          director: config.spend.capDirectorVideos,
          director_images_audio: config.spend.capDirectorImagesAudio,
          nemovideo: config.spend.capNemovideoCredits,
        },
        paidCreatesPerDay: config.spend.capPaidCreates,
        paidCreatesPerPrincipal: config.spend.capPaidCreatesPerPrincipal,
        perProviderPerPrincipal: {
          jogg: config.spend.capJoggCreditsPerPrincipal,
          director: config.spend.capDirectorVideosPerPrincipal,
          director_images_audio: config.spend.capDirectorImagesAudioPerPrincipal,
          nemovideo: config.spend.capNemovideoCreditsPerPrincipal,
        },
      },
      confirmPaid: config.spend.confirmPaid ?? false,
      audioSeconds: async (input, signal) => {
        if (input.type !== 'file' || !media.ffprobe?.path) return undefined;
        const { probe } = await import('./media/probe.js');
        const info = await probe(media.ffprobe.path, input.path, signal).catch(() => undefined);
        return info?.audio?.durationSeconds ?? info?.durationSeconds;
      },
    },
    submitWaitMs: opts.submitWaitMs,
    maxLookMs: opts.maxLookMs,
    callBudgetMs: opts.callBudgetMs,
    // A final task's exposed inputs are removed at once (the sweep catches what another process ended).
    ...(publisher ? { onFinal: (id: string) => publisher.release(id) } : {}),
  });
  let confirmKey: Promise<Buffer> | undefined;
  return {
    ...base,
    providers,
    jobs,
    confirmKey() {
      confirmKey ??= loadConfirmKey(config);
      confirmKey.catch(() => {
        confirmKey = undefined;
      });
      return confirmKey;
    },
    async close(drainMs = 5000) {
      exposed?.stop();
      await jobs.drain(drainMs);
      await closeProviders(providers);
      await ledger.close();
      local.closeSync();
      await http.close();
    },
  };
}

async function loadConfirmKey(config: Config): Promise<Buffer> {
  const { loadOrCreateKey } = await import('./util/key-file.js');
  const set = config.spend.confirmKey;
  const tooShort = (where: string) =>
    new AppError('invalid_input', `The confirmation signing key in ${where} is shorter than 32 characters.`, {
      hint:
        where === 'LIPSYNC_CONFIRM_KEY'
          ? 'Set LIPSYNC_CONFIRM_KEY to at least 32 random characters (or unset it to have one generated).'
          : `Delete ${where}; a new one is generated on the next paid job.`,
    });
  if (isUsableSecret(set) && Buffer.byteLength(set.value) < 32) throw tooShort('LIPSYNC_CONFIRM_KEY');
  return loadOrCreateKey(config.spend.confirmKeyFile, isUsableSecret(set) ? set.value : undefined, tooShort);
}

/**
 * The public folder for The Director's local inputs, when LIPSYNC_PUBLIC_BASE_URL is set: its signing key
 * (the setting's, else generated once, mode 0600), a sweep of copies past their lifetime now, and then
 * every quarter of that lifetime (at most every 10 minutes).
 */
async function startPublisher(
  config: Config,
  clock: Clock,
  log: Logger,
): Promise<{ publisher: Publisher; stop(): void } | undefined> {
  const pf = config.publicFiles;
  if (!pf.baseUrl) return undefined;
  const { Publisher: Impl, loadOrCreateKey } = await import('./media/publish.js');
  const key = await loadOrCreateKey(pf.keyFile, isUsableSecret(pf.key) ? pf.key.value : undefined);
  const publisher = new Impl({
    dir: pf.dir,
    baseUrl: pf.baseUrl,
    ownersDir: pf.ownersDir,
    key,
    ttlMs: pf.ttlMs,
    maxBytes: config.maxInputBytes,
    now: () => clock.now(),
  });
  const sweep = () =>
    publisher
      .sweep()
      .then((n) => n > 0 && log.info({ removed: n }, 'removed expired copies from the public folder'))
      .catch((err) => log.warn({ err: String(err) }, 'could not sweep the public folder'));
  await sweep();
  const timer = setInterval(sweep, Math.min(pf.ttlMs / 4, 10 * 60_000));
  timer.unref();
  return { publisher, stop: () => clearInterval(timer) };
}
