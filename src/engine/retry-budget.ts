import { WindowCounter } from './window-counter.js';

const FIRST_ATTEMPTS = 0;
const RETRIES = 1;

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
 */
export class RetryBudget {
  private readonly window: WindowCounter;
  private readonly floor: number;

  constructor(private readonly settings: RetryBudgetSettings) {
    this.window = new WindowCounter(settings.windowMs, 10, 2);
    this.floor = settings.minPerSecond * (settings.windowMs / 1000);
  }

  recordFirstAttempt(now: number): void {
    this.window.add(now, FIRST_ATTEMPTS);
  }

  /** Takes one retry from the budget if there is room; false means the retry must not happen. */
  tryAcquireRetry(now: number): boolean {
    const allowed = this.settings.ratio * this.window.total(now, FIRST_ATTEMPTS) + this.floor;
    if (this.window.total(now, RETRIES) + 1 > allowed) return false;
    this.window.add(now, RETRIES);
    return true;
  }

  stats(now: number): { firstAttempts: number; retries: number } {
    return { firstAttempts: this.window.total(now, FIRST_ATTEMPTS), retries: this.window.total(now, RETRIES) };
  }
}
