import type { GradientLimit } from './gradient-limit.js';

/**
 * The attempts in flight to one target under its adaptive limit (gradient-limit.ts),
 * with a short bounded queue of attempts waiting for a slot. Each attempt (a retry or a
 * hedge as well as a first attempt) holds a slot from its start to its end and reports
 * its latency when it leaves, which moves the limit. Unlike the bulkhead, whose slot a
 * call keeps across its retries and their waits, a slot here is the dependency's
 * concurrency, so a backoff wait holds none.
 */
export class ConcurrencyGate {
  private running = 0;
  private readonly waiters: Array<() => void> = [];

  constructor(
    readonly limiter: GradientLimit,
    readonly maxQueue: number,
  ) {}

  get inFlight(): number {
    return this.running;
  }

  get limit(): number {
    return this.limiter.limit;
  }

  /** Takes a slot at once if the limit allows. */
  tryEnter(): boolean {
    if (this.running < this.limiter.limit) {
      this.running++;
      return true;
    }
    return false;
  }

  /** Whether an attempt that found no free slot may wait for one. */
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

  /**
   * An attempt ended: its latency feeds the limit (`dropped`: it timed out or the
   * dependency said it is overloaded), and freed slots go to waiters while the limit,
   * which may just have moved, allows.
   */
  leave(now: number, latencyMs: number, dropped: boolean): void {
    this.limiter.onSample(now, latencyMs, this.running, dropped);
    this.running--;
    while (this.waiters.length > 0 && this.running < this.limiter.limit) {
      this.running++;
      this.waiters.shift()!();
    }
  }

  /** An attempt that took a slot and then never ran (its wait was given up): no sample. */
  release(): void {
    this.running--;
    if (this.waiters.length > 0 && this.running < this.limiter.limit) {
      this.running++;
      this.waiters.shift()!();
    }
  }

  stats(): { limit: number; inFlight: number; queued: number; probing: boolean } {
    return { limit: this.limiter.limit, inFlight: this.running, queued: this.waiters.length, probing: this.limiter.probing };
  }
}
