import { join } from 'node:path';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { HttpClient } from '../http/client.js';
import type { Logger } from '../logger.js';
import type { FfmpegTools } from '../media/ffmpeg.js';
import type { Redactor } from '../redact.js';
import { createDirectorProvider } from './director/index.js';
import { createJoggProvider } from './jogg/index.js';
import { createLocalProvider, locateEspeak } from './local/index.js';
import { createNemoVideoProvider } from './nemovideo/index.js';
import type { Provider, ProviderName } from './provider.js';

export interface ProviderFactoryDeps {
  config: Config;
  http: HttpClient;
  clock: Clock;
  log: Logger;
  redactor: Redactor;
  version: string;
  /** Resolved ffmpeg/ffprobe: the local engine is registered only when both are there. */
  ffmpeg: FfmpegTools;
}

export function createProviders(deps: ProviderFactoryDeps): Map<ProviderName, Provider> {
  const map = new Map<ProviderName, Provider>();
  const { config, http, clock } = deps;
  const log = (name: string) => deps.log.child({ provider: name });
  if (deps.ffmpeg.ffmpeg && deps.ffmpeg.ffprobe) {
    map.set(
      'local',
      createLocalProvider({
        ffmpegPath: deps.ffmpeg.ffmpeg.path,
        ffprobePath: deps.ffmpeg.ffprobe.path,
        ffmpegSource: deps.ffmpeg.ffmpeg.source,
        // Offline speech is offered only where espeak-ng is found (LIPSYNC_ESPEAK_PATH, then PATH).
        espeakPath: locateEspeak(config.espeak).location?.path,
        clock,
        log: log('local'),
      }),
    );
  }
  const jogg = createJoggProvider({ config: config.jogg, http, clock, log: log('jogg') });
  map.set('jogg', jogg);
  map.set(
    'nemovideo',
    createNemoVideoProvider({
      config: config.nemo,
      http,
      clock,
      log: log('nemovideo'),
      redactor: deps.redactor,
      version: deps.version,
    }),
  );
  map.set(
    'director',
    createDirectorProvider({
      config: config.director,
      http,
      clock,
      log: log('director'),
      stateFile: join(config.home, 'director-state.json'),
      // DIRECTOR_UPLOAD_VIA=jogg: local files go to Jogg's public asset storage first (opt-in).
      uploadVia: config.director.uploadVia === 'jogg' ? jogg : undefined,
    }),
  );
  return map;
}

/** Stops provider-owned work (the local engine's ffmpeg processes) at shutdown. */
export async function closeProviders(providers: Map<ProviderName, Provider>): Promise<void> {
  for (const p of providers.values()) {
    const closable = p as Provider & { close?: () => Promise<void> };
    if (typeof closable.close === 'function') await closable.close().catch(() => undefined);
  }
}
