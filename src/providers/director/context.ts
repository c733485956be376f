/** The Director factory's inputs, and the context it builds once for its operations (create.ts, query.ts). */
import type { Clock } from '../../clock.js';
import type { Config } from '../../config.js';
import type { HttpClient } from '../../http/client.js';
import type { Logger } from '../../logger.js';
import type { Publish } from '../../media/publish.js';
import type { Provider } from '../provider.js';
import type { DirectorApi } from './api.js';
import type { DailyLimitMemory } from './limit.js';
import type { LimitBucket } from './tier3.js';

export interface DirectorProviderDeps {
  config: Config['director'];
  http: HttpClient;
  clock: Clock;
  log: Logger;
  /** Optional JSON file remembering the last daily-limit refusal (for `credits()` across runs). */
  stateFile?: string;
  /**
   * Opt-in (DIRECTOR_UPLOAD_VIA): a provider whose upload returns a public URL (Jogg's asset upload).
   * The Director has no upload endpoint, so local files go there first; without it they are refused.
   */
  uploadVia?: Pick<Provider, 'name' | 'displayName' | 'credentials' | 'upload'>;
  /**
   * Opt-in (LIPSYNC_PUBLIC_BASE_URL): exposes a local input at a signed, expiring URL of the user's own
   * folder, bound to the task (the job service removes it when the task is final). Preferred over
   * `uploadVia`: the file never goes to a third party.
   */
  publisher?: Publish;
}

/** What every Director operation works with: built once by the factory. */
export interface DirectorContext {
  config: Config['director'];
  clock: Clock;
  api: DirectorApi;
  /** The last daily-limit refusal per bucket (videos; images and audio). */
  limits: Record<LimitBucket, DailyLimitMemory>;
  uploadVia: DirectorProviderDeps['uploadVia'];
  publisher: DirectorProviderDeps['publisher'];
}
