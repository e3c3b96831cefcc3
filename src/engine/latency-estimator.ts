/**
 * A streaming estimate of a target's recent attempt latency, for the adaptive hedge
 * delay: a histogram of log-spaced buckets (each 10% wider than the last, so any
 * quantile is within 10% of the truth) whose counts are halved every `halfLife`
 * samples, so old latency fades and a target that slows down or speeds up is followed
 * within a few hundred calls. Bounded memory (one small array per target), no timers,
 * O(1) per sample; a quantile is recomputed at most every 16 samples.
 */

const MIN_MS = 0.01;
const GROWTH = 1.1;
const LOG_GROWTH = Math.log(GROWTH);
/** 0.01 ms to about 10 minutes. */
const BUCKETS = Math.ceil(Math.log(600_000 / MIN_MS) / LOG_GROWTH) + 1;
const REFRESH_EVERY = 16;

export class LatencyEstimator {
  private readonly counts = new Float32Array(BUCKETS);
  private total = 0;
  private samples = 0;
  private sinceDecay = 0;
  private readonly cached = new Map<number, number>();
  private sinceRefresh = 0;

  constructor(private readonly halfLife = 500) {}

  /** Successful attempts seen (not decayed). */
  get sampleCount(): number {
    return this.samples;
  }

  record(ms: number): void {
    if (!(ms >= 0) || ms === Infinity) return;
    this.counts[bucketOf(ms)]! += 1;
    this.total += 1;
    this.samples++;
    if (++this.sinceDecay >= this.halfLife) this.decay();
    // Early on every sample counts; later a quantile moves little in 16 samples.
    if (++this.sinceRefresh >= REFRESH_EVERY || this.samples <= REFRESH_EVERY) {
      this.sinceRefresh = 0;
      this.cached.clear();
    }
  }

  /**
   * The latency below which `q` (0..1) of recent samples fell: the upper edge of the
   * bucket holding that rank, so a hedge errs late rather than early. NaN before any sample.
   */
  quantile(q: number): number {
    let found = this.cached.get(q);
    if (found === undefined) {
      found = this.compute(q);
      this.cached.set(q, found);
    }
    return found;
  }

  private compute(q: number): number {
    if (this.total <= 0) return NaN;
    const rank = Math.min(Math.max(q, 0), 1) * this.total;
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank && this.counts[i]! > 0) return upperEdge(i);
    }
    return upperEdge(BUCKETS - 1);
  }

  private decay(): void {
    this.sinceDecay = 0;
    let total = 0;
    for (let i = 0; i < BUCKETS; i++) {
      const halved = this.counts[i]! / 2;
      // Crumbs below a hundredth of a sample are dropped so an old outlier leaves in time.
      this.counts[i] = halved < 0.01 ? 0 : halved;
      total += this.counts[i]!;
    }
    this.total = total;
    this.cached.clear();
  }
}

function bucketOf(ms: number): number {
  if (ms <= MIN_MS) return 0;
  return Math.min(BUCKETS - 1, Math.floor(Math.log(ms / MIN_MS) / LOG_GROWTH) + 1);
}

function upperEdge(bucket: number): number {
  return MIN_MS * GROWTH ** bucket;
}
