/**
 * Plays a scenario's scraped series (test/patterns/scenarios.ts) into a PatternDetector,
 * minute by minute, through the same ingestion API the policy feed uses: each counter's
 * increase since the previous sample as a count, each state gauge at 1 as the breaker's
 * state. The first sample is the baseline, fed as a count of 0 so the series exists from
 * minute 0, as the scraped one does.
 */
import { PatternDetector, type Count, type Detection } from '../../src/patterns/index.js';
import type { HedgeResult } from '../../src/telemetry/names.js';
import type { Scenario, SeriesInput } from './scenarios.js';

const MINUTE_MS = 60_000;

type Firing = Omit<Detection, 'minute'>;

function countOf(series: SeriesInput, count: number): Count | undefined {
  const l = series.labels;
  const target = l['resilience_target'] ?? '';
  const client = l['resilience_client'] ?? '';
  const policy = l['resilience_policy'] ?? '';
  const outcome = l['resilience_outcome'] as Extract<Count, { kind: 'attempts' }>['outcome'];
  switch (series.metric) {
    case 'resilience_attempts_total':
      return { kind: 'attempts', target, client, outcome, category: l['resilience_error_category'], count };
    case 'resilience_retry_delay_seconds_count':
      return { kind: 'retries', target, client, count };
    case 'resilience_hedges_total':
      return { kind: 'hedges', target, client, result: l['resilience_hedge_result'] as HedgeResult, count };
    case 'resilience_operation_duration_seconds_count':
      return { kind: 'operations', target, client, outcome, count };
    case 'resilience_circuit_transitions_total':
      return {
        kind: 'transitions',
        target,
        policy,
        from: l['resilience_circuit_from'] as 'closed',
        to: l['resilience_circuit_to'] as 'open',
        count,
      };
    case 'resilience_circuit_rejections_total':
      return { kind: 'rejections', target, policy, count };
    default:
      throw new Error(`the replay does not know ${series.metric}`);
  }
}

export interface Replay {
  /** The scenario's alert's firing label sets after each minute's evaluation. */
  readonly firingAt: ReadonlyArray<readonly Firing[]>;
  readonly detections: readonly Detection[];
}

/** Replays `scenario`; with `timeScale` its minutes last 60 000 / timeScale ms of clock time. */
export function replay(scenario: Scenario, timeScale = 1): Replay {
  const detections: Detection[] = [];
  const detector = new PatternDetector({ clock: { now: () => 0 }, timeScale, onDetection: (d) => detections.push(d) });
  const minuteMs = MINUTE_MS / timeScale;
  const minutes = Math.max(...scenario.series.map((s) => s.values.length));
  const firingAt: Firing[][] = [];
  for (let minute = 0; minute < minutes; minute++) {
    const at = minute * minuteMs;
    for (const series of scenario.series) {
      const value = series.values[minute];
      if (value === undefined) continue;
      if (series.metric === 'resilience_circuit_state') {
        const l = series.labels;
        const state = l['resilience_circuit_state'] as 'closed' | 'open' | 'half_open';
        if (value === 1) detector.record({ kind: 'circuit_state', target: l['resilience_target'] ?? '', policy: l['resilience_policy'] ?? '', state }, at);
        continue;
      }
      const previous = minute === 0 ? value : (series.values[minute - 1] ?? value);
      const count = countOf(series, value - previous);
      if (count !== undefined) detector.record(count, at);
    }
    // Evaluates this minute, as Prometheus does once its samples are in.
    detector.flush(at + minuteMs);
    firingAt.push(detector.firing().filter((f) => f.alert === scenario.alert));
  }
  return { firingAt, detections: detections.filter((d) => d.alert === scenario.alert) };
}
