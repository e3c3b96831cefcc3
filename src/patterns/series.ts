import type { CircuitStateName, Count } from './counts.js';
import { MinuteRing } from './ring.js';
import { ATTEMPTS_HISTORY, MAX_CATEGORIES, OPERATIONS_HISTORY, RESOURCE_HISTORY, SHORT_HISTORY, TRIPS_HISTORY } from './windows.js';

/**
 * The counters of one dependency (target, client), as the rules sum them: over policies,
 * instances and every label the rules do not group by.
 */
export class DependencySeries {
  lastUsed: number;
  /** Attempts the caller did not cancel (the error ratio's denominator). */
  readonly counted: MinuteRing;
  /** Attempts that failed or were rejected. */
  readonly errors: MinuteRing;
  /** Every attempt, cancelled ones included (first attempts = these minus retries and hedges). */
  readonly all: MinuteRing;
  readonly retries: MinuteRing;
  /** Backup attempts of hedged calls, whatever came of them. */
  readonly hedges: MinuteRing;
  readonly resource: MinuteRing;
  /** Failed or rejected attempts per error category. */
  readonly categories = new Map<string, MinuteRing>();
  /** Logical calls, for the error budget; allocated on the first one (the largest ring by far). */
  operations: { counted: MinuteRing; bad: MinuteRing } | undefined;

  constructor(
    readonly target: string,
    readonly client: string,
    readonly born: number,
  ) {
    this.lastUsed = born;
    this.counted = new MinuteRing(ATTEMPTS_HISTORY, born);
    this.errors = new MinuteRing(ATTEMPTS_HISTORY, born);
    this.all = new MinuteRing(SHORT_HISTORY, born);
    this.retries = new MinuteRing(SHORT_HISTORY, born);
    this.hedges = new MinuteRing(SHORT_HISTORY, born);
    this.resource = new MinuteRing(RESOURCE_HISTORY, born);
  }

  /** One-minute samples held, over every ring (for the memory bound). */
  samples(): number {
    let n = this.counted.length + this.errors.length + this.all.length + this.retries.length + this.hedges.length + this.resource.length;
    for (const ring of this.categories.values()) n += ring.length;
    if (this.operations !== undefined) n += this.operations.counted.length + this.operations.bad.length;
    return n;
  }

  record(count: Extract<Count, { kind: 'attempts' | 'retries' | 'hedges' | 'operations' }>, minute: number): void {
    this.lastUsed = minute;
    const n = count.count;
    if (count.kind === 'retries' || count.kind === 'hedges') {
      this[count.kind].add(minute, n);
      return;
    }
    const bad = count.outcome === 'failure' || count.outcome === 'rejected';
    const counted = count.outcome !== 'cancelled';
    if (count.kind === 'operations') {
      this.operations ??= { counted: new MinuteRing(OPERATIONS_HISTORY, minute), bad: new MinuteRing(OPERATIONS_HISTORY, minute) };
      this.operations.counted.add(minute, counted ? n : 0);
      this.operations.bad.add(minute, bad ? n : 0);
      return;
    }
    this.all.add(minute, n);
    this.counted.add(minute, counted ? n : 0);
    this.errors.add(minute, bad ? n : 0);
    // Every attempt with the category counts, whatever its outcome, as the rule's selector does.
    this.resource.add(minute, count.category === 'resource' ? n : 0);
    if (bad && count.category !== undefined) {
      let ring = this.categories.get(count.category);
      if (ring === undefined && this.categories.size < MAX_CATEGORIES) this.categories.set(count.category, (ring = new MinuteRing(SHORT_HISTORY, minute)));
      ring?.add(minute, n);
    }
  }
}

/** One breaker (target, policy). */
export class BreakerSeries {
  lastUsed: number;
  /** closed -> open transitions only: a failed half-open probe re-opening is not flapping. */
  readonly trips: MinuteRing;
  readonly rejections: MinuteRing;
  state: CircuitStateName = 'closed';

  constructor(
    readonly target: string,
    readonly policy: string,
    readonly born: number,
  ) {
    this.lastUsed = born;
    this.trips = new MinuteRing(TRIPS_HISTORY, born);
    this.rejections = new MinuteRing(SHORT_HISTORY, born);
  }

  samples(): number {
    return this.trips.length + this.rejections.length;
  }

  record(count: Extract<Count, { kind: 'transitions' | 'rejections' | 'circuit_state' }>, minute: number): void {
    this.lastUsed = minute;
    if (count.kind === 'circuit_state') this.state = count.state;
    else if (count.kind === 'rejections') this.rejections.add(minute, count.count);
    else {
      this.state = count.to;
      this.trips.add(minute, count.from === 'closed' && count.to === 'open' ? count.count : 0);
    }
  }
}

/**
 * Series by key, at most `limit` of them: a new one past the limit evicts the one used
 * least recently (a dependency no longer called is the one whose alerts matter least).
 */
export class BoundedSeries<S extends { lastUsed: number }> {
  private readonly map = new Map<string, S>();

  constructor(readonly limit: number) {}

  get size(): number {
    return this.map.size;
  }

  obtain(key: string, create: () => S): S {
    let series = this.map.get(key);
    if (series === undefined) {
      if (this.map.size >= this.limit) this.evictOldest();
      this.map.set(key, (series = create()));
    }
    return series;
  }

  values(): IterableIterator<S> {
    return this.map.values();
  }

  private evictOldest(): void {
    let oldestKey: string | undefined;
    let oldest = Number.POSITIVE_INFINITY;
    for (const [key, series] of this.map) {
      if (series.lastUsed < oldest) {
        oldest = series.lastUsed;
        oldestKey = key;
      }
    }
    if (oldestKey !== undefined) this.map.delete(oldestKey);
  }
}
