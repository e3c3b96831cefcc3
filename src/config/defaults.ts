import { BREAKER_DEFAULTS, HEDGE_DEFAULTS, MAX_TARGETS_DEFAULT, RETRY_DEFAULTS } from '../engine/defaults.js';
import { INSTRUMENTATIONS } from './fields.js';
import type { Instrumentation, ResolvedBreaker, ResolvedBulkhead, ResolvedHedge, ResolvedPolicy, ResolvedRetry } from './types.js';

/** The shape of BUILT_IN_DEFAULTS: a value for every field (so adding a field without a default fails to compile). */
export interface BuiltInDefaults {
  readonly enabled: boolean;
  readonly instrumentations: readonly Instrumentation[];
  readonly maxTargets: number;
  readonly maxTargetStates: number;
  readonly targetIdleMs: number;
  readonly shutdownTimeoutMs: number;
  readonly statusPort: number;
  readonly statusHost: string;
  readonly statusAllowedHosts: readonly string[];
  readonly callSpans: boolean;
  readonly patterns: boolean;
  readonly patternsTimeScale: number;
  readonly policy: Readonly<Omit<ResolvedPolicy, 'retry' | 'breaker' | 'bulkhead' | 'hedge'>> & {
    readonly retry: Readonly<ResolvedRetry>;
    readonly breaker: Readonly<Omit<ResolvedBreaker, 'failureCategories'>>;
    readonly bulkhead: Readonly<ResolvedBulkhead>;
    readonly hedge: Readonly<Omit<ResolvedHedge, 'enabled'>> & { readonly enabled: boolean };
  };
}

/**
 * What breakwater does when neither the environment nor a file says otherwise
 * (documented in docs/configuration.md). `bulkhead.maxConcurrent: 0` means no bulkhead,
 * `hedge.enabled: false` no hedging; a resolved policy shows them as `bulkhead: false`,
 * `hedge: false`.
 */
export const BUILT_IN_DEFAULTS: BuiltInDefaults = deepFreeze({
  enabled: true,
  instrumentations: [...INSTRUMENTATIONS],
  maxTargets: MAX_TARGETS_DEFAULT,
  maxTargetStates: 10_000,
  targetIdleMs: 600_000,
  shutdownTimeoutMs: 2_000,
  statusPort: 0,
  statusHost: '127.0.0.1',
  statusAllowedHosts: [],
  callSpans: false,
  patterns: false,
  patternsTimeScale: 1,
  policy: {
    name: 'default',
    telemetry: true,
    timeoutMs: 10_000,
    deadlineMs: 30_000,
    retry: { ...RETRY_DEFAULTS },
    breaker: { ...BREAKER_DEFAULTS },
    bulkhead: {
      maxConcurrent: 0,
      maxQueue: 0,
    },
    hedge: { enabled: false, ...HEDGE_DEFAULTS },
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
