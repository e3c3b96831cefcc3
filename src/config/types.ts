import type { BreakerMode, JitterMode, PolicyOptions } from '../engine/options.js';
import type { ErrorCategory } from '../classify/types.js';
import type { ClassificationRule } from '../classify/rule-types.js';
import type { Instrumentation } from './fields.js';

export type { ConcurrencyLimitMode, Instrumentation } from './fields.js';

/** RetryOptions with every field filled in. `maxAttempts: 1` means no retries. */
export interface ResolvedRetry {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  multiplier: number;
  jitter: JitterMode;
  budgetRatio: number;
  budgetMinPerSecond: number;
  budgetWindowMs: number;
}

/** BreakerOptions with every field filled in; `mode: 'off'` means no breaker. */
export interface ResolvedBreaker {
  mode: BreakerMode;
  threshold: number;
  failureRate: number;
  minCalls: number;
  windowMs: number;
  /** 0 = no slow-call rule. */
  slowCallMs: number;
  slowCallRate: number;
  openMs: number;
  maxOpenMs: number;
  halfOpenProbes: number;
  /** Only present when the file sets it; absent, the engine's default applies (transient failures and external_service). */
  failureCategories?: ErrorCategory[];
}

export interface ResolvedBulkhead {
  maxConcurrent: number;
  /** 0 = a call that finds every slot taken is rejected at once. */
  maxQueue: number;
}

/**
 * The adaptive concurrency limit, every configurable field filled in, for a policy that
 * has one (`mode` stays, as hedge's `enabled` does; the engine ignores it). The
 * gradient's other settings are GRADIENT_DEFAULTS (src/engine/gradient-limit.ts).
 */
export interface ResolvedConcurrencyLimit {
  mode: 'adaptive';
  /** The limit after the first probe of the no-load latency. */
  initialLimit: number;
  minLimit: number;
  maxLimit: number;
  /** How much slower than the no-load latency a window may be before the limit shrinks (0.25: 25%). */
  buffer: number;
  sampleWindowMs: number;
  /** Time between two probes of the no-load latency. */
  minRttIntervalMs: number;
  /** Attempts that may wait for a slot; 0 = none. */
  maxQueue: number;
  /** How long one may wait, within the call's deadline. */
  maxWaitMs: number;
}

/** RateLimitOptions with every field filled in, for a policy with a hand-set rate, or fromHeaders, or both. */
export interface ResolvedRateLimit {
  /** Attempts per second per target; 0 = no hand-set rate (only the dependency's headers limit). */
  ratePerSecond: number;
  burst: number;
  fromHeaders: boolean;
  /** How long an attempt may wait for its turn; a longer wait fails it at once. */
  maxWaitMs: number;
}

/**
 * HedgeOptions with every field filled in, for a policy that hedges (`enabled` stays, so
 * a printed policy reads back as it was; the engine ignores it).
 */
export interface ResolvedHedge {
  enabled: true;
  /** `'adaptive'`: the `percentile` of the target's recent latency, within min/maxDelayMs. */
  delayMs: number | 'adaptive';
  percentile: number;
  minDelayMs: number;
  maxDelayMs: number;
  minSamples: number;
  maxHedges: number;
  budgetRatio: number;
}

/**
 * A policy with every value decided: plain data (no functions), printable as JSON, and
 * assignable to PolicyOptions so it can be handed to the engine as it is.
 */
export interface ResolvedPolicy {
  /** `resilience.policy` in telemetry. */
  name: string;
  telemetry: boolean;
  /** Per attempt; 0 = none. */
  timeoutMs: number;
  /** Across all attempts and waits; 0 = none. */
  deadlineMs: number;
  retry: ResolvedRetry;
  breaker: ResolvedBreaker;
  /** `false`: no bulkhead (maxConcurrent 0 in the configuration). */
  bulkhead: ResolvedBulkhead | false;
  /** `false`: no adaptive concurrency limit (`concurrencyLimit.mode` off in the configuration, the default). */
  concurrencyLimit: ResolvedConcurrencyLimit | false;
  /** `false`: no rate limit (no hand-set rate and fromHeaders false, the default). */
  rateLimit: ResolvedRateLimit | false;
  /** `false`: no hedging (`hedge.enabled` false in the configuration, the default). */
  hedge: ResolvedHedge | false;
  /** Whether the policy's state is shared by the fleet (fleet mode, needs `fleet.redisUrl`): its rate limit is then the fleet's. */
  fleet: boolean;
}

