import type { Classification, ErrorCategory } from '../classify/types.js';
import type { Clock } from './clock.js';
import type { GradientLimitSettings } from './gradient-limit.js';
import type { SharedState } from './fleet-seams.js';

export const JITTER_MODES = ['none', 'full', 'equal', 'decorrelated'] as const;
export type JitterMode = (typeof JITTER_MODES)[number];

export const BREAKER_MODES = ['consecutive', 'rate', 'off'] as const;
export type BreakerMode = (typeof BREAKER_MODES)[number];

/** Why a retry did not happen (design.md section 4, `resilience.retry.suppressed`). */
export const SUPPRESS_REASONS = [
  'not_idempotent',
  'in_transaction',
  'budget',
  'limited',
  'deadline',
  'breaker_open',
  'max_attempts',
  'not_transient',
] as const;
export type SuppressReason = (typeof SUPPRESS_REASONS)[number];

export interface RetryOptions {
  /** Attempts in all, the first included. 1 disables retries. */
  maxAttempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Exponential growth factor of the backoff. */
  multiplier?: number;
  jitter?: JitterMode;
  /** Retries may not exceed this share of recent first attempts, per target. */
  budgetRatio?: number;
  /** Retries always allowed per second per target, whatever the ratio (a floor for low traffic). */
  budgetMinPerSecond?: number;
  /** The window over which the budget counts first attempts and retries. */
  budgetWindowMs?: number;
}

export interface BreakerOptions {
  mode?: BreakerMode;
  /** consecutive: failures in a row that open the breaker. */
  threshold?: number;
  /** rate: failure share over the window that opens the breaker (0..1]. */
  failureRate?: number;
  /** rate: calls needed in the window before a rate is judged. */
  minCalls?: number;
  /** rate: sliding window length. */
  windowMs?: number;
  /** rate: an attempt slower than this counts as slow (0 = off). */
  slowCallMs?: number;
  /** rate: slow share over the window that opens the breaker (0..1]. */
  slowCallRate?: number;
  /** First open period; doubles on each re-open without a close in between. */
  openMs?: number;
  /** Cap on the open period. */
  maxOpenMs?: number;
  /** Concurrent probes admitted half-open; that many successes close the breaker. */
  halfOpenProbes?: number;
  /** Which classifications count as the dependency's failure. Default: transient ones and external_service. */
  failureCategories?: readonly ErrorCategory[];
  /** Fine control, instead of failureCategories. */
  isFailure?: (classification: Classification) => boolean;
}

export interface BulkheadOptions {
  maxConcurrent: number;
  /** Calls that may wait for a slot; past that they are rejected at once. */
  maxQueue?: number;
}

export interface HedgeOptions {
  /**
   * When a backup attempt follows an attempt that has not answered: `'adaptive'` (the
   * default) waits for the `percentile` of the target's recent successful latency; a
   * number waits that many milliseconds.
   */
  delayMs?: number | 'adaptive';
  /** adaptive: which percentile of recent latency, 0 < p < 1. Default 0.95. */
  percentile?: number;
  /** adaptive: the delay never goes below this. */
  minDelayMs?: number;
  /** adaptive: nor above this. */
  maxDelayMs?: number;
  /** adaptive: successful attempts a target must have seen before it is hedged. */
  minSamples?: number;
  /** Backup attempts in flight beside the first, at most. Default 1. */
  maxHedges?: number;
  /** A hedge is sent only while retries and hedges together stay within this share of first attempts, per target. */
  budgetRatio?: number;
}

/** The adaptive concurrency limit per target (src/engine/gradient-limit.ts); fields left out take GRADIENT_DEFAULTS. */
export interface ConcurrencyLimitOptions extends Partial<GradientLimitSettings> {
  /** Attempts that may wait for a slot; past that they are turned away at once (LimitedError). */
  maxQueue?: number;
  /** How long an attempt may wait for a slot, within the call's deadline. */
  maxWaitMs?: number;
}

/** A rate limit per target: a hand-set bucket, and (fromHeaders) what the dependency says. */
export interface RateLimitOptions {
  /** Attempts per second, on average; 0 or absent: no hand-set limit. */
  ratePerSecond?: number;
  /** Attempts that may go at once after a quiet spell. */
  burst?: number;
  /** Whether a 429/503's Retry-After and the RateLimit / X-RateLimit headers limit the target's attempts. */
  fromHeaders?: boolean;
  /** How long an attempt may wait for its turn; a longer wait (or one past the deadline) fails it at once. */
  maxWaitMs?: number;
}

export type Fallback<T> = (error: unknown, classification: Classification) => T | Promise<T>;

export type Classifier = (failure: unknown, hints?: import('../classify/types.js').ClassifyHints) => Classification;

export interface PolicyOptions<T = unknown> {
  /** Names the policy in telemetry (`resilience.policy`). */
  name?: string;
  retry?: RetryOptions | false;
  /** Per attempt; 0 or absent = none. */
  timeoutMs?: number;
  /** Across all attempts and waits; 0 or absent = none. */
  deadlineMs?: number;
  breaker?: BreakerOptions | false;
  bulkhead?: BulkheadOptions | false;
  /** An adaptive limit on attempts in flight per target, found from latency. Off unless given. */
  concurrencyLimit?: ConcurrencyLimitOptions | false;
  /** A rate limit per target, hand-set and/or fed by the dependency's headers. Off unless given. */
  rateLimit?: RateLimitOptions | false;
  /** Backup attempts for slow calls that are safe to send twice at once (reads). Off unless given. */
  hedge?: HedgeOptions | false;
  fallback?: Fallback<T>;
  /** Bound on the per-target state kept (breakers, budgets, bulkheads): least recently used idle ones go first, open breakers never. */
  maxTargets?: number;
  /** A target not called for this long starts afresh (its state is forgotten) unless its breaker is open; default never. */
  targetIdleMs?: number;
  /** Replace the built-in classifier (for instance one built with user rules by createClassifier). */
  classifier?: Classifier;
  /**
   * Per-target state shared with the other instances of the service (fleet mode: the
   * runtime injects src/fleet's, built on Redis); every decision is local without it.
   */
  shared?: SharedState;
  /** Injected time, for tests. */
  clock?: Clock;
  /** Injected randomness in [0, 1), for tests. */
  random?: () => number;
  /** false turns telemetry off for this policy. */
  telemetry?: boolean;
}
