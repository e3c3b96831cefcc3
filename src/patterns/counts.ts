import type { HedgeResult, Outcome } from '../telemetry/names.js';

export type CircuitStateName = 'closed' | 'open' | 'half_open';

/**
 * What the detector is fed: a number of events of one exported series, in the series'
 * own labels. Each kind is one metric of design.md section 4 (its Prometheus name in
 * brackets), so a count here is exactly an increase of that metric:
 * - attempts [resilience_attempts_total]: outcome and, for a failure or rejection, its category
 * - retries [resilience_retry_delay_seconds_count]: one per backoff waited, i.e. per retry
 * - hedges [resilience_hedges_total]: one per backup attempt of a hedged call, by what came of it
 * - operations [resilience_operation_duration_seconds_count]: logical calls by outcome
 * - transitions [resilience_circuit_transitions_total]
 * - rejections [resilience_circuit_rejections_total]: calls an open breaker failed
 * - circuit_state [resilience_circuit_state]: the breaker's state from now on (a gauge, no count)
 */
export type Count =
  | { kind: 'attempts'; target: string; client: string; outcome: Outcome; category?: string | undefined; count: number }
  | { kind: 'retries'; target: string; client: string; count: number }
  | { kind: 'hedges'; target: string; client: string; result: HedgeResult; count: number }
  | { kind: 'operations'; target: string; client: string; outcome: Outcome; count: number }
  | { kind: 'transitions'; target: string; policy: string; from: CircuitStateName; to: CircuitStateName; count: number }
  | { kind: 'rejections'; target: string; policy: string; count: number }
  | { kind: 'circuit_state'; target: string; policy: string; state: CircuitStateName };
