import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { HttpClient } from '../http/client.js';
import type { Logger } from '../logger.js';
import type { Redactor } from '../redact.js';
import { createJoggProvider } from './jogg/index.js';
import type { Provider, ProviderName } from './provider.js';

export interface ProviderFactoryDeps {
  config: Config;
  http: HttpClient;
  clock: Clock;
  log: Logger;
  redactor: Redactor;
  version: string;
  /** Resolved ffmpeg/ffprobe (the local engine is registered only with ffmpeg). */
  ffmpeg?: { ffmpeg?: { path: string; source: string }; ffprobe?: { path: string; source: string } };
}

export function createProviders(deps: ProviderFactoryDeps): Map<ProviderName, Provider> {
  const map = new Map<ProviderName, Provider>();
  const log = (name: string) => deps.log.child({ provider: name });
  map.set('jogg', createJoggProvider({ config: deps.config.jogg, http: deps.http, clock: deps.clock, log: log('jogg') }));
  return map;
}
