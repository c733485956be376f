import { join } from 'node:path';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { HttpClient } from '../http/client.js';
import type { Logger } from '../logger.js';
import type { FfmpegTools } from '../media/ffmpeg.js';
import type { Publish } from '../media/publish.js';
import type { Redactor } from '../redact.js';
import { directorMeta } from './director/meta.js';
import { joggMeta } from './jogg/meta.js';
import { lazyProvider } from './lazy.js';
import { localMeta } from './local/meta.js';
import { locateEspeak } from './local/speech.js';
import { nemoVideoMeta } from './nemovideo/meta.js';
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
  /** LIPSYNC_PUBLIC_BASE_URL: exposes local inputs for The Director at signed, expiring links. */
  publisher?: Publish;
}

/**
 * Every provider, as its metadata plus an implementation imported on first use (lazy.ts): listing
 * tools or checking credentials loads no provider's API code.
 */
export function createProviders(deps: ProviderFactoryDeps): Map<ProviderName, Provider> {
  const map = new Map<ProviderName, Provider>();
  const { config, http, clock } = deps;
  const log = (name: string) => deps.log.child({ provider: name });
  const { ffmpeg, ffprobe } = deps.ffmpeg;
  if (ffmpeg && ffprobe) {
    const local = {
      ffmpegPath: ffmpeg.path,
      ffprobePath: ffprobe.path,
      ffmpegSource: ffmpeg.source,
      // Offline speech is offered only where espeak-ng is found (LIPSYNC_ESPEAK_PATH, then PATH).
      espeakPath: locateEspeak(config.espeak).location?.path,
    };
    map.set(
      'local',
      lazyProvider(localMeta(local), async () => {
        const { createLocalProvider } = await import('./local/index.js');
        return createLocalProvider({ ...local, clock, log: log('local') });
      }),
    );
  }
  const jogg = lazyProvider(joggMeta(config.jogg), async () => {
    const { createJoggProvider } = await import('./jogg/index.js');
    return createJoggProvider({ config: config.jogg, http, clock, log: log('jogg') });
  });
  map.set('jogg', jogg);
  const nemoLog = log('nemovideo');
  map.set(
    'nemovideo',
    lazyProvider(
      nemoVideoMeta({ config: config.nemo, clock, log: nemoLog, redactor: deps.redactor }),
      async () => {
        const { createNemoVideoProvider } = await import('./nemovideo/index.js');
        return createNemoVideoProvider({
          config: config.nemo,
          http,
          clock,
          log: nemoLog,
          redactor: deps.redactor,
          version: deps.version,
        });
      },
    ),
  );
  // DIRECTOR_UPLOAD_VIA=jogg: local files go to Jogg's public asset storage first (opt-in).
  const uploadVia = config.director.uploadVia === 'jogg' ? jogg : undefined;
  map.set(
    'director',
    lazyProvider(directorMeta(config.director, { uploads: !!uploadVia }), async () => {
      const { createDirectorProvider } = await import('./director/index.js');
      return createDirectorProvider({
        config: config.director,
        http,
        clock,
        log: log('director'),
        stateFile: join(config.home, 'director-state.json'),
        uploadVia,
        publisher: deps.publisher,
      });
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
