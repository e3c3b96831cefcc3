import type { Classification } from '../classify/types.js';
import type { CircuitState } from './breaker/circuit.js';
import type { SuppressReason } from './options.js';
import type { HedgeResult, Outcome } from '../telemetry/names.js';

/** What a policy tells its listeners, as cockatiel's onRetry/onBreak/onGiveUp and opossum's events do. */
export interface PolicyEvents {
  /** A retry is scheduled: `attempt` is the one about to run after `delayMs`. */
  retry: { target: string; client: string; attempt: number; delayMs: number; error: unknown; classification: Classification };
  /** The call failed for good (before any fallback); `reason` is why it was not retried. */
  giveUp: { target: string; attempts: number; reason: SuppressReason; error: unknown; classification: Classification };
  /**
   * An open breaker, a full bulkhead or the target's rate or concurrency limit
   * (LimitedError, code BREAKWATER_LIMITED) turned the call away without calling the
   * operation, or a breaker or a limit turned its retry away (counted as a rejected
   * attempt in resilience.attempts either way).
   */
  rejected: { target: string; client: string; error: Error; classification: Classification };
  /** A fallback's value was used. */
  fallback: { target: string; error: unknown; classification: Classification };
  /** A breaker changed state. */
  transition: { target: string; from: CircuitState; to: CircuitState };
  /** An attempt ended (the pattern detector counts these as Prometheus counts resilience.attempts). */
  attempt: { target: string; client: string; attempt: number; outcome: 'success' | 'failure' | 'cancelled'; classification: Classification | undefined };
  /** What came of a backup attempt (hedge): its answer was used (won), it failed (lost), or another answered first (cancelled). */
  hedge: { target: string; client: string; attempt: number; result: HedgeResult };
  /** A logical call ended, with the outcome its caller saw. */
  settled: { target: string; client: string; outcome: Outcome; attempts: number };
}

export type PolicyEventName = keyof PolicyEvents;
export type PolicyListener<K extends PolicyEventName> = (event: PolicyEvents[K]) => void;

/**
 * Listeners per event. On the success path only `attempt` and `settled` are emitted,
 * and only when someone listens. A listener that throws is ignored: the caller's call
 * must not fail because of an observer.
 */
export class PolicyEmitter {
  private readonly listeners = new Map<PolicyEventName, Set<(event: never) => void>>();

  on<K extends PolicyEventName>(event: K, listener: PolicyListener<K>): () => void {
    let set = this.listeners.get(event);
    if (set === undefined) this.listeners.set(event, (set = new Set()));
    set.add(listener as (event: never) => void);
    return () => set.delete(listener as (event: never) => void);
  }

  /** Whether anyone listens: lets the hot path skip building a payload nobody reads. */
  has(event: PolicyEventName): boolean {
    const set = this.listeners.get(event);
    return set !== undefined && set.size > 0;
  }

  emit<K extends PolicyEventName>(event: K, payload: PolicyEvents[K]): void {
    const set = this.listeners.get(event);
    if (set === undefined) return;
    for (const listener of set) {
      try {
        (listener as PolicyListener<K>)(payload);
      } catch {
        // an observer's bug is not the caller's failure
      }
    }
  }
}
