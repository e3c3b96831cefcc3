// What the overload benchmark compares: the dependencies and their fixed capacities, the
// offered loads, the variants and the breakwater settings each one runs with, and what
// a variant process reports. Shared by the harness (run.ts), the servers (servers.ts),
// the variant process (variant.ts) and the report.

export type Dependency = 'http' | 'pg';
export const DEPENDENCIES: readonly Dependency[] = ['http', 'pg'];
/** What the command line may pick: the two dependencies, and the rate-limit experiment. */
export const PARTS = ['http', 'pg', 'rate'] as const;
export type Part = (typeof PARTS)[number];

/**
 * The client the HTTP parts (the dependency and the rate-limit experiment) call with:
 * global fetch by default, node:http's with BENCH_HTTP_CLIENT=node-http (see
 * bench/node-http-client.ts for why both).
 */
export type HttpClient = 'fetch' | 'node-http';

export function httpClientFromEnv(env: NodeJS.ProcessEnv = process.env): HttpClient {
  const value = env['BENCH_HTTP_CLIENT'] || 'fetch';
  if (value !== 'fetch' && value !== 'node-http') throw new Error(`BENCH_HTTP_CLIENT=${value}: expected fetch or node-http`);
  return value;
}

export function dependencyLabel(dependency: Dependency, client: HttpClient = httpClientFromEnv()): string {
  if (dependency === 'pg') return 'pg (`Pool.query`, `SELECT pg_sleep`)';
  return client === 'fetch' ? 'HTTP (global fetch, `GET`)' : 'HTTP (node:http `get`, keep-alive agent)';
}

/** The HTTP server: W workers, S ms of work each (a timer: the bench must not be CPU-bound on 2 cores). */
export const HTTP_WORKERS = 8;
export const HTTP_WORK_MS = 10;
/** A request that waited longer in the server's queue is answered 503 without work, as a real server's queue timeout does. */
export const HTTP_SHED_AFTER_MS = 1000;

/**
 * The PostgreSQL: max_connections 20, of which superuser_reserved_connections (3, the
 * default) are kept for superusers, so the benchmark's role gets 17. Each query sleeps
 * PG_SLEEP_MS: 20 ms rather than 5 so that 3x the capacity (about 2,500 queries a
 * second) is still load a 2-core machine can offer; at 5 ms it would be 10,000.
 */
export const PG_MAX_CONNECTIONS = 20;
export const PG_RESERVED_CONNECTIONS = 3;
export const PG_SLOTS = PG_MAX_CONNECTIONS - PG_RESERVED_CONNECTIONS;
export const PG_SLEEP_MS = 20;
/** The clients' pools: larger than the server's slots, as pools sized per process are once there are a few processes. */
export const PG_POOL_MAX = 50;

/** Concurrency at which each dependency is saturated: its workers, or its connection slots. */
export const SATURATION: Readonly<Record<Dependency, number>> = { http: HTTP_WORKERS, pg: PG_SLOTS };
const WORK_MS: Readonly<Record<Dependency, number>> = { http: HTTP_WORK_MS, pg: PG_SLEEP_MS };

/** Requests per second the dependency completes when saturated: W / S. */
export function capacityPerSecond(dependency: Dependency): number {
  return (SATURATION[dependency] * 1000) / WORK_MS[dependency];
}

/** Offered load, as multiples of the capacity, in the order run. */
export const LOAD_STEPS: readonly number[] = [0.5, 1, 1.5, 2, 3];

/** Every call's bounds, in every variant: no call waits for ever, and a retry fits after a timed-out attempt. */
export const CALL_ENV: Readonly<Record<string, string>> = { BREAKWATER_DEADLINE_MS: '2000', BREAKWATER_TIMEOUT_MS: '1500' };

/** Every variant runs at each step, in this order. */
export const VARIANTS = ['none', 'bulkhead', 'adaptive', 'adaptive-noqueue'] as const;
export type Variant = (typeof VARIANTS)[number];
/** The variants the targets are checked for. */
export const ADAPTIVE_VARIANTS: readonly Variant[] = ['adaptive', 'adaptive-noqueue'];

