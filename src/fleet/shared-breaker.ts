import type { CircuitState } from '../engine/breaker/circuit.js';
import type { BreakerControl, SharedBreaker } from '../engine/fleet-seams.js';
import type { FleetBreaker, FleetBreakerChange, FleetBreakerListener } from './breaker-sync.js';

/**
 * The engine's SharedBreaker (engine/fleet-seams.ts) on a FleetBreaker (breaker-sync.ts):
 * - record: the outcomes the closed local breaker counts, for fleet-wide counting;
 * - transitioned: the local breaker's own changes (its rule tripped, a probe's result),
 *   not the ones it made to follow the fleet, which the fleet knows already;
 * - allowProbe: the fleet's probe permit (one instance of the fleet probes);
 * - the FleetBreaker's listener: the fleet opened (for remainingMs) or closed the
 *   breaker: the local one follows through the BreakerControl it is bound to now.
 */
export class SharedFleetBreaker implements SharedBreaker {
  readonly fleet: FleetBreaker;
  #control: BreakerControl;

  /** `make`: the FleetBreaker, given the listener that passes the fleet's changes on. */
  constructor(make: (listener: FleetBreakerListener) => FleetBreaker, control: BreakerControl) {
    this.#control = control;
    this.fleet = make((change) => this.#follow(change));
  }

  /** The engine made the target's breaker again (it had forgotten the target): the fleet's changes go to the new one. */
  bind(control: BreakerControl): void {
    this.#control = control;
  }

  record(_now: number, failed: boolean, durationMs: number): void {
    this.fleet.record(failed, durationMs);
  }

  transitioned(_from: CircuitState, to: CircuitState, byFleet: boolean): void {
    if (!byFleet) this.fleet.transition(to);
  }

  allowProbe(now: number): boolean {
    return this.fleet.mayProbe(now);
  }

  #follow(change: FleetBreakerChange): void {
    if (change.state === 'open') this.#control.open(change.remainingMs);
    else this.#control.close();
  }
}
