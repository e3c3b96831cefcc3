// The rate-limited dependency's own limit: a token bucket of a stated rate, and what it
// tells its callers in headers. Written for the benchmark, independently of breakwater's
// RateGate (the thing measured), and pure: every method takes the clock's `now` in ms.

/** What the bucket says about one request. */
export interface BucketAnswer {
  /** Whether a token was taken: the request is served. */
  ok: boolean;
  /** Whole tokens left after this request (RateLimit-Remaining). */
  remaining: number;
  /** Whole seconds until the bucket is full again (RateLimit-Reset), 0 when it is. */
  resetSeconds: number;
  /** Refused only: whole seconds until a token is there (Retry-After), at least 1. */
  retryAfterSeconds?: number;
}

/**
 * `ratePerSecond` tokens a second, at most `burst` held. The bucket holds one second's
 * tokens in the benchmark (burst = rate), so "Remaining R, Reset in T s" reads as the
 * quota of a one-second window, as the RateLimit headers' drafts describe it, and whole
 * seconds (the headers' unit) are fine enough to state it.
 */
export class TokenBucket {
  private tokens: number;
  private at = Number.NEGATIVE_INFINITY;

  constructor(
    readonly ratePerSecond: number,
    readonly burst: number,
  ) {
    if (!(ratePerSecond > 0) || !(burst >= 1)) throw new RangeError(`a bucket needs a positive rate and a burst of at least 1, got ${ratePerSecond}, ${burst}`);
    this.tokens = burst;
  }

  take(now: number): BucketAnswer {
    if (now > this.at) {
      this.tokens = this.at === Number.NEGATIVE_INFINITY ? this.burst : Math.min(this.burst, this.tokens + ((now - this.at) * this.ratePerSecond) / 1000);
      this.at = now;
    }
    const ok = this.tokens >= 1;
    if (ok) this.tokens -= 1;
    const secondsTo = (tokens: number): number => Math.max(0, Math.ceil((tokens - this.tokens) / this.ratePerSecond - 1e-9));
    const answer: BucketAnswer = { ok, remaining: Math.floor(this.tokens), resetSeconds: secondsTo(this.burst) };
    return ok ? answer : { ...answer, retryAfterSeconds: Math.max(1, secondsTo(1)) };
  }
}
