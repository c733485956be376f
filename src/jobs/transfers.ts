/**
 * Uploads and downloads that a tool call asks for directly. Each answers within the call budget; a
 * longer transfer goes on in the background (once per what it transfers), and the same call later
 * returns its result — from the upload cache or the saved file.
 */
import { AppError } from '../errors.js';
import type { InputRole, Provider, ResolvedInput } from '../providers/provider.js';
import { deadline } from '../util/deadline.js';
import type { CallOptions, JobCore } from './core.js';
import { type Downloaded, downloadResult } from './download.js';
import { requireConfigured } from './requests.js';
import type { TaskRow } from './store.js';
import { type Submitter, uploadKey } from './submission.js';

/** Overall budget of calls that have no wait of their own (credits, uploads, downloads), in ms. */
export const CALL_BUDGET_MS = 45_000;

type Resolve = (
  raw: Partial<Record<InputRole, string>>,
  roots?: string[],
) => Promise<Partial<Record<InputRole, ResolvedInput>>>;

export class Transfers {
  private readonly running = new Map<string, Promise<unknown>>();

  constructor(
    private readonly core: JobCore,
    private readonly submitter: Submitter,
    private readonly resolve: Resolve,
  ) {}

  async upload(provider: Provider, raw: string, role: InputRole, opts: CallOptions) {
    const { d } = this.core;
    if (!provider.upload) {
      throw new AppError(
        'unsupported',
        `${provider.displayName} has no upload step; pass the file directly to create_lip_sync.`,
      );
    }
    requireConfigured(provider);
    const input = (await this.resolve({ [role]: raw }, opts.extraRoots))[role]!;
    const signal = opts.signal ?? new AbortController().signal;
    // The same media checks as a create: upload_asset never publishes a document or a non-media file.
    await d.checkUpload?.(input, role, provider, signal);
    const key = uploadKey(input);
    const facts = {
      provider: provider.name,
      cached: !!(await d.ledger.uploadLookup(provider.name, '', key.sha256, key.size)),
      sha256: input.type === 'file' ? input.sha256 : undefined,
      size: input.type === 'file' ? input.size : undefined,
    };
    const done = await this.withinBudget(
      `upload:${provider.name}:${key.sha256}:${key.size}`,
      (bg) => this.submitter.asset(provider, input, role, undefined, bg),
      signal,
    );
    if (done) return { ...facts, status: 'uploaded' as const, url: done.value };
    return {
      ...facts,
      status: 'uploading' as const,
      next_step:
        'The upload is large and continues in the background. Call upload_asset again with the same file in a minute: it returns the URL when the upload has finished, and never uploads the same bytes twice.',
    };
  }

  async download(
    row: TaskRow,
    filename: string | undefined,
    opts: CallOptions,
  ): Promise<
    (Downloaded & { status: 'saved' }) | { task_id: string; status: 'downloading'; next_step: string }
  > {
    const { d } = this.core;
    const deps = { ledger: d.ledger, http: d.http, clock: d.clock, outputDir: d.outputDir };
    const done = await this.withinBudget(
      `download:${row.id}:${filename ?? ''}`,
      (bg) => downloadResult(deps, row, filename, bg),
      opts.signal,
    );
    if (done) return { ...done.value, status: 'saved' };
    return {
      task_id: row.id,
      status: 'downloading',
      next_step:
        'The download continues in the background. Call download_result again with the same arguments in a minute: it returns the saved file when it is complete (nothing is downloaded twice).',
    };
  }

  /**
   * Runs `work` in the background, once per `key` in this process, and answers with its value if it
   * finishes within the call budget; otherwise undefined. The caller's cancellation stops the wait,
   * not the work.
   */
  private withinBudget<T>(
    key: string,
    work: (signal: AbortSignal) => Promise<T>,
    signal?: AbortSignal,
  ): Promise<{ value: T } | undefined> {
    const { core } = this;
    let p = this.running.get(key) as Promise<T> | undefined;
    if (!p) {
      const ctl = new AbortController();
      core.controllers.add(ctl);
      p = work(ctl.signal).finally(() => {
        this.running.delete(key);
        core.controllers.delete(ctl);
      });
      this.running.set(key, p);
      core.track(p);
      p.catch((err) => core.warn(key, err, 'background transfer failed'));
    }
    const budget = deadline(core.d.callBudgetMs ?? CALL_BUDGET_MS, signal);
    const stop = budget.signal;
    const stopped = new Promise<undefined>((resolve) => {
      if (stop.aborted) resolve(undefined);
      stop.addEventListener('abort', () => resolve(undefined), { once: true });
    });
    return Promise.race([p.then((value) => ({ value })), stopped]).finally(() => budget.clear());
  }
}
