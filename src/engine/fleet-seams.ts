import type { CircuitState } from './breaker/circuit.js';

/**
 * Seams for per-target state shared beyond the process (fleet mode). The engine says
 * here what it asks of shared state; the runtime injects implementations
 * (PolicyOptions.shared: src/fleet holds them, built on Redis) and the engine never
 * imports them. Without an implementation every decision is this process's alone, as
 * before.
 *
 * Every method is synchronous and does no I/O: they are called on the hot path of a
 * call. An implementation answers from what it holds now (tokens leased ahead, state
 * refreshed in the background) and, when it cannot (its store is down), answers as
 * the local state would: no call ever waits for, or fails because of, the store.
 */

/** Whose decision it was: the fleet's shared state, or this process's alone. */
export type DecisionSource = 'fleet' | 'local';

/** A target's rate shared by the fleet: replaces the policy's hand-set bucket (RateGate's). */
export interface SharedRate {
  /** 0: the attempt may go (its token is taken); else ms to wait before asking again. */
  reserve(now: number): number;
  /** Whose rate reserve() applies now (`local`: a share of it, while the fleet cannot be asked). */
  readonly source: DecisionSource;
}

/** The policy's hand-set rate for one target: the fleet's whole rate and burst. */
export interface SharedRateSettings {
  readonly ratePerSecond: number;
  readonly burst: number;
}

/** What a shared breaker may do to the local one (state learnt from the fleet). */
export interface BreakerControl {
  /**
   * The fleet says the target is down for `remainingMs` more: the local breaker opens
   * until then (or stays open at least that long), so every instance probes when the fleet's period ends.
   */
  open(remainingMs: number): void;
  /** The fleet closed the target's breaker: the local one closes (if it is not closed or isolated). */
  close(): void;
}

/** A target's breaker settings as the engine resolved them: the fleet counts with the same rule. */
export interface SharedBreakerSettings {
  readonly rule:
    | { readonly mode: 'consecutive'; readonly threshold: number }
    | { readonly mode: 'rate'; readonly failureRate: number; readonly minCalls: number; readonly windowMs: number; readonly slowCallMs: number; readonly slowCallRate: number };
  readonly openMs: number;
  readonly maxOpenMs: number;
}

/**
 * A target's breaker as the fleet shares it. The local breaker (breaker/circuit.ts)
 * reports to it and consults it; the fleet's own decisions come back through the
 * BreakerControl it was given.
 */
export interface SharedBreaker {
  /** An attempt's result, as the closed local breaker counted it (fleet-wide failure counting; not probes). */
  record(now: number, failed: boolean, durationMs: number): void;
  /** The local breaker changed state; `byFleet`: because of BreakerControl (not to be told back). */
  transitioned(from: CircuitState, to: CircuitState, byFleet: boolean): void;
  /**
   * Half-open, with a local probe slot free: whether the fleet lets this instance send a
   * probe (probes are limited fleet-wide); false turns the attempt away as if open.
   */
  allowProbe(now: number): boolean;
}

/** A target's retry budget settings (engine/retry-budget.ts); ratio Infinity: retries unbounded, only hedges are limited. */
export interface SharedBudgetSettings {
  readonly ratio: number;
  readonly minPerSecond: number;
  readonly windowMs: number;
}

/**
 * A target's retry budget as the fleet shares it: RetryBudget reports every first
 * attempt, retry and hedge it allowed, and asks it before allowing one.
 */
export interface SharedBudget {
  recordFirstAttempt(now: number): void;
  recordRetry(now: number): void;
  recordHedge(now: number): void;
  /** Whether the fleet's budget has room for one more retry; undefined: no fleet-wide answer now, the local budget decides. */
  allowsRetry(now: number): boolean | undefined;
  /** Whether one more hedge stays within `ratio` of the fleet's first attempts; undefined: the local budget decides. */
  allowsHedge(now: number, ratio: number): boolean | undefined;
}

/**
 * Where a policy's shared state comes from, per target: each is asked when the target's
 * state is made (again, if the engine forgot the target meanwhile: it may hand back the
 * same object, now bound to the new BreakerControl), and undefined keeps that part local.
 */
export interface SharedState {
  rate?(target: string, settings: SharedRateSettings): SharedRate | undefined;
  breaker?(target: string, settings: SharedBreakerSettings, control: BreakerControl): SharedBreaker | undefined;
  budget?(target: string, settings: SharedBudgetSettings): SharedBudget | undefined;
}
