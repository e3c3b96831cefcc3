// What the fleet benchmark compares and what one variant process reports. Shared by
// the harness (run.ts) and the process (variant.ts).

/** Every variant runs in each round; the harness rotates the order round by round. */
export const VARIANTS = ['local', 'fleet', 'fleet-down'] as const;
export type Variant = (typeof VARIANTS)[number];

export const VARIANT_LABELS: Readonly<Record<Variant, string>> = {
  local: 'local mode (`BREAKWATER_FLEET=false`)',
  fleet: 'fleet mode, Redis healthy',
  'fleet-down': 'fleet mode, Redis unreachable',
};

/** The target: fleet mode with Redis healthy costs at most this much more per call than local mode. */
export const OVERHEAD_TARGET_NS = 1000;

/** What an overhead process measured: `calls` sequential calls after its warm-up. */
export interface Measurement {
  variant: Variant;
  calls: number;
  wallNsPerCall: number;
  cpuNsPerCall: number;
  /** The target's rate decision after the measured calls (`fleet` or `local`): which path was timed. */
  decision: string;
}

/** What a rate process measured: Redis's command counts over `seconds` of calls at `callsPerSecond`. */
export interface RateMeasurement {
  /** `local` or `fleet` (Redis healthy): local mode's CPU is the baseline of fleet mode's background work. */
  variant: Variant;
  callsPerSecond: number;
  seconds: number;
  /** Calls actually started (the open loop's timers may fall behind on a busy machine). */
  calls: number;
  /** Calls per Redis command (lower-case names, `evalsha`), INFO excluded. */
  commands: Record<string, number>;
  /** This process's CPU time per second of the run (ms/s), every thread. */
  cpuMsPerSecond: number;
  decision: string;
}
