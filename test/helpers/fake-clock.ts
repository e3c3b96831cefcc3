import type { Clock } from '../../src/engine/clock.js';

/** The handle setTimeout returns: like a Node timer, it can be unref'd. */
class Timer {
  private referenced = true;

  constructor(
    readonly id: number,
    readonly at: number,
    readonly callback: () => void,
  ) {}

  unref(): this {
    this.referenced = false;
    return this;
  }

  ref(): this {
    this.referenced = true;
    return this;
  }

  hasRef(): boolean {
    return this.referenced;
  }
}

/** Lets queued promise callbacks run (the engine's awaits) without any real waiting for time. */
export function flushMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * A Clock whose time moves only when a test says so. Timers fire in time order, and
 * between two timers every pending promise callback runs, so an engine awaiting a
 * backoff wakes exactly when its timer is due. Timers can be unref'd as Node's can:
 * such a timer fires when time passes it, but does not count as pending and does not
 * keep runAll() going, as it would not keep a process alive.
 */
export class FakeClock implements Clock {
  private time = 0;
  private nextId = 1;
  private timers: Timer[] = [];

  now(): number {
    return this.time;
  }

  setTimeout(callback: () => void, ms: number): unknown {
    const timer = new Timer(this.nextId++, this.time + Math.max(0, ms), callback);
    this.timers.push(timer);
    return timer;
  }

  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((t) => t !== handle);
  }

  /** Timers not yet fired nor cleared that would keep a process alive (unref'd ones do not count). */
  get pendingTimers(): number {
    return this.timers.filter((t) => t.hasRef()).length;
  }

  /** Every timer not yet fired nor cleared, unref'd ones included. */
  get allTimers(): number {
    return this.timers.length;
  }

  /**
   * Moves time forward by ms, firing due timers in order, synchronously: no promise
   * callback runs in between. For code driven by timers alone (the timer queue).
   */
  tick(ms: number): void {
    const until = this.time + ms;
    for (;;) {
      const next = this.nextDue(until);
      if (next === undefined) break;
      this.time = next.at;
      next.callback();
    }
    this.time = until;
  }

  /** Moves time forward by ms, firing due timers in order and settling promises between them. */
  async advance(ms: number): Promise<void> {
    const until = this.time + ms;
    await flushMicrotasks();
    for (;;) {
      const next = this.nextDue(until);
      if (next === undefined) break;
      this.time = next.at;
      next.callback();
      await flushMicrotasks();
    }
    this.time = until;
    await flushMicrotasks();
  }

  /**
   * Fires every timer (and those they set) in order until none that would keep a
   * process alive is left, up to a bound: unref'd timers due before the last
   * referenced one fire on the way, the others are left.
   */
  async runAll(maxTimers = 10_000): Promise<void> {
    await flushMicrotasks();
    for (let i = 0; i < maxTimers && this.pendingTimers > 0; i++) {
      const next = this.nextDue(Infinity)!;
      this.time = Math.max(this.time, next.at);
      next.callback();
      await flushMicrotasks();
    }
  }

  /** Takes out and returns the earliest timer due by `until` (the first set among equals). */
  private nextDue(until: number): Timer | undefined {
    this.timers.sort((a, b) => a.at - b.at || a.id - b.id);
    const next = this.timers[0];
    if (next === undefined || next.at > until) return undefined;
    this.timers.shift();
    return next;
  }
}

/** A deterministic random source in [0, 1) (mulberry32), for reproducible jitter. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
