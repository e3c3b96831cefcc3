import type { BreakerMode, JitterMode } from './options.js';

/**
 * The engine's defaults for what a policy leaves out, and the configuration's built-in
 * defaults (src/config/defaults.ts builds on these): one place for each number.
 * Timeouts are the exception: createPolicy sets none unless asked, while the
 * configuration (what automatic instrumentation uses) has its own.
 */
export const RETRY_DEFAULTS = {
  maxAttempts: 3,
  baseDelayMs: 100,
  maxDelayMs: 10_000,
  multiplier: 2,
  jitter: 'full' as JitterMode,
  budgetRatio: 0.2,
  budgetMinPerSecond: 10,
  budgetWindowMs: 10_000,
} as const;

export const BREAKER_DEFAULTS = {
  mode: 'rate' as BreakerMode,
  threshold: 5,
  failureRate: 0.5,
  minCalls: 20,
  windowMs: 30_000,
  slowCallMs: 0,
  slowCallRate: 1,
  openMs: 5_000,
  maxOpenMs: 60_000,
  halfOpenProbes: 1,
} as const;

export const HEDGE_DEFAULTS = {
  delayMs: 'adaptive' as number | 'adaptive',
  percentile: 0.95,
  minDelayMs: 1,
  maxDelayMs: 10_000,
  minSamples: 20,
  maxHedges: 1,
  budgetRatio: 0.1,
} as const;

/** Overload protection (the gradient's own defaults are GRADIENT_DEFAULTS in gradient-limit.ts). */
export const LIMIT_DEFAULTS = {
  /** A short queue: waiting long for a slot only moves the overload into the caller. */
  maxQueue: 64,
  maxWaitMs: 50,
  rateBurst: 1,
  rateMaxWaitMs: 1_000,
} as const;

/** Per-target state kept by one policy (LRU past this). */
export const MAX_TARGETS_DEFAULT = 1000;
