import type { DecisionSource, SharedBudget } from './fleet-seams.js';
import { WindowCounter } from './window-counter.js';

const FIRST_ATTEMPTS = 0;
const RETRIES = 1;
const HEDGES = 2;

export interface RetryBudgetSettings {
  /** Retries allowed per first attempt in the window. */
  readonly ratio: number;
  /** Retries always allowed per second, so a quiet service can still retry. */
  readonly minPerSecond: number;
  readonly windowMs: number;
}

/**
 * Storm control per target, after Finagle's RetryBudget and Envoy's retry budgets:
 * within the sliding window, retries <= ratio * first attempts + minPerSecond * window
 * seconds. When a dependency fails for everyone, each caller's own maxAttempts would
 * multiply the load on it; the budget caps the fleet-wide amplification at 1 + ratio.
 *
 * Hedges are extra attempts too (design.md section 4b) and draw on the same window:
 * a retry counts the hedges already sent, and a hedge is sent only while retries and
 * hedges together stay within the hedge share of first attempts, with no floor (a hedge
 * is an optimisation, never owed). A failing target's retries therefore use up the room
 * hedges would need, and hedging stops before it can add to a storm.
 *
 * With a SharedBudget (fleet mode, fleet-seams.ts) every first attempt, retry and hedge
 * allowed is reported to the fleet, and a retry or hedge is the fleet's decision while
 * it can give one (the same rule over the whole fleet's counts); when it cannot (Redis
 * down, not synced yet) this window decides, as without fleet mode.
 */
export class RetryBudget {
  private readonly window: WindowCounter;
  private readonly floor: number;
  /** Whose answer the last tryAcquireRetry/tryAcquireHedge was (for the suppressed-retry metric). */
  source: DecisionSource = 'local';

  constructor(
    private readonly settings: RetryBudgetSettings,
    private readonly shared?: SharedBudget,
  ) {
    this.window = new WindowCounter(settings.windowMs, 10, 3);
    this.floor = settings.minPerSecond * (settings.windowMs / 1000);
  }

  recordFirstAttempt(now: number): void {
    this.window.add(now, FIRST_ATTEMPTS);
    this.shared?.recordFirstAttempt(now);
  }

  /** Takes one retry from the budget if there is room; false means the retry must not happen. */
  tryAcquireRetry(now: number): boolean {
    const fleet = this.shared?.allowsRetry(now);
    this.source = fleet === undefined ? 'local' : 'fleet';
    if (!(fleet ?? this.extraAttempts(now) + 1 <= this.settings.ratio * this.window.total(now, FIRST_ATTEMPTS) + this.floor)) return false;
    // Counted here too, the fleet's retries included: hedges draw on the same window.
    this.window.add(now, RETRIES);
    this.shared?.recordRetry(now);
    return true;
  }

  /** Takes one hedge if retries and hedges together stay within `ratio` of first attempts. */
  tryAcquireHedge(now: number, ratio: number): boolean {
    const fleet = this.shared?.allowsHedge(now, ratio);
    this.source = fleet === undefined ? 'local' : 'fleet';
    if (!(fleet ?? this.extraAttempts(now) + 1 <= ratio * this.window.total(now, FIRST_ATTEMPTS))) return false;
    this.window.add(now, HEDGES);
    this.shared?.recordHedge(now);
    return true;
  }

  stats(now: number): { firstAttempts: number; retries: number; hedges: number } {
    return { firstAttempts: this.window.total(now, FIRST_ATTEMPTS), retries: this.window.total(now, RETRIES), hedges: this.window.total(now, HEDGES) };
  }

  private extraAttempts(now: number): number {
    return this.window.total(now, RETRIES) + this.window.total(now, HEDGES);
  }
}
