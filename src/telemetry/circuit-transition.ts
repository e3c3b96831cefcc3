import { context, SpanKind, trace, type Context } from '@opentelemetry/api';
import type { CircuitState } from '../engine/breaker/circuit.js';
import { activeInstruments } from './instruments.js';
import type { DecisionSource } from '../engine/fleet-seams.js';
import { ATTR_CIRCUIT_FROM, ATTR_CIRCUIT_OPEN_MS, ATTR_CIRCUIT_TO, ATTR_DECISION_SOURCE, ATTR_POLICY, ATTR_TARGET, EVENT_CIRCUIT_FLEET_OPENED, EVENT_CIRCUIT_TRANSITION } from './names.js';
import { activeTracer } from './providers.js';
import { targetLabel } from './target-label.js';

/**
 * A breaker state change as a metric and as a span of its own (so it can be found in a
 * trace search even when no call's trace was kept), under the attempt that caused it
 * when there was one. The event on that attempt is added by OperationTelemetry. Both
 * carry whose decision it was (`source`); one the fleet decided (no call of this
 * process caused it) says so on its span, and an opening the fleet decided also carries
 * the fleet-opened event with how long the fleet holds the target open (`openMs`).
 */
export function recordCircuitTransition(
  policy: string,
  target: string,
  from: CircuitState,
  to: CircuitState,
  cause?: Context,
  source: DecisionSource = 'local',
  openMs?: number,
): void {
  try {
    const attributes = { [ATTR_TARGET]: targetLabel(target), [ATTR_POLICY]: policy, [ATTR_CIRCUIT_FROM]: from, [ATTR_CIRCUIT_TO]: to, [ATTR_DECISION_SOURCE]: source };
    activeInstruments()?.circuitTransitions.add(1, attributes);
    const tracer = activeTracer();
    if (tracer) {
      const span = tracer.startSpan(EVENT_CIRCUIT_TRANSITION, { kind: SpanKind.INTERNAL, attributes }, cause ?? trace.deleteSpan(context.active()));
      if (source === 'fleet' && to === 'open') span.addEvent(EVENT_CIRCUIT_FLEET_OPENED, openMs === undefined ? {} : { [ATTR_CIRCUIT_OPEN_MS]: openMs });
      span.end();
    }
  } catch {
    // telemetry never throws into the caller
  }
}