/** The breakwater settings of each variant, on top of CALL_ENV (retries, breaker: defaults). */
export function variantEnv(variant: Variant, dependency: Dependency): Record<string, string> {
  switch (variant) {
    case 'none':
      return {};
    case 'bulkhead':
      // Tuned for the unloaded dependency: as many calls as it has workers (connections), and a queue as long.
      return { BREAKWATER_BULKHEAD_MAX_CONCURRENT: String(SATURATION[dependency]), BREAKWATER_BULKHEAD_MAX_QUEUE: String(SATURATION[dependency]) };
    case 'adaptive':
      return { BREAKWATER_CONCURRENCY_LIMIT: 'adaptive' };
    case 'adaptive-noqueue':
      // The defaults let an attempt over the limit wait up to 50 ms (queue 64): at 3x that
      // wait is on nearly every admitted call, five times the HTTP server's work. Without a
      // queue an attempt over the limit fails at once, and an admitted one waits only at
      // the dependency.
      return { BREAKWATER_CONCURRENCY_LIMIT: 'adaptive', BREAKWATER_CONCURRENCY_LIMIT_MAX_QUEUE: '0' };
  }
}

export function variantLabel(variant: Variant, dependency: Dependency): string {
  switch (variant) {
    case 'none':
      return 'no limit (retries, breaker: defaults)';
    case 'bulkhead':
      return `static bulkhead ${SATURATION[dependency]}, queue ${SATURATION[dependency]}`;
    case 'adaptive':
      return 'adaptive (defaults: queue 64, wait up to 50 ms)';
    case 'adaptive-noqueue':
      return 'adaptive, no queue';
  }
}

/** The targets for the adaptive variants at the highest load. */
export const TARGETS = { goodputShare: 0.9, p99Ratio: 2 } as const;

/**
 * The rate-limited dependency: a token bucket of RATE_LIMIT_PER_SECOND (one second's worth
 * held), offered RATE_OFFERED_FACTOR times that. It answers 429 with Retry-After over
 * its rate; in the `headers` mode every answer also states RateLimit-Limit, -Remaining
 * and -Reset.
 */
export const RATE_LIMIT_PER_SECOND = 100;
export const RATE_OFFERED_FACTOR = 3;
export const RATE_MODES = ['retry-after', 'headers'] as const;
export type RateMode = (typeof RATE_MODES)[number];
export const RATE_MODE_LABELS: Readonly<Record<RateMode, string>> = {
  'retry-after': '429 + Retry-After only',
  headers: '429 + Retry-After, RateLimit-* on every answer',
};
export const RATE_VARIANTS = ['headers-off', 'headers-on'] as const;
export type RateVariant = (typeof RATE_VARIANTS)[number];
export const RATE_VARIANT_ENV: Readonly<Record<RateVariant, Record<string, string>>> = {
  'headers-off': {},
  'headers-on': { BREAKWATER_RATE_LIMIT_FROM_HEADERS: 'true' },
};

/** Any setting a variant process runs: an overload variant, or one of the rate experiment's. */
export type Setting = Variant | RateVariant;

/** A sample of the adaptive limit: seconds since the first call, the limit, attempts in flight and queued. */
export type LimitSample = readonly [seconds: number, limit: number, inFlight: number, queued: number, minRttMs: number | null, sampleRttMs: number | null];

/** What one variant process measured at one offered load, after its warm-up. */
export interface StepResult {
  /** Calls per second offered. */
  offeredPerSecond: number;
  /** Calls due in the measured part. */
  calls: number;
  successes: number;
  /** Successful calls per second. */
  goodputPerSecond: number;
  /** Latency of the admitted calls (those that succeeded), from their scheduled start, ms. */
  p50Ms: number;
  p99Ms: number;
  /** Failed calls by kind (BREAKWATER_LIMITED, BREAKWATER_TIMEOUT, HTTP 503, 53300, ...). */
  errors: Record<string, number>;
  /** Failed calls of the warm-up by kind: what a cold start (empty pools, no limit learnt) cost. */
  warmupErrors: Record<string, number>;
  /** How late calls started behind their schedule: the client machine's share of the latency. */
  startLagP99Ms: number;
  /** The adaptive limit through the run (warm-up included), when there is one. */
  limitTrace: LimitSample[];
}
