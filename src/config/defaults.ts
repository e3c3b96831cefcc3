import { INSTRUMENTATIONS } from './fields.js';
import type { Instrumentation, ResolvedBreaker, ResolvedBulkhead, ResolvedPolicy, ResolvedRetry } from './types.js';

/** The shape of BUILT_IN_DEFAULTS: a value for every field (so adding a field without a default fails to compile). */
export interface BuiltInDefaults {
  readonly enabled: boolean;
  readonly instrumentations: readonly Instrumentation[];
  readonly maxTargets: number;
  readonly policy: Readonly<Omit<ResolvedPolicy, 'retry' | 'breaker' | 'bulkhead'>> & {
    readonly retry: Readonly<ResolvedRetry>;
    readonly breaker: Readonly<Omit<ResolvedBreaker, 'failureCategories'>>;
    readonly bulkhead: Readonly<ResolvedBulkhead>;
  };
}

/**
 * What breakwater does when neither the environment nor a file says otherwise
 * (documented in docs/configuration.md). `bulkhead.maxConcurrent: 0` means no bulkhead;
 * a resolved policy shows it as `bulkhead: false`.
 */
export const BUILT_IN_DEFAULTS: BuiltInDefaults = deepFreeze({
  enabled: true,
  instrumentations: [...INSTRUMENTATIONS],
  maxTargets: 1000,
  policy: {
    name: 'default',
    telemetry: true,
    timeoutMs: 10_000,
    deadlineMs: 30_000,
    retry: {
      maxAttempts: 3,
      baseDelayMs: 100,
      maxDelayMs: 10_000,
      multiplier: 2,
      jitter: 'full',
      budgetRatio: 0.2,
      budgetMinPerSecond: 10,
      budgetWindowMs: 10_000,
    },
    breaker: {
      mode: 'rate',
      threshold: 5,
      failureRate: 0.5,
      minCalls: 20,
      windowMs: 30_000,
      slowCallMs: 0,
      slowCallRate: 1,
      openMs: 5_000,
      maxOpenMs: 60_000,
      halfOpenProbes: 1,
    },
    bulkhead: {
      maxConcurrent: 0,
      maxQueue: 0,
    },
  },
});

/** Freezes an object graph (plain data only), so a shared configuration cannot drift. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
