import type { MinuteRing } from './ring.js';
import { deriv, predictLinear } from './regression.js';
import type { BreakerSeries, DependencySeries } from './series.js';

/**
 * The alerts of collector/rules/breakwater.rules.yaml, one condition per alert, on
 * one-minute samples: same windows, thresholds, low-traffic guards, `for` and
 * `keep_firing_for`. Each comment quotes the rule it mirrors; docs/patterns.md maps them.
 *
 * A rate "exists" at minute s only after its series' first minute (Prometheus needs two
 * samples for a rate), and a ratio of no traffic is NaN, which no comparison passes: the
 * two ways an alert expression has no result.
 */

/** One alert's result for one label set at one minute. */
export interface Finding {
  /** The alert's label set, as a key. */
  readonly key: string;
  readonly target: string;
  /** The labels the alert carries besides alertname, severity and pattern. */
  readonly labels: Readonly<Record<string, string>>;
  /** What was seen, for a person: the value, its window and the threshold. */
  readonly summary: string;
}

export interface SeriesView {
  dependencies(): Iterable<DependencySeries>;
  breakers(): Iterable<BreakerSeries>;
}

export interface AlertRule {
  readonly name: string;
  readonly pattern: string;
  readonly forMinutes: number;
  readonly keepFiringForMinutes: number;
  evaluate(view: SeriesView, minute: number): Finding[];
}

/** 0.1 attempts (or operations) a second: the rules' low-traffic guard. */
const MIN_RATE = 0.1;
/** The SLO's error budget (99.9%), breakwater:slo_error_budget:ratio. */
const ERROR_BUDGET = 0.001;

const exists = (series: { born: number }, minute: number) => minute > series.born;
const increase = (ring: MinuteRing, minute: number, window: number) => ring.increase(minute, window);
const perSecond = (ring: MinuteRing, minute: number, window: number) => increase(ring, minute, window) / (window * 60);
const ratio = (num: MinuteRing, den: MinuteRing, minute: number, window: number) => increase(num, minute, window) / increase(den, minute, window);

/** breakwater:error_ratio:rate<window>m; NaN where the rule has no sample. */
function errorRatio(d: DependencySeries, minute: number, window: number): number {
  return exists(d, minute) ? ratio(d.errors, d.counted, minute, window) : Number.NaN;
}

/** breakwater:attempts:rate<window>m >= 0.1 */
function enoughAttempts(d: DependencySeries, minute: number, window = 5): boolean {
  return exists(d, minute) && perSecond(d.counted, minute, window) >= MIN_RATE;
}

/** The samples of a recorded ratio over [from, to] that exist. */
function samples(d: DependencySeries, from: number, to: number, value: (minute: number) => number): Array<{ minute: number; value: number }> {
  const out: Array<{ minute: number; value: number }> = [];
  for (let minute = Math.max(from, d.born + 1); minute <= to; minute++) out.push({ minute, value: value(minute) });
  return out;
}

const depLabels = (d: DependencySeries) => ({ resilience_target: d.target, resilience_client: d.client });
const depKey = (d: DependencySeries) => `${d.target}\u0000${d.client}`;
const breakerLabels = (b: BreakerSeries) => ({ resilience_target: b.target, resilience_policy: b.policy });
const breakerKey = (b: BreakerSeries) => `${b.target}\u0000${b.policy}`;
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

function perDependency(
  rule: Omit<AlertRule, 'evaluate'>,
  check: (d: DependencySeries, minute: number) => string | undefined,
): AlertRule {
  return {
    ...rule,
    evaluate(view, minute) {
      const out: Finding[] = [];
      for (const d of view.dependencies()) {
        const summary = check(d, minute);
        if (summary !== undefined) out.push({ key: depKey(d), target: d.target, labels: depLabels(d), summary });
      }
      return out;
    },
  };
}

/**
 * error_ratio:rate5m > 3 * (error_ratio:rate1h offset 10m)
 *   and error_ratio:rate5m - (error_ratio:rate1h offset 10m) > 0.1 and attempts:rate5m >= 0.1; for 2m
 */
