import type { SharedBudget } from '../engine/fleet-seams.js';
import type { FleetBudget } from './budget-sync.js';

/**
 * The engine's SharedBudget (engine/fleet-seams.ts) on a FleetBudget (budget-sync.ts).
 * A budget whose retries are unbounded (ratio Infinity: the policy limits only hedges)
 * leaves retries to the local budget, which allows them all, and shares its hedges.
 */
export class SharedFleetBudget implements SharedBudget {
  readonly fleet: FleetBudget;
  readonly #retriesBounded: boolean;

  constructor(fleet: FleetBudget, retriesBounded: boolean) {
    this.fleet = fleet;
    this.#retriesBounded = retriesBounded;
  }

  recordFirstAttempt(): void {
    this.fleet.recordFirstAttempt();
  }

  recordRetry(): void {
    this.fleet.recordRetry();
  }

  recordHedge(): void {
    this.fleet.recordHedge();
  }

  allowsRetry(now: number): boolean | undefined {
    return this.#retriesBounded ? this.fleet.allowsRetry(now) : undefined;
  }

  allowsHedge(now: number, ratio: number): boolean | undefined {
    return this.fleet.allowsHedge(now, ratio);
  }
}
