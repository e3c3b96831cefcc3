/**
 * Builders for scenario input series: plain arrays of samples, one per minute, in the
 * shape the Prometheus exporter produces (cumulative counters, 0/1 state gauges).
 */
import type { SeriesInput } from './scenarios.js';

/** A fraction (or count) as a function of the minute. */
export type PerMinute = (minute: number) => number;

export const constant = (value: number): PerMinute => () => value;

/** `before` until minute `from` (exclusive), then `after`; with `until`, back to `before` from then on. */
export const step =
  (before: number, after: number, from: number, until = Number.POSITIVE_INFINITY): PerMinute =>
  (minute) =>
    minute >= from && minute < until ? after : before;

/** `start` until minute `from`, then rising by `perHour` each hour. */
export const ramp =
  (start: number, perHour: number, from: number): PerMinute =>
  (minute) =>
    minute < from ? start : start + ((minute - from) * perHour) / 60;

/** `base`, and `burst` during [s, s + length) for every start s. */
export const bursts =
  (base: number, burst: number, starts: readonly number[], length: number): PerMinute =>
  (minute) =>
    starts.some((s) => minute >= s && minute < s + length) ? burst : base;

/**
 * A cumulative counter sampled at minutes 0..minutes-1: sample m holds every event up to
 * and including minute m, rounded to whole events as a real counter is.
 */
export function counter(minutes: number, perMinute: PerMinute, start = 0): number[] {
  const values: number[] = [];
  let exact = start;
  for (let minute = 0; minute < minutes; minute++) {
    if (minute > 0) exact += perMinute(minute);
    values.push(Math.round(exact));
  }
  return values;
}

/** Scrape labels every series carries; the rules sum them away. */
export const SCRAPE = { job: 'shop', instance: 'shop-1:9464', service_name: 'shop' } as const;

export interface Dependency {
  target: string;
  client: string;
  policy?: string;
}

export interface TrafficOptions {
  minutes: number;
  /** Attempts per minute (first attempts and retries alike); 600 unless given. */
  perMinute?: number | PerMinute;
  /** Share of attempts that fail, per minute. */
  errorRatio: PerMinute;
  category?: string;
  /** How the failing share ends: failure (the dependency answered badly) or rejected (breaker, bulkhead). */
  outcome?: 'failure' | 'rejected';
}

const perMinuteOf = (perMinute: number | PerMinute = 600): PerMinute =>
  typeof perMinute === 'number' ? constant(perMinute) : perMinute;

/**
 * One counter for one dependency as two series: the successes and the failing share
 * (whose labels `failureLabels` gives), both cumulative per minute.
 */
function splitByOutcome(metric: string, dep: Dependency, options: TrafficOptions, failureLabels: Record<string, string>): SeriesInput[] {
  const perMinute = perMinuteOf(options.perMinute);
  const labels = {
    ...SCRAPE,
    resilience_target: dep.target,
    resilience_client: dep.client,
    resilience_policy: dep.policy ?? 'default',
  };
  return [
    {
      metric,
      labels: { ...labels, resilience_outcome: 'success' },
      values: counter(options.minutes, (m) => perMinute(m) * (1 - options.errorRatio(m))),
    },
    {
      metric,
      labels: { ...labels, ...failureLabels },
      values: counter(options.minutes, (m) => perMinute(m) * options.errorRatio(m)),
    },
  ];
}

/** resilience_attempts_total for one dependency: a success series and a failure (or rejected) series. */
export function attempts(dep: Dependency, options: TrafficOptions): SeriesInput[] {
  return splitByOutcome('resilience_attempts_total', dep, options, {
    resilience_outcome: options.outcome ?? 'failure',
    resilience_error_category: options.category ?? 'external_service',
  });
}

/** resilience_operation_duration_seconds_count for one dependency: logical calls, by outcome. */
export function operations(dep: Dependency, options: Omit<TrafficOptions, 'category' | 'outcome'>): SeriesInput[] {
  return splitByOutcome('resilience_operation_duration_seconds_count', dep, options, { resilience_outcome: 'failure' });
}

/**
 * A breaker's resilience_circuit_state gauge: one 0/1 series per state, 1 for the state
 * `stateAt(minute)` returns.
 */
export function circuitState(
  dep: Required<Pick<Dependency, 'target' | 'policy'>>,
  minutes: number,
  stateAt: (minute: number) => 'closed' | 'open' | 'half_open',
): SeriesInput[] {
  return (['closed', 'open', 'half_open'] as const).map((state) => ({
    metric: 'resilience_circuit_state',
    labels: { ...SCRAPE, resilience_target: dep.target, resilience_policy: dep.policy, resilience_circuit_state: state },
    values: Array.from({ length: minutes }, (_, m) => (stateAt(m) === state ? 1 : 0)),
  }));
}