const spike = perDependency({ name: 'BreakwaterErrorSpike', pattern: 'spike', forMinutes: 2, keepFiringForMinutes: 0 }, (d, t) => {
  const now = errorRatio(d, t, 5);
  const before = errorRatio(d, t - 10, 60);
  if (!(now > 3 * before && now - before > 0.1 && enoughAttempts(d, t))) return undefined;
  return `${pct(now)} of attempts failed over 5m against ${pct(before)} over the hour before (threshold 3x and +10 points)`;
});

/**
 * deriv(error_ratio:rate30m[1h]) * 3600 > 0.01 and the same 1h earlier,
 *   and predict_linear(error_ratio:rate30m[2h], 4h) > 0.1 and attempts:rate30m >= 0.1; for 15m
 */
const trend = perDependency({ name: 'BreakwaterErrorTrend', pattern: 'trend', forMinutes: 15, keepFiringForMinutes: 0 }, (d, t) => {
  if (!enoughAttempts(d, t, 30)) return undefined;
  const ratio30 = (minute: number) => errorRatio(d, minute, 30);
  const lastHour = deriv(samples(d, t - 60, t, ratio30)) * 3600;
  const hourBefore = deriv(samples(d, t - 120, t - 60, ratio30)) * 3600;
  const predicted = predictLinear(samples(d, t - 120, t, ratio30), t, 4 * 3600);
  if (!(lastHour > 0.01 && hourBefore > 0.01 && predicted > 0.1)) return undefined;
  return `error ratio ${pct(ratio30(t))} over 30m, rising ${pct(lastHour)} an hour, ${pct(predicted)} in 4h on this course (threshold +1 point an hour, 10% within 4h)`;
});

/** error_burst:rate5m: 1 for a burst, 0 for none, undefined where the rule has no sample. */
function burst(d: DependencySeries, s: number): 0 | 1 | undefined {
  if (!enoughAttempts(d, s)) return undefined;
  const r5 = errorRatio(d, s, 5);
  return r5 > 2 * errorRatio(d, s, 60) && r5 > 0.05 ? 1 : 0;
}

/** max_over_time(error_burst:rate5m[10m] offset <offset>) == 1 */
function burstWithin(d: DependencySeries, t: number, offset: number): boolean {
  for (let s = t - offset - 10; s <= t - offset; s++) if (burst(d, s) === 1) return true;
  return false;
}

/** A burst within the last 10m, within 10m an hour earlier, and two hours earlier; keep_firing_for 1h */
const periodic = perDependency({ name: 'BreakwaterPeriodicErrors', pattern: 'periodic', forMinutes: 0, keepFiringForMinutes: 60 }, (d, t) =>
  burstWithin(d, t, 0) && burstWithin(d, t, 55) && burstWithin(d, t, 115)
    ? 'error bursts (5m error ratio over 5% and twice the hour\'s) an hour apart, three in a row'
    : undefined,
);

/**
 * attempt_errors_by_category:rate5m / attempts:rate5m > 0.2 and attempts:rate5m >= 0.1
 *   and other_targets_error_ratio:rate5m < 0.02 and other_targets_attempts:rate5m >= 0.1; for 5m
 */
const segmented: AlertRule = {
  name: 'BreakwaterSegmentedErrors',
  pattern: 'segmented',
  forMinutes: 5,
  keepFiringForMinutes: 0,
  evaluate(view, t) {
    const present = [...view.dependencies()].filter((d) => exists(d, t));
    let attempts = 0;
    let errors = 0;
    for (const d of present) {
      attempts += increase(d.counted, t, 5);
      errors += increase(d.errors, t, 5);
    }
    const out: Finding[] = [];
    for (const d of present) {
      if (!enoughAttempts(d, t)) continue;
      const own = increase(d.counted, t, 5);
      const otherAttempts = attempts - own;
      const otherRatio = (errors - increase(d.errors, t, 5)) / otherAttempts;
      if (!(otherRatio < 0.02 && otherAttempts / 300 >= MIN_RATE)) continue;
      for (const [category, ring] of d.categories) {
        if (!exists(ring, t)) continue;
        const share = increase(ring, t, 5) / own;
        if (!(share > 0.2)) continue;
        out.push({
          key: `${depKey(d)}\u0000${category}`,
          target: d.target,
          labels: { ...depLabels(d), resilience_error_category: category },
          summary: `${pct(share)} of attempts failed with ${category} errors over 5m while the other dependencies failed ${pct(otherRatio)} (thresholds 20% and under 2%)`,
        });
      }
    }
    return out;
  },
};

