/**
 * Counts events in a sliding time window made of fixed buckets, so memory is constant
 * whatever the traffic and nothing needs a timer: stale buckets are cleared lazily when
 * time moves past them. Each bucket holds `fields` counters.
 */
export class WindowCounter {
  private readonly bucketMs: number;
  private readonly counts: Float64Array;
  /** The bucket number (time / bucketMs) each slot was last used for. */
  private readonly epochs: Float64Array;
  private readonly totals: Float64Array;
  private newestEpoch = -Infinity;

  constructor(
    windowMs: number,
    private readonly buckets: number,
    private readonly fields: number,
  ) {
    this.bucketMs = Math.max(1, windowMs / buckets);
    this.counts = new Float64Array(buckets * fields);
    this.epochs = new Float64Array(buckets).fill(-Infinity);
    this.totals = new Float64Array(fields);
  }

  add(now: number, field: number, amount = 1): void {
    this.addAt(this.advance(now), field, amount);
  }

  /** The count of `field` over the window ending at `now`. */
  total(now: number, field: number): number {
    this.advance(now);
    return this.totals[field]!;
  }

  /** For callers that update several fields at one instant: advance once, then addAt/current. */
  addAt(slot: number, field: number, amount = 1): void {
    this.counts[slot * this.fields + field]! += amount;
    this.totals[field]! += amount;
  }

  /** The count of `field` as of the last advance. */
  current(field: number): number {
    return this.totals[field]!;
  }

  clear(): void {
    this.newestEpoch = -Infinity;
    this.counts.fill(0);
    this.totals.fill(0);
    this.epochs.fill(-Infinity);
  }

  /** Drops buckets that fell out of the window; returns the current bucket's slot. */
  advance(now: number): number {
    // Never backwards: a slightly stale reading counts in the newest bucket instead of
    // re-labelling a live bucket with an old epoch.
    const epoch = Math.max(Math.floor(now / this.bucketMs), this.newestEpoch);
    this.newestEpoch = epoch;
    const slot = ((epoch % this.buckets) + this.buckets) % this.buckets;
    if (this.epochs[slot] === epoch) return slot;
    for (let i = 0; i < this.buckets; i++) {
      // The reused slot's old epoch is a whole number of windows behind, so this also clears it.
      if (epoch - this.epochs[i]! >= this.buckets) this.evict(i);
    }
    this.epochs[slot] = epoch;
    return slot;
  }

  private evict(slot: number): void {
    const offset = slot * this.fields;
    for (let f = 0; f < this.fields; f++) {
      this.totals[f]! -= this.counts[offset + f]!;
      this.counts[offset + f] = 0;
    }
    this.epochs[slot] = -Infinity;
  }
}
