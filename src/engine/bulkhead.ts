/**
 * Limits concurrent logical calls to a target, with a bounded queue of waiters. The
 * slot is held across retries and their waits, like a bulkhead wrapped around a retry
 * policy: a call that got in is not thrown out halfway through.
 */
export class Bulkhead {
  private running = 0;
  private readonly waiters: Array<() => void> = [];

  constructor(
    readonly maxConcurrent: number,
    readonly maxQueue: number,
  ) {}

  /** Takes a slot at once if one is free. */
  tryEnter(): boolean {
    if (this.running < this.maxConcurrent) {
      this.running++;
      return true;
    }
    return false;
  }

  /** Whether a call that found no free slot may wait for one. */
  canQueue(): boolean {
    return this.waiters.length < this.maxQueue;
  }

  /** Waits for a slot; the returned cancel() takes the waiter out of the queue. */
  enqueue(onSlot: () => void): () => void {
    this.waiters.push(onSlot);
    return () => {
      const i = this.waiters.indexOf(onSlot);
      if (i >= 0) this.waiters.splice(i, 1);
    };
  }

  leave(): void {
    const next = this.waiters.shift();
    if (next) next(); // the slot passes straight to the next waiter
    else this.running--;
  }

  stats(): { running: number; queued: number } {
    return { running: this.running, queued: this.waiters.length };
  }
}
