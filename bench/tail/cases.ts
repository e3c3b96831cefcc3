// What the tail-latency benchmark compares: the clients, the variants, the latency mix
// the servers draw from, and what one variant process reports. Shared by the harness
// (run.ts), the servers (servers.ts) and the variant process (variant.ts).

/** `http` is global fetch (undici), as before `node-http` joined; `node-http` is node:http's own client. */
export type Client = 'http' | 'node-http' | 'pg';
export const CLIENTS: readonly Client[] = ['http', 'node-http', 'pg'];

export const CLIENT_LABELS: Readonly<Record<Client, string>> = {
  http: 'HTTP (global fetch, `GET`)',
  'node-http': 'HTTP (node:http `get`, keep-alive agent)',
  pg: 'pg (`Pool.query`, one `SELECT`)',
};

/** Every variant runs in each round, in this order. */
export const VARIANTS = ['none', 'adaptive', 'polly'] as const;
export type Variant = (typeof VARIANTS)[number];

/**
 * Polly v8's hedging strategy as most services configure it: one backup (MaxHedgedAttempts
 * = 1) after a fixed HedgingDelay, for every call, with no budget.
 */
export const POLLY_DELAY_MS = 10;

export const VARIANT_LABELS: Readonly<Record<Variant, string>> = {
  none: 'breakwater, no hedging',
  adaptive: 'breakwater, adaptive hedging (p95, budget 0.1)',
  polly: `Polly-style, fixed ${POLLY_DELAY_MS} ms, no budget`,
};

/**
 * The servers' latency mix: each request (a backup too) draws on its own, slow with
 * probability SLOW_SHARE. Two orders of magnitude apart, as a GC pause, a cold cache or
 * a lost packet is against an ordinary answer.
 */
export const FAST_MS = 2;
export const SLOW_MS = 200;
export const SLOW_SHARE = 0.02;

/** The targets, for the hedged variants against `none`. */
export const TARGETS = { p999Reduction: 10, maxExtraLoad: 0.05 } as const;

/** The phase a request belongs to, so the servers count only measured requests. */
export type Phase = 'warmup' | 'measured';

/** What one variant process measured, after its warm-up. */
export interface VariantResult {
  client: Client;
  variant: Variant;
  /** Client-side latency of each measured call in ms, from its scheduled start. */
  latenciesMs: number[];
  errors: number;
  /** The first few distinct error messages, to say what failed. */
  errorSamples: string[];
  /**
   * How late calls started behind their schedule, in ms: the client's own share of the
   * tail (a busy machine that leaves the process waiting for a CPU), which no hedging can cut.
   */
  startLagMs: { p99: number; 'p99.9': number };
  /** Connections the client opened during the measured calls. */
  newConnections: number;
  /**
   * The longest garbage-collection pause of the client process during the measured
   * calls, in ms: a pause holds up every call in flight, hedged or not, and a backup too.
   */
  gcPauseMaxMs: number;
}

/** A variant process's result with what the server counted for it. */
export interface RoundResult extends VariantResult {
  /** Requests the server received in the measured phase. */
  serverRequests: number;
}
