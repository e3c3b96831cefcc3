import type { SharedBreaker } from '../fleet-seams.js';
import type { BreakerRule, BreakerRuleSnapshot } from './rule.js';

export type CircuitState = 'closed' | 'open' | 'half_open';
export const CIRCUIT_STATES: readonly CircuitState[] = ['closed', 'open', 'half_open'];

/** What tryAcquire granted. A probe is a half-open trial call. */
export const REJECTED = 0;
export const ADMITTED = 1;
export const PROBE = 2;
export type Admission = typeof REJECTED | typeof ADMITTED | typeof PROBE;

export interface CircuitSettings {
  readonly openMs: number;
  readonly maxOpenMs: number;
  readonly halfOpenProbes: number;
}

/** Called synchronously on every state change; `cause` is whatever the caller passed in (the attempt that caused it), or BY_FLEET. */
export type TransitionListener = (from: CircuitState, to: CircuitState, cause: unknown) => void;

/** The cause of a transition the fleet's shared breaker asked for (fleetOpened, fleetClosed). */
export const BY_FLEET: unique symbol = Symbol('breakwater.byFleet');

export interface CircuitStats {
  readonly state: CircuitState;
  readonly isolated: boolean;
  /** Opens since the breaker last closed; the open period doubles with each. */
  readonly consecutiveOpens: number;
  /** Until a probe is let through; 0 unless open. */
  readonly openRemainingMs: number;
  readonly probesInFlight: number;
  readonly successes: number;
  readonly failures: number;
  readonly rejections: number;
  readonly window: BreakerRuleSnapshot;
}

/**
 * The breaker state machine, written once for every counting rule:
 * closed --rule says open--> open --openMs passed--> half_open
 * half_open --`halfOpenProbes` probe successes--> closed; --a probe failure--> open
 * (the open period doubles on each re-open, up to maxOpenMs). isolate() holds it open
 * until reset(). No timers: time-based changes happen when someone next looks.
 * Results of attempts admitted before the last transition are ignored, so a slow
 * straggler from the closed period cannot close a breaker that has since opened.
 *
 * With a SharedBreaker (fleet mode, fleet-seams.ts) it also reports every result and
 * transition to the fleet, asks it before letting a half-open probe through, and
 * follows what the fleet decided (fleetOpened, fleetClosed).
 */
export class Circuit {
  state: CircuitState = 'closed';
  /** Bumped on every transition; an admission is only counted in the generation it was made in. */
  generation = 0;
  private openUntil = 0;
  private consecutiveOpens = 0;
  private probesInFlight = 0;
  private probeSuccesses = 0;
  private isolated = false;
  private successes = 0;
  private failures = 0;
  private rejections = 0;

  constructor(
    private readonly rule: BreakerRule,
    private readonly settings: CircuitSettings,
    private readonly onTransition?: TransitionListener,
    private readonly shared?: SharedBreaker,
  ) {}

  /** Applies the time-based open -> half_open change if it is due. */
  refresh(now: number, cause?: unknown): CircuitState {
    if (this.state === 'open' && !this.isolated && now >= this.openUntil) {
      this.probesInFlight = 0;
      this.probeSuccesses = 0;
      this.transition('half_open', cause);
    }
    return this.state;
  }

  tryAcquire(now: number, cause?: unknown): Admission {
    if (this.state === 'closed') return ADMITTED;
    this.refresh(now, cause);
    if (this.state === 'half_open' && this.probesInFlight < this.settings.halfOpenProbes && (this.shared === undefined || this.shared.allowProbe(now))) {
      this.probesInFlight++;
      return PROBE;
    }
    this.rejections++;
    return REJECTED;
  }

  /** Records the result of an admitted attempt (made in `generation`). */
  record(now: number, admission: Admission, generation: number, failed: boolean, durationMs: number, cause?: unknown): void {
    if (failed) this.failures++;
    else this.successes++;
    if (generation !== this.generation) return;
    if (admission === PROBE) {
      this.probesInFlight--;
      if (failed) this.open(now, cause);
      else if (++this.probeSuccesses >= this.settings.halfOpenProbes) this.close(cause);
      return;
    }
    if (this.state !== 'closed') return;
    // The fleet counts what the closed breaker counts: a probe's result is a transition.
    this.shared?.record(now, failed, durationMs);
    if (this.rule.record(now, failed, durationMs)) this.open(now, cause);
  }

  /** Gives back an admission whose result says nothing about the dependency (the caller cancelled). */
  release(admission: Admission, generation: number): void {
    if (admission === PROBE && generation === this.generation) this.probesInFlight--;
  }

  /** Forces the breaker open until reset(). */
  isolate(cause?: unknown): void {
    this.isolated = true;
    this.openUntil = Infinity;
    if (this.state !== 'open') this.transition('open', cause);
  }

  /** Closes the breaker and forgets its history. */
  reset(cause?: unknown): void {
    this.isolated = false;
    this.consecutiveOpens = 0;
    if (this.state !== 'closed') this.close(cause);
    else this.rule.reset();
  }

  /**
   * The fleet says the target is down for `remainingMs` more: opens until then, or, open
   * already, stays open at least that long (the fleet's period is the one every instance
   * follows, so they probe together when it ends, one of them by the fleet's permit).
   */
  fleetOpened(now: number, remainingMs: number): void {
    if (this.isolated) return;
    const until = now + Math.max(0, remainingMs);
    if (this.state === 'open') {
      this.openUntil = Math.max(this.openUntil, until);
      return;
    }
    this.consecutiveOpens++;
    this.openUntil = until;
    this.transition('open', BY_FLEET);
  }

  /** The fleet closed the target's breaker: closes, unless closed already or isolated here. */
  fleetClosed(): void {
    if (this.state !== 'closed' && !this.isolated) this.close(BY_FLEET);
  }

  /** How long until a probe may pass; undefined when isolated or not open. */
  retryAfterMs(now: number): number | undefined {
    if (this.state !== 'open' || this.isolated) return undefined;
    return Math.max(0, this.openUntil - now);
  }

  stats(now: number): CircuitStats {
    this.refresh(now);
    return {
      state: this.state,
      isolated: this.isolated,
      consecutiveOpens: this.consecutiveOpens,
      openRemainingMs: this.state === 'open' ? (this.isolated ? Infinity : Math.max(0, this.openUntil - now)) : 0,
      probesInFlight: this.probesInFlight,
      successes: this.successes,
      failures: this.failures,
      rejections: this.rejections,
      window: this.rule.snapshot(now),
    };
  }

  private open(now: number, cause: unknown): void {
    this.consecutiveOpens++;
    const period = this.settings.openMs * Math.pow(2, this.consecutiveOpens - 1);
    this.openUntil = now + Math.min(this.settings.maxOpenMs, period);
    this.transition('open', cause);
  }

  private close(cause: unknown): void {
    this.consecutiveOpens = 0;
    this.probesInFlight = 0;
    this.probeSuccesses = 0;
    this.rule.reset();
    this.transition('closed', cause);
  }

  private transition(to: CircuitState, cause: unknown): void {
    const from = this.state;
    this.state = to;
    this.generation++;
    this.shared?.transitioned(from, to, cause === BY_FLEET);
    if (this.onTransition) {
      try {
        this.onTransition(from, to, cause);
      } catch {
        // A listener (telemetry) must never break the state machine or the caller.
      }
    }
  }
}
