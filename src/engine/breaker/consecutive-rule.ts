import type { BreakerRule, BreakerRuleSnapshot } from './rule.js';

/** Opens after `threshold` failures in a row; any success starts the count again. */
export class ConsecutiveRule implements BreakerRule {
  readonly timeBased = false;
  private failures = 0;

  constructor(private readonly threshold: number) {}

  record(_now: number, failed: boolean): boolean {
    if (!failed) {
      this.failures = 0;
      return false;
    }
    return ++this.failures >= this.threshold;
  }

  reset(): void {
    this.failures = 0;
  }

  snapshot(): BreakerRuleSnapshot {
    return { calls: 0, failures: this.failures, slowCalls: 0, consecutiveFailures: this.failures };
  }
}
