/**
 * A set that admits the first `limit` distinct keys and refuses every later newcomer.
 *
 * This is how breakwater bounds the cardinality of anything keyed by a target (metric
 * labels, target keys): a service that calls a million hosts must not create a million
 * time series or breakers. First come keep their place for the life of the process, so
 * a key never changes meaning mid-flight (a series never moves to the overflow label
 * half way); the price is that the set never forgets, which is the point: an LRU would
 * let a churn of new hosts push the busy ones out and back in, renaming their series.
 *
 * Lowering the limit below the current size keeps the members already admitted and
 * refuses new ones until a clear().
 */
export class FirstComeSet {
  private readonly members = new Set<string>();
  private max: number;

  constructor(limit: number) {
    this.max = checkedLimit(limit);
  }

  get limit(): number {
    return this.max;
  }

  /** A whole number of keys, at least 0 (Infinity: unbounded); anything else is a RangeError. */
  setLimit(limit: number): void {
    this.max = checkedLimit(limit);
  }

  /** Whether `key` is a member, adding it if there is still room. */
  admit(key: string): boolean {
    const members = this.members;
    if (members.has(key)) return true;
    if (members.size >= this.max) return false;
    members.add(key);
    return true;
  }

  get size(): number {
    return this.members.size;
  }

  /** Forgets every member (tests, or a deliberate reset of the key space). */
  clear(): void {
    this.members.clear();
  }
}

function checkedLimit(limit: number): number {
  if (limit === Number.POSITIVE_INFINITY || (Number.isInteger(limit) && limit >= 0)) return limit;
  throw new RangeError(`a key limit must be a whole number of at least 0, got ${String(limit)}`);
}
