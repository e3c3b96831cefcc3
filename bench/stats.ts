// Statistics the benchmarks report: percentiles of one run's samples, and the min and
// median of one figure over rounds.

/**
 * The `q` quantile (0 < q <= 1) of ascending `sorted` by nearest rank: the smallest
 * sample with at least q of all samples at or below it, so p99.9 of 10,000 calls is the
 * 9,990th fastest (an actual latency, never an interpolation between two). NaN when empty.
 */
export function percentile(sorted: readonly number[], q: number): number {
  if (!(q > 0 && q <= 1)) throw new RangeError(`a percentile is a share in (0, 1], got ${q}`);
  if (sorted.length === 0) return NaN;
  // The epsilon keeps 0.999 * 10000 (9990.000000000002 in binary) at rank 9990.
  const rank = Math.max(1, Math.ceil(q * sorted.length - 1e-9));
  return sorted[rank - 1]!;
}

export interface Summary {
  min: number;
  median: number;
}

/** Min and median of one figure over rounds. */
export function summarise(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  // An even count (a shortened run) takes the mean of the two middle rounds.
  const median = sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  return { min: sorted[0]!, median };
}