/**
 * Fleet mode's settings (docs/fleet-setup.md), present when a Redis URL is configured.
 * Plain data: the URL's credentials are not here (the endpoint is read with
 * fleetEndpoint(config), src/config/fleet.ts).
 */
export interface ResolvedFleet {
  /** `redis://host:port/db` (`rediss://` with TLS): the URL without its user name and password. */
  redisUrl: string;
  /** The URL names one node of a Redis Cluster: commands go to the node of each target's slot (src/fleet/cluster-client.ts). */
  redisCluster: boolean;
  /** Namespaces the fleet's keys in Redis: BREAKWATER_FLEET_SERVICE, else OTEL_SERVICE_NAME. */
  service: string;
  /** Instances sharing each quota: an instance cut off from Redis takes 1/expectedInstances of it. */
  expectedInstances: number;
  /** How often shared state (breakers) is refreshed from Redis, in ms. */
  syncMs: number;
  /** The names of the policies in fleet mode (`fleet: true`), defaults first, in file order. */
  policies: string[];
}

export interface EffectiveConfig {
  enabled: boolean;
  instrumentations: Instrumentation[];
  /** Bound on distinct target labels in telemetry; past it new targets share the `other` label (their state stays their own). */
  maxTargets: number;
  /** Bound on targets whose breaker, budget and bulkhead are kept, per policy (an LRU that never evicts an open breaker). */
  maxTargetStates: number;
  /** A target not called for this long is forgotten (starts afresh) unless its breaker is open; 0 = never. */
  targetIdleMs: number;
  /** register: how long the last flush and the shutdown of telemetry may take at exit or on a signal (also the export timeout of the SDK it starts). */
  shutdownTimeoutMs: number;
  /** The status endpoint's port (register); 0 = none. */
  statusPort: number;
  /** The address it binds; loopback unless told otherwise (anything else needs BREAKWATER_STATUS_TOKEN). */
  statusHost: string;
  /** Host names a request's Host header may give besides the bind address, loopback names and IP addresses. */
  statusAllowedHosts: string[];
  /** An INTERNAL span per logical call, parent of its attempt spans: off unless asked for. */
  callSpans: boolean;
  /** `db.client.operation.duration` per attempt of Redis commands, which the official Redis instrumentations do not record: off unless asked for. */
  redisDurationMetric: boolean;
  /** The in-process pattern detector (src/patterns): off unless asked for. */
  patterns: boolean;
  /** How many times faster than the wall clock the detector's minutes pass (demos and tests: 60 makes a minute a second). */
  patternsTimeScale: number;
  /** Fleet mode: `false` unless a Redis URL is configured (a policy still opts in with `fleet: true`). */
  fleet: ResolvedFleet | false;
  defaults: ResolvedPolicy;
  /** In file order; the first whose `match` glob matches a target key wins. */
  targets: Array<{ match: string; policy: ResolvedPolicy }>;
  /** User classification rules, in file order, validated. */
  rules: ClassificationRule[];
  /**
   * Where each effective value came from, by field key (`timeoutMs`, `retry.maxAttempts`):
   * `default` (built in), the variable's name (`BREAKWATER_RETRY_MAX_ATTEMPTS`), or the
   * file, line and path (`/etc/bw.yaml:9: targets[0].policy.retry`). `targets` follows
   * the order of `targets`.
   */
  origins: {
    top: Record<string, string>;
    defaults: Record<string, string>;
    targets: Array<Record<string, string>>;
  };
  sources: {
    /** Absolute path of the configuration file, when BREAKWATER_CONFIG is set. */
    file?: string;
    /** The BREAKWATER_* variables that were set (non-empty), sorted. */
    env: string[];
  };
}

export interface LoadConfigOptions {
  /** Reads the configuration file (UTF-8 text); default `readConfigText` (read-file.ts: a regular file of at most 1 MiB). */
  readFile?: (path: string) => string;
}

// Compile-time proof that a resolved policy can be passed to the engine unchanged.
type AssertTrue<T extends true> = T;
type ResolvedPolicyIsPolicyOptions = AssertTrue<ResolvedPolicy extends PolicyOptions ? true : false>;
