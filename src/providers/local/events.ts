/**
 * A small push-to-pull channel: the background job pushes snapshots, the JobService iterates them.
 * Progress updates that nobody has read yet are coalesced, so an undrained channel stays tiny.
 */
export class SnapshotChannel<T extends { progress?: number; status?: string }> implements AsyncIterable<T> {
  private readonly queue: T[] = [];
  private waiter: ((r: IteratorResult<T>) => void) | undefined;
  private closed = false;

  push(value: T): void {
    if (this.closed) return;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w({ value, done: false });
      return;
    }
    const last = this.queue.at(-1);
    // Replace an unread progress tick by the newer one rather than queueing both.
    if (last && last.status === 'processing' && value.status === 'processing')
      this.queue[this.queue.length - 1] = value;
    else this.queue.push(value);
  }

  close(): void {
    this.closed = true;
    if (this.waiter && this.queue.length === 0) {
      const w = this.waiter;
      this.waiter = undefined;
      w({ value: undefined, done: true });
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        const value = this.queue.shift();
        if (value !== undefined) return Promise.resolve({ value, done: false });
        if (this.closed) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => {
          this.waiter = resolve;
        });
      },
      // The consumer stopped listening: drop what is queued; the job itself carries on.
      return: () => {
        this.closed = true;
        this.queue.length = 0;
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
