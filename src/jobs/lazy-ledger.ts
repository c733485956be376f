/**
 * The embedded ledger, opened on first use: a start that only answers `initialize` and `tools/list`
 * never loads the SQLite driver or opens the file (about a tenth of a cold start's CPU). Every
 * `LedgerStore` method is asynchronous, so callers see no difference; the input-hash cache (synchronous,
 * machine-local) opens it on its first lookup too.
 */
import type { HashStore } from './hash-store.js';
import { Ledger, type WatchTiming } from './ledger.js';
import type { LedgerStore } from './store.js';

export class LazyLedger {
  private opened: Ledger | undefined;
  private closed = false;
  private hashes: HashStore | undefined;
  private readonly pendingWatches = new Set<{ listener: (id?: string) => void; stop?: () => void }>();

  constructor(
    private readonly file: string,
    private readonly timing?: WatchTiming,
  ) {}

  /** The SQLite ledger, opened now if it was not yet. */
  get ledger(): Ledger {
    if (this.closed) throw new Error('the ledger is closed');
    if (!this.opened) {
      this.opened = new Ledger(this.file, undefined, this.timing);
      for (const w of this.pendingWatches) w.stop = this.opened.watch(w.listener);
    }
    return this.opened;
  }

  get isOpen(): boolean {
    return this.opened !== undefined;
  }

  /** The `hashes` table, opened on the first lookup. */
  hashCache(): HashStore {
    const hashes = (): HashStore => {
      if (!this.hashes) this.hashes = this.ledger.hashCache();
      return this.hashes;
    };
    return { get: (key) => hashes().get(key), set: (key, sha256) => hashes().set(key, sha256) };
  }

  closeSync(): void {
    this.closed = true;
    for (const w of this.pendingWatches) w.stop?.();
    this.pendingWatches.clear();
    this.opened?.closeSync();
    this.opened = undefined;
    this.hashes = undefined;
  }

  /** The `LedgerStore` view: each method opens the file first; `watch` starts when it opens. */
  store(): LedgerStore {
    const self = this;
    const store: LedgerStore = {
      backend: 'sqlite',
      describe: () => `SQLite ${this.file}`,
      get spend() {
        return self.ledger.spend;
      },
      get streams() {
        return self.ledger.streams;
      },
      close: async () => this.closeSync(),
      claim: (task, opts) => this.ledger.claim(task, opts),
      takeOver: (id, expected, owner, now) => this.ledger.takeOver(id, expected, owner, now),
      markSent: (id, owner, now) => this.ledger.markSent(id, owner, now),
      get: (id) => this.ledger.get(id),
      latest: (fp) => this.ledger.latest(fp),
      providerTaskIds: (fp) => this.ledger.providerTaskIds(fp),
      findByProviderTaskId: (provider, id) => this.ledger.findByProviderTaskId(provider, id),
      page: (opts) => this.ledger.page(opts),
      unfinished: () => this.ledger.unfinished(),
      update: (id, patch, now) => this.ledger.update(id, patch, now),
      uploadLookup: (provider, scope, sha256, size) =>
        this.ledger.uploadLookup(provider, scope, sha256, size),
      uploadStore: (provider, scope, sha256, size, url, meta, now) =>
        this.ledger.uploadStore(provider, scope, sha256, size, url, meta, now),
      recordDownload: (taskId, path, sha256, size, now) =>
        this.ledger.recordDownload(taskId, path, sha256, size, now),
      idsStartingWith: (prefix, limit, principal) => this.ledger.idsStartingWith(prefix, limit, principal),
      watch: (listener) => {
        if (this.opened) return this.opened.watch(listener);
        const w: { listener: (id?: string) => void; stop?: () => void } = { listener };
        this.pendingWatches.add(w);
        return () => {
          w.stop?.();
          this.pendingWatches.delete(w);
        };
      },
    };
    return store;
  }
}
