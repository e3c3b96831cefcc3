import type { Clock } from './clock.js';
import type { GradientLimit } from './gradient-limit.js';

/**
 * A queue that has not emptied for this long is standing: the target is overloaded
 * rather than hit by a burst (CoDel's interval, 100 ms). It stops standing once it has
 * stayed empty this long too: under overload it empties for moments (a batch of waits
 * expiring together), which say nothing about the load.
 */
export const STANDING_QUEUE_MS = 100;
/**
 * While the queue stands, an attempt waits at most a tenth of the target's no-load
 * latency (minRtt), within [STANDING_QUEUE_MIN_WAIT_MS, STANDING_QUEUE_WAIT_MS]: every
 * admitted call may have waited that long, so the wait is kept small beside what the
 * dependency takes. CoDel's target, 5 ms, is the ceiling (and the wait before minRtt is
 * measured); with a 10 ms dependency at 3x its capacity, 5 ms waits put the admitted
 * p99 about 2 ms higher than 1 ms waits did, for the same goodput (bench:overload, node:http).
 */
export const STANDING_QUEUE_WAIT_MS = 5;
export const STANDING_QUEUE_MIN_WAIT_MS = 1;
export const STANDING_QUEUE_WAIT_SHARE = 0.1;

/** How long an attempt may wait for a slot while the queue stands, for a target whose no-load latency is `minRttMs` (NaN: not yet measured). */
export function standingWaitMs(minRttMs: number): number {
  if (!(minRttMs > 0)) return STANDING_QUEUE_WAIT_MS;
  return Math.min(STANDING_QUEUE_WAIT_MS, Math.max(STANDING_QUEUE_MIN_WAIT_MS, minRttMs * STANDING_QUEUE_WAIT_SHARE));
}

/** The limit and what moved it: minRttMs the no-load latency measured, sampleRttMs the latest window's (each once known). */
export interface ConcurrencyStats {
  limit: number;
  inFlight: number;
  queued: number;
  probing: boolean;
  /** The queue has been standing (sustained overload): newest first, short waits. */
  standing: boolean;
  minRttMs?: number;
  sampleRttMs?: number;
  /** The cap learnt from the dependency refusing for want of slots, while there is one. */
  refusalCeiling?: number;
}

/**
 * The attempts in flight to one target under its adaptive limit (gradient-limit.ts),
 * with a short bounded queue of attempts waiting for a slot. Each attempt (a retry or a
 * hedge as well as a first attempt) holds a slot from its start to its end and reports
 * its latency when it leaves, which moves the limit. Unlike the bulkhead, whose slot a
 * call keeps across its retries and their waits, a slot here is the dependency's
 * concurrency, so a backoff wait holds none.
 *
 * The queue absorbs bursts: first come, first served, each waiting up to the policy's
 * maxWaitMs. Under sustained overload a queue of that kind only adds its whole wait to
 * every admitted call (it is always full, so everyone waits its length) and serves first
 * those most likely to have given up. So once the queue has not emptied for
 * STANDING_QUEUE_MS, as CoDel and Facebook's adaptive LIFO do, it serves the newest
 * waiter first and new waiters wait briefly (standingWaitMs), until it has stayed
 * empty for STANDING_QUEUE_MS.
 */
export class ConcurrencyGate {
  private running = 0;
  private readonly waiters: Array<() => void> = [];
  /** When the current run of a non-empty queue began (short empty moments inside it included). */
  private queuedSince = Number.POSITIVE_INFINITY;
  /** When the queue last became empty; NaN while it is not. */
  private emptiedAt = Number.NEGATIVE_INFINITY;

  constructor(
    readonly limiter: GradientLimit,
    readonly maxQueue: number,
    private readonly clock: Clock,
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

  /** Whether the queue is standing at `now`. */
  standing(now: number): boolean {
    if (this.waiters.length === 0 && now - this.emptiedAt >= STANDING_QUEUE_MS) return false;
    return now - this.queuedSince >= STANDING_QUEUE_MS;
  }

  /** How long an attempt queued at `now` may wait, given the policy's `maxWaitMs`. */
  waitLimit(now: number, maxWaitMs: number): number {
    return this.standing(now) ? Math.min(maxWaitMs, standingWaitMs(this.limiter.minRttMs)) : maxWaitMs;
  }

  /** Waits for a slot; the returned cancel() takes the waiter out of the queue. */
  enqueue(onSlot: () => void): () => void {
    if (this.waiters.length === 0) {
      const now = this.clock.now();
      // A run begins unless the queue was empty only for a moment.
      if (now - this.emptiedAt >= STANDING_QUEUE_MS) this.queuedSince = now;
      this.emptiedAt = NaN;
    }
    this.waiters.push(onSlot);
    return () => {
      const i = this.waiters.indexOf(onSlot);
      if (i < 0) return;
      this.waiters.splice(i, 1);
      this.noteEmptied();
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
    const newestFirst = this.standing(now);
    while (this.waiters.length > 0 && this.running < this.limiter.limit) this.handOver(newestFirst);
  }

  /** An attempt the dependency refused for want of slots (GradientLimit.onRefused): caps the limit, frees the slot. */
  refused(now: number): void {
    this.limiter.onRefused(now, this.running);
    this.release();
  }

  /** An attempt that took a slot and then never ran (its wait was given up): no sample. */
  release(): void {
    this.running--;
    if (this.waiters.length > 0 && this.running < this.limiter.limit) this.handOver(this.standing(this.clock.now()));
  }

  stats(): ConcurrencyStats {
    const { minRttMs, sampleRttMs } = this.limiter;
    return {
      limit: this.limiter.limit,
      inFlight: this.running,
      queued: this.waiters.length,
      probing: this.limiter.probing,
      standing: this.standing(this.clock.now()),
      ...(Number.isNaN(minRttMs) ? {} : { minRttMs }),
      ...(Number.isNaN(sampleRttMs) ? {} : { sampleRttMs }),
      ...(this.limiter.refusalCeiling === Number.POSITIVE_INFINITY ? {} : { refusalCeiling: this.limiter.refusalCeiling }),
    };
  }

  private handOver(newestFirst: boolean): void {
    this.running++;
    const next = newestFirst ? this.waiters.pop()! : this.waiters.shift()!;
    this.noteEmptied();
    next();
  }

  private noteEmptied(): void {
    if (this.waiters.length === 0) this.emptiedAt = this.clock.now();
  }
}
