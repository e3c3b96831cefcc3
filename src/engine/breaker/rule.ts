/**
 * A breaker's counting rule: it only answers "should the breaker open?" after each
 * result. The open / half-open state machine is written once, in circuit.ts.
 */
export interface BreakerRule {
  /** Whether record() reads `now` or the duration; if not, the engine skips reading the clock on successes. */
  readonly timeBased: boolean;
  /** Records an attempt's result; true when the breaker should open. */
  record(now: number, failed: boolean, durationMs: number): boolean;
  /** Forgets everything (on close). */
  reset(): void;
  /** For stats: what the rule currently sees. */
  snapshot(now: number): BreakerRuleSnapshot;
}

export interface BreakerRuleSnapshot {
  readonly calls: number;
  readonly failures: number;
  readonly slowCalls: number;
  readonly consecutiveFailures: number;
}