/** degraded_error_ratio:rate5m: error ratio over 10% with at least 0.1 attempts/s. */
const degraded = (d: DependencySeries, s: number) => errorRatio(d, s, 5) > 0.1 && enoughAttempts(d, s);

/**
 * degraded now and 15m ago, and at least two others degraded now but not 15m ago; for 1m,
 * keep_firing_for 30m
 */
const cascade: AlertRule = {
  name: 'BreakwaterCascade',
  pattern: 'cascade',
  forMinutes: 1,
  keepFiringForMinutes: 30,
  evaluate(view, t) {
    const deps = [...view.dependencies()];
    const followers = deps.filter((d) => degraded(d, t) && !degraded(d, t - 15)).length;
    if (followers < 2) return [];
    return deps
      .filter((d) => degraded(d, t) && degraded(d, t - 15))
      .map((d) => ({
        key: depKey(d),
        target: d.target,
        labels: depLabels(d),
        summary: `failing for 15m or more (${pct(errorRatio(d, t, 5))} over 5m), and ${followers} other dependencies started failing since (threshold 2)`,
      }));
  },
};

/** resource_error_ratio:rate5m */
function resourceRatio(d: DependencySeries, s: number): number {
  return exists(d, s) ? ratio(d.resource, d.counted, s, 5) : Number.NaN;
}

/**
 * (resource ratio > 0.05 or (> 0.01 and predict_linear(resource ratio[15m], 30m) > 0.05))
 *   and attempts:rate5m >= 0.1; for 5m
 */
const resourceExhaustion = perDependency(
  { name: 'BreakwaterResourceExhaustion', pattern: 'resource_exhaustion', forMinutes: 5, keepFiringForMinutes: 0 },
  (d, t) => {
    if (!enoughAttempts(d, t)) return undefined;
    const now = resourceRatio(d, t);
    if (now > 0.05) return `${pct(now)} of attempts failed for lack of a resource or were turned away by a full bulkhead over 5m (threshold 5%)`;
    if (!(now > 0.01)) return undefined;
    const predicted = predictLinear(samples(d, t - 15, t, (s) => resourceRatio(d, s)), t, 1800);
    if (!(predicted > 0.05)) return undefined;
    return `${pct(now)} of attempts failed for lack of a resource over 5m, ${pct(predicted)} within 30m on this course (threshold 5%)`;
  },
);

/**
 * extra_attempts_per_first_attempt:ratio_rate5m > 0.5 and first_attempts:rate5m >= 0.1; for 5m
 * (extra attempts: retries and hedges; first attempts: all attempts minus those)
 */
const retryStorm = perDependency({ name: 'BreakwaterRetryStorm', pattern: 'retry_storm', forMinutes: 5, keepFiringForMinutes: 0 }, (d, t) => {
  if (!exists(d, t)) return undefined;
  const retries = increase(d.retries, t, 5);
  const hedges = increase(d.hedges, t, 5);
  const first = increase(d.all, t, 5) - retries - hedges;
  const perFirst = (retries + hedges) / first;
  if (!(perFirst > 0.5 && first / 300 >= MIN_RATE)) return undefined;
  return `${perFirst.toFixed(2)} extra attempts per first attempt over 5m (${(retries / first).toFixed(2)} retries, ${(hedges / first).toFixed(2)} hedges; threshold 0.5)`;
});

