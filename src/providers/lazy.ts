/**
 * A provider whose implementation is imported on its first call. Listing tools, resources and the
 * doctor's report needs only what a provider is (its {@link ProviderMeta}); its API client, response
 * schemas and SSE reader are loaded when a job first needs them, which keeps the server's cold start
 * to `tools/list` small. Callers see an ordinary {@link Provider}.
 */
import { AppError } from '../errors.js';
import type { Provider } from './provider.js';

/** The optional methods whose presence callers test (`if (provider.upload)`). */
export type OptionalMethod = 'findExisting' | 'lookupById' | 'upload' | 'credits' | 'stop';

/**
 * What a provider is, without its implementation: everything a caller reads synchronously. Each
 * provider's `meta.ts` builds it from the same config as its factory; a unit test checks that both agree.
 */
export interface ProviderMeta
  extends Pick<
    Provider,
    'name' | 'displayName' | 'capabilities' | 'choices' | 'credentials' | 'timing' | 'normalizeParams'
  > {
  /** The optional methods the implementation has. */
  readonly optional: readonly OptionalMethod[];
}

export interface LazyProvider extends Provider {
  /** Whether the implementation has been imported (tests, diagnostics). */
  loaded(): boolean;
  /** Stops provider-owned work if the implementation was ever loaded (see closeProviders). */
  close(): Promise<void>;
}

export function lazyProvider(meta: ProviderMeta, load: () => Promise<Provider>): LazyProvider {
  let loading: Promise<Provider> | undefined;
  let ready: Provider | undefined;
  const impl = (): Promise<Provider> => {
    // A failed import is not remembered: the next call tries again.
    loading ??= load().then(
      (p) => {
        ready = p;
        return p;
      },
      (err: unknown) => {
        loading = undefined;
        throw err;
      },
    );
    return loading;
  };
  const method = async <K extends OptionalMethod>(k: K): Promise<NonNullable<Provider[K]>> => {
    const p = await impl();
    const f = p[k];
    if (!f) throw new AppError('internal', `${meta.displayName} has no ${k} step.`);
    return f.bind(p) as NonNullable<Provider[K]>;
  };
  const has = (k: OptionalMethod) => meta.optional.includes(k);

  const provider: LazyProvider = {
    name: meta.name,
    displayName: meta.displayName,
    capabilities: meta.capabilities,
    ...(meta.choices ? { choices: meta.choices } : {}),
    credentials: meta.credentials,
    timing: meta.timing,
    ...(meta.normalizeParams ? { normalizeParams: meta.normalizeParams } : {}),
    prepare: async (request, ctx) => (await impl()).prepare(request, ctx),
    start: async (prepared, ctx) => (await impl()).start(prepared, ctx),
    status: async (operation, ctx) => (await impl()).status(operation, ctx),
    loaded: () => ready !== undefined,
    async close() {
      const p = ready as (Provider & { close?: () => Promise<void> }) | undefined;
      if (typeof p?.close === 'function') await p.close();
    },
  };
  if (has('findExisting'))
    provider.findExisting = async (prepared, ctx) => (await method('findExisting'))(prepared, ctx);
  if (has('lookupById')) provider.lookupById = async (id, ctx) => (await method('lookupById'))(id, ctx);
  if (has('upload'))
    provider.upload = async (input, role, scope, signal) =>
      (await method('upload'))(input, role, scope, signal);
  if (has('credits')) provider.credits = async (signal) => (await method('credits'))(signal);
  if (has('stop')) provider.stop = async (operation, ctx) => (await method('stop'))(operation, ctx);
  return provider;
}
