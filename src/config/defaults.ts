import { BREAKER_DEFAULTS, HEDGE_DEFAULTS, LIMIT_DEFAULTS, MAX_TARGETS_DEFAULT, RETRY_DEFAULTS } from '../engine/defaults.js';
import { GRADIENT_DEFAULTS } from '../engine/gradient-limit.js';
import { INSTRUMENTATIONS } from './fields.js';
import type {
  ConcurrencyLimitMode,
  Instrumentation,
  ResolvedBreaker,
  ResolvedBulkhead,
  ResolvedConcurrencyLimit,
  ResolvedFleet,
  ResolvedHedge,
  ResolvedPolicy,
  ResolvedRateLimit,
  ResolvedRetry,
} from './types.js';

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
  readonly redisDurationMetric: boolean;
  readonly patterns: boolean;
  readonly patternsTimeScale: number;
  /** '' for redisUrl and service: not set (the service then comes from OTEL_SERVICE_NAME). */
  readonly fleet: Readonly<Omit<ResolvedFleet, 'policies'>>;
  readonly policy: Readonly<Omit<ResolvedPolicy, 'retry' | 'breaker' | 'bulkhead' | 'concurrencyLimit' | 'rateLimit' | 'hedge'>> & {
    readonly retry: Readonly<ResolvedRetry>;
    readonly breaker: Readonly<Omit<ResolvedBreaker, 'failureCategories'>>;
    readonly bulkhead: Readonly<ResolvedBulkhead>;
    readonly concurrencyLimit: Readonly<Omit<ResolvedConcurrencyLimit, 'mode'>> & { readonly mode: ConcurrencyLimitMode };
    readonly rateLimit: Readonly<ResolvedRateLimit>;
    readonly hedge: Readonly<Omit<ResolvedHedge, 'enabled'>> & { readonly enabled: boolean };
  };
}

/**
 * What breakwater does when neither the environment nor a file says otherwise
 * (documented in docs/configuration.md). `bulkhead.maxConcurrent: 0` means no bulkhead,
 * `concurrencyLimit.mode: off` no concurrency limit, no rate and no `fromHeaders` no rate
 * limit, `hedge.enabled: false` no hedging; a resolved policy shows each as `false`.
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
  redisDurationMetric: false,
  patterns: false,
  patternsTimeScale: 1,
  fleet: { redisUrl: '', redisCluster: false, service: '', expectedInstances: 1, syncMs: 250 },
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
    concurrencyLimit: {
      mode: 'off',
      // The gradient's settings a user may tune; the others stay GRADIENT_DEFAULTS in the engine.
      initialLimit: GRADIENT_DEFAULTS.initialLimit,
      minLimit: GRADIENT_DEFAULTS.minLimit,
      maxLimit: GRADIENT_DEFAULTS.maxLimit,
      buffer: GRADIENT_DEFAULTS.buffer,
      sampleWindowMs: GRADIENT_DEFAULTS.sampleWindowMs,
      minRttIntervalMs: GRADIENT_DEFAULTS.minRttIntervalMs,
      maxQueue: LIMIT_DEFAULTS.maxQueue,
      maxWaitMs: LIMIT_DEFAULTS.maxWaitMs,
    },
    rateLimit: { ratePerSecond: 0, burst: LIMIT_DEFAULTS.rateBurst, fromHeaders: false, maxWaitMs: LIMIT_DEFAULTS.rateMaxWaitMs },
    hedge: { enabled: false, ...HEDGE_DEFAULTS },
    fleet: false,
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