function perBreaker(rule: Omit<AlertRule, 'evaluate'>, check: (b: BreakerSeries, minute: number) => string | undefined): AlertRule {
  return {
    ...rule,
    evaluate(view, minute) {
      const out: Finding[] = [];
      for (const b of view.breakers()) {
        const summary = check(b, minute);
        if (summary !== undefined) out.push({ key: breakerKey(b), target: b.target, labels: breakerLabels(b), summary });
      }
      return out;
    },
  };
}

/** circuit_state{open|half_open} == 1 and increase(circuit_rejections_total[5m]) > 0; for 5m */
const circuitOpen = perBreaker({ name: 'BreakwaterCircuitOpen', pattern: 'circuit_open', forMinutes: 5, keepFiringForMinutes: 0 }, (b, t) => {
  if (b.state === 'closed' || !exists(b, t)) return undefined;
  const rejected = increase(b.rejections, t, 5);
  if (!(rejected > 0)) return undefined;
  return `breaker of policy ${b.policy} not closed, ${rejected} calls rejected over 5m (threshold: not closed for 5m)`;
});

/** increase(circuit_transitions_total{from="closed", to="open"}[15m]) >= 3 */
const circuitFlapping = perBreaker({ name: 'BreakwaterCircuitFlapping', pattern: 'circuit_flapping', forMinutes: 0, keepFiringForMinutes: 0 }, (b, t) => {
  if (!exists(b, t)) return undefined;
  const trips = increase(b.trips, t, 15);
  return trips >= 3 ? `breaker of policy ${b.policy} tripped ${trips} times over 15m (threshold 3)` : undefined;
});

/** operation_error_ratio:rate<window>m / slo_error_budget:ratio */
function burnRate(d: DependencySeries, t: number, window: number): number {
  const ops = d.operations;
  if (ops === undefined || !exists(ops.counted, t)) return Number.NaN;
  return ratio(ops.bad, ops.counted, t, window) / ERROR_BUDGET;
}

const enoughOperations = (d: DependencySeries, t: number) => d.operations !== undefined && exists(d.operations.counted, t) && perSecond(d.operations.counted, t, 60) >= MIN_RATE;

/** Burn rate over both windows of one of the rule's pairs, or undefined when either is at or under the threshold. */
function burning(d: DependencySeries, t: number, long: number, short: number, threshold: number): string | undefined {
  const longRate = burnRate(d, t, long);
  const shortRate = burnRate(d, t, short);
  if (!(longRate > threshold && shortRate > threshold)) return undefined;
  const span = (m: number) => (m >= 1440 ? `${m / 1440}d` : m >= 60 ? `${m / 60}h` : `${m}m`);
  return `operations fail ${longRate.toFixed(1)}x faster than the 99.9% SLO allows over ${span(long)} (${shortRate.toFixed(1)}x over ${span(short)}; threshold ${threshold}x)`;
}

/** 14.4x over 1h and 5m, or 6x over 6h and 30m, with operations:rate1h >= 0.1; for 2m */
const errorBudgetBurn = perDependency(
  { name: 'BreakwaterErrorBudgetBurn', pattern: 'error_budget_burn', forMinutes: 2, keepFiringForMinutes: 0 },
  (d, t) => (enoughOperations(d, t) ? (burning(d, t, 60, 5, 14.4) ?? burning(d, t, 360, 30, 6)) : undefined),
);

/** 3x over 1d and 2h, or 1x over 3d and 6h, with operations:rate1h >= 0.1; for 15m */
const errorBudgetSlowBurn = perDependency(
  { name: 'BreakwaterErrorBudgetSlowBurn', pattern: 'error_budget_burn', forMinutes: 15, keepFiringForMinutes: 0 },
  (d, t) => (enoughOperations(d, t) ? (burning(d, t, 1440, 120, 3) ?? burning(d, t, 4320, 360, 1)) : undefined),
);

export const ALERT_RULES: readonly AlertRule[] = [
  spike,
  trend,
  periodic,
  segmented,
  cascade,
  resourceExhaustion,
  retryStorm,
  circuitOpen,
  circuitFlapping,
  errorBudgetBurn,
  errorBudgetSlowBurn,
];
