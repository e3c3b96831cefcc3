import { WindowCounter } from '../window-counter.js';
import type { BreakerRule, BreakerRuleSnapshot } from './rule.js';

const CALLS = 0;
const FAILURES = 1;
const SLOW = 2;

export interface RateRuleSettings {
  readonly failureRate: number;
  readonly minCalls: number;
  readonly windowMs: number;
  /** 0 turns slow-call counting off. */
  readonly slowCallMs: number;
  readonly slowCallRate: number;
}

/**
 * Opens when, over a sliding time window holding at least `minCalls` attempts, the
 * failure share reaches `failureRate` or the slow share reaches `slowCallRate`
 * (resilience4j's time-based sliding window, with its slow-call rule).
 */
export class RateRule implements BreakerRule {
  readonly timeBased = true;
  private readonly window: WindowCounter;
  private consecutiveFailures = 0;

  constructor(private readonly settings: RateRuleSettings) {
    this.window = new WindowCounter(settings.windowMs, 10, 3);
  }

  record(now: number, failed: boolean, durationMs: number): boolean {
    const { window, settings } = this;
    const slot = window.advance(now);
    window.addAt(slot, CALLS);
    if (failed) {
      window.addAt(slot, FAILURES);
      this.consecutiveFailures++;
    } else {
      this.consecutiveFailures = 0;
    }
    const slowCounted = settings.slowCallMs > 0;
    if (slowCounted && durationMs >= settings.slowCallMs) window.addAt(slot, SLOW);
    const calls = window.current(CALLS);
    if (calls < settings.minCalls) return false;
    if (window.current(FAILURES) / calls >= settings.failureRate) return true;
    return slowCounted && window.current(SLOW) / calls >= settings.slowCallRate;
  }

  reset(): void {
    this.window.clear();
    this.consecutiveFailures = 0;
  }

  snapshot(now: number): BreakerRuleSnapshot {
    return {
      calls: this.window.total(now, CALLS),
      failures: this.window.total(now, FAILURES),
      slowCalls: this.window.total(now, SLOW),
      consecutiveFailures: this.consecutiveFailures,
    };
  }
}
