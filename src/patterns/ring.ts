/**
 * A counter's cumulative value at each of the last `length` minutes: what Prometheus
 * would have scraped once a minute. An increase over W minutes at minute t is
 * at(t) - at(t - W), as `increase(x[Wm])` is on one-minute samples, so every window the
 * rules use costs two reads, never a sum over buckets.
 *
 * Memory is fixed at construction (one Float64Array); minutes are written lazily, when a
 * count arrives, so an idle counter costs nothing per minute.
 */
export class MinuteRing {
  private readonly values: Float64Array;
  private total = 0;
  /** The minute of the newest write; every minute after it holds `total`. */
  private last: number;

  constructor(
    readonly length: number,
    /** The minute the counter appeared: before it, its value is 0 (a counter starts at 0). */
    readonly born: number,
  ) {
    this.values = new Float64Array(length);
    this.last = born;
  }

  add(minute: number, count: number): void {
    if (minute < this.last) minute = this.last; // a late count joins the newest minute rather than rewrite history
    // Minutes skipped since the last write held the total unchanged (at most one lap).
    for (let m = Math.max(this.last + 1, minute - this.length + 1); m < minute; m++) this.values[m % this.length] = this.total;
    this.total += count;
    this.values[minute % this.length] = this.total;
    this.last = minute;
  }

  /** The cumulative value at the end of `minute`; NaN when that minute has left the ring. */
  at(minute: number): number {
    if (minute >= this.last) return this.total;
    if (minute < this.born) return 0;
    if (minute <= this.last - this.length) return Number.NaN;
    return this.values[minute % this.length] ?? Number.NaN;
  }

  /** The increase over the `window` minutes ending with `minute`. */
  increase(minute: number, window: number): number {
    return this.at(minute) - this.at(minute - window);
  }
}
