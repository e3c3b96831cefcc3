// What the adapter benchmark compares: the clients, the variants of each, and what one
// variant process reports. Shared by the harness (run.ts) and the process (variant.ts).

export type Client = 'http' | 'fetch' | 'pg' | 'ioredis' | 'redis';

/** The order of the table's rows; a run may pick some of them. */
export const CLIENTS: readonly Client[] = ['http', 'fetch', 'pg', 'ioredis', 'redis'];

export const CLIENT_LABELS: Readonly<Record<Client, string>> = {
  http: 'http (`http.get`, keep-alive)',
  fetch: 'fetch (global fetch)',
  pg: 'pg (`SELECT 1`)',
  ioredis: 'ioredis (`GET`)',
  redis: 'node-redis (`GET`)',
};

/**
 * Every variant runs in each round, in this order. `official-plus-duration` is a floor,
 * not a way to run anything: the official instrumentation plus the one metric record per
 * call that breakwater makes beyond it (`resilience.operation.duration`, the logical
 * call's duration, which the telemetry contract asks for), timed around the call and
 * batched as breakwater batches it. What it costs over the official instrumentation
 * alone no implementation of breakwater that records that metric can go under.
 */
export const VARIANTS = ['bare', 'official', 'official-plus-duration', 'breakwater', 'both', 'breakwater-no-sdk'] as const;
export type Variant = (typeof VARIANTS)[number];

export const VARIANT_LABELS: Readonly<Record<Variant, string>> = {
  bare: 'bare',
  official: 'official alone',
  'official-plus-duration': 'official + call duration',
  breakwater: 'breakwater alone',
  both: 'both',
  'breakwater-no-sdk': 'breakwater, no SDK',
};

/** The ratios the targets are stated in: variant over baseline, at most `target`. */
export const RATIOS: ReadonlyArray<{ variant: Variant; baseline: Variant; target: number }> = [
  { variant: 'breakwater', baseline: 'official', target: 1.05 },
  // The floor of the ratio above, against the same target.
  { variant: 'official-plus-duration', baseline: 'official', target: 1.05 },
  { variant: 'both', baseline: 'official', target: 1.1 },
  { variant: 'breakwater-no-sdk', baseline: 'bare', target: 1.05 },
];

/** What one variant process measured: `calls` calls after its warm-up. */
export interface Measurement {
  client: Client;
  variant: Variant;
  calls: number;
  wallNsPerCall: number;
  cpuNsPerCall: number;
  /** The user-mode part of cpuNsPerCall: the JavaScript (and the JIT and GC), not the kernel's socket work. */
  userCpuNsPerCall: number;
}
