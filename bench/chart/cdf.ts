/**
 * Empirical CDF points for a latency chart: (value, fraction of samples <= value).
 */

/**
 * The CDF of `samples` (non-finite ones dropped) as [value, fraction] points in
 * ascending order; the i-th smallest of n samples has fraction (i + 1) / n, so the
 * maximum sits at fraction 1. (On a 'nines' axis that point has no finite position
 * and is left out: the curve ends at the second-largest sample, fraction (n-1)/n.)
 *
 * Above `maxPoints` samples the points are thinned: half spread evenly over the
 * samples (the body, as a linear axis shows it), half spread evenly in log(1 - p)
 * (the tail, as a nines axis shows it), and the last 32 always kept, so the extreme
 * tail is exact whatever the sample count.
 */
export function cdfPoints(samples: readonly number[], maxPoints = 2000): [number, number][] {
  const sorted = samples.filter(Number.isFinite).sort((a, b) => a - b);
  const n = sorted.length;
  const point = (i: number): [number, number] => [sorted[i]!, (i + 1) / n];
  const budget = Math.max(2, Math.floor(maxPoints));
  if (n <= budget) return sorted.map((_, i) => point(i));

  const keep = new Set<number>();
  const last = Math.min(32, budget);
  for (let i = n - last; i < n; i++) keep.add(i);
  const even = Math.floor((budget - last) / 2);
  const tail = budget - last - even;
  for (let k = 0; k < even; k++) keep.add(Math.round((k * (n - 1)) / Math.max(1, even - 1)));
  // Index i leaves q = (n - 1 - i) / n above it; step q geometrically from 1 down to 1/n.
  for (let k = 0; k < tail; k++) {
    const q = 10 ** ((-k / Math.max(1, tail - 1)) * Math.log10(n));
    keep.add(Math.min(n - 1, Math.max(0, Math.round(n - 1 - q * n))));
  }
  return [...keep].sort((a, b) => a - b).map(point);
}
