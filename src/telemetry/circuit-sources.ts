import type { BatchObservableResult, Observable, ObservableResult } from '@opentelemetry/api';
import { CIRCUIT_STATES, type CircuitState } from '../engine/breaker/circuit.js';
import { ATTR_CIRCUIT_STATE, ATTR_POLICY, ATTR_TARGET } from './names.js';

/** Something that can list its breakers (and adaptive limits): a policy's target registry. */
export interface CircuitSource {
  readonly policyName: string;
  forEachCircuit(visit: (target: string, state: CircuitState) => void): void;
  forEachLimit?(visit: (target: string, limit: number, inFlight: number) => void): void;
}

// Weakly held: a policy that the application dropped must not be kept alive (or
// reported) by the gauge.
const sources = new Set<WeakRef<CircuitSource>>();

export function registerCircuitSource(source: CircuitSource): void {
  sources.add(new WeakRef(source));
}

/** The resilience.circuit.state gauge: for each breaker, 1 on its current state and 0 on the others. */
export function observeCircuits(result: ObservableResult): void {
  for (const ref of sources) {
    const source = ref.deref();
    if (source === undefined) {
      sources.delete(ref);
      continue;
    }
    try {
      source.forEachCircuit((target, current) => {
        for (const state of CIRCUIT_STATES) {
          result.observe(state === current ? 1 : 0, { [ATTR_TARGET]: target, [ATTR_POLICY]: source.policyName, [ATTR_CIRCUIT_STATE]: state });
        }
      });
    } catch {
      // Never let one broken source fail the whole collection.
    }
  }
}

/** The resilience.concurrency.limit and .in_flight gauges: each target under an adaptive limit. */
export function observeLimits(result: BatchObservableResult, limitGauge: Observable, inFlightGauge: Observable): void {
  for (const ref of sources) {
    const source = ref.deref();
    if (source?.forEachLimit === undefined) continue;
    try {
      source.forEachLimit((target, limit, inFlight) => {
        const attributes = { [ATTR_TARGET]: target, [ATTR_POLICY]: source.policyName };
        result.observe(limitGauge, limit, attributes);
        result.observe(inFlightGauge, inFlight, attributes);
      });
    } catch {
      // Never let one broken source fail the whole collection.
    }
  }
}
