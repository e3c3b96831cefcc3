import type { Clock } from '../../src/engine/clock.js';

interface Timer {
  id: number;
  at: number;
  callback: () => void;
}

/** Lets queued promise callbacks run (the engine's awaits) without any real waiting for time. */
export function flushMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * A Clock whose time moves only when a test says so. Timers fire in time order, and
 * between two timers every pending promise callback runs, so an engine awaiting a
 * backoff wakes exactly when its timer is due.
 */
export class FakeClock implements Clock {
  private time = 0;
  private nextId = 1;
  private timers: Timer[] = [];

  now(): number {
    return this.time;
  }

  setTimeout(callback: () => void, ms: number): unknown {
    const timer = { id: this.nextId++, at: this.time + Math.max(0, ms), callback };
    this.timers.push(timer);
    return timer.id;
  }

  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }

  get pendingTimers(): number {
    return this.timers.length;
  }

  /** Moves time forward by ms, firing due timers in order and settling promises between them. */
  async advance(ms: number): Promise<void> {
    const until = this.time + ms;
    await flushMicrotasks();
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at || a.id - b.id);
      const next = this.timers[0];
      if (next === undefined || next.at > until) break;
      this.timers.shift();
      this.time = next.at;
      next.callback();
      await flushMicrotasks();
    }
    this.time = until;
    await flushMicrotasks();
  }

  /** Fires every timer (and those they set) until none is left, up to a bound. */
  async runAll(maxTimers = 10_000): Promise<void> {
    await flushMicrotasks();
    for (let i = 0; i < maxTimers && this.timers.length > 0; i++) {
      this.timers.sort((a, b) => a.at - b.at || a.id - b.id);
      const next = this.timers.shift()!;
      this.time = Math.max(this.time, next.at);
      next.callback();
      await flushMicrotasks();
    }
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
