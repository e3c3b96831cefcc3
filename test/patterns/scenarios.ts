/**
 * When each pattern alert must fire, and when it must not: the executable definition
 * shared by the Prometheus rules (collector/rules/breakwater.rules.yaml, checked with
 * promtool in test/collector/rules.test.ts) and the in-process detector, which must agree
 * with every scenario here.
 *
 * A scenario is engine-neutral: input series as plain arrays of samples, one per minute
 * from minute 0, exactly as scraped from the exporter (cumulative counters, 0/1 state
 * gauges). Windows follow Prometheus: a rate over 5m at minute t is
 * (v[t] - v[t-5]) / 300 s; a ratio of two rates is a ratio of increases.
 *
 * "Firing" has Prometheus's meaning: the alert's condition has held at every minute for
 * the rule's `for` (the alert is only pending before that), and `keep_firing_for` keeps it
 * firing that long after the condition ends. Rules are evaluated every minute from minute 0.
 *
 * Every near miss sits just under one threshold of its alert (with every other condition
 * met where that is possible), so that a detector that is off by a little fails it.
 */
import {
  attempts,
  bursts,
  circuitState,
  constant,
  counter,
  type Dependency,
  operations,
  ramp,
  SCRAPE,
  step,
} from './series.js';

/** Every pattern alert with its `pattern` label (design.md section 4, plus circuit_open and error_budget_burn). */
export const ALERT_PATTERNS = {
  BreakwaterErrorSpike: 'spike',
  BreakwaterErrorTrend: 'trend',
  BreakwaterPeriodicErrors: 'periodic',
  BreakwaterSegmentedErrors: 'segmented',
  BreakwaterCascade: 'cascade',
  BreakwaterResourceExhaustion: 'resource_exhaustion',
  BreakwaterRetryStorm: 'retry_storm',
  BreakwaterCircuitOpen: 'circuit_open',
  BreakwaterCircuitFlapping: 'circuit_flapping',
  BreakwaterErrorBudgetBurn: 'error_budget_burn',
  BreakwaterErrorBudgetSlowBurn: 'error_budget_burn',
} as const;

export type AlertName = keyof typeof ALERT_PATTERNS;
export type Pattern = (typeof ALERT_PATTERNS)[AlertName];
export const ALERT_NAMES = Object.keys(ALERT_PATTERNS) as AlertName[];

export interface SeriesInput {
  /** Prometheus metric name, as exported (resilience_attempts_total, ..._count). */
  metric: string;
  labels: Readonly<Record<string, string>>;
  /** Sample at minute 0, 1, 2, ... */
  values: readonly number[];
}

export interface Scenario {
  name: string;
  alert: AlertName;
  pattern: Pattern;
  /** true: the alert is firing at evalAtMinute. false: it is not firing at any minute from silentFromMinute to evalAtMinute. */
  fires: boolean;
  /** Why it fires, or which threshold it stays just under. */
  why: string;
  evalAtMinute: number;
  silentFromMinute?: number;
  series: SeriesInput[];
  /**
   * For a firing scenario: the labels of the one alert that fires, besides alertname,
   * severity (set by the rule) and pattern (the scenario's).
   */
  expectLabels?: Readonly<Record<string, string>>;
}

const PAYMENTS: Dependency = { target: 'https://payments.example.com:443', client: 'fetch' };
const ORDERS_DB: Dependency = { target: 'postgresql://orders-db:5432/orders', client: 'pg' };
const CACHE: Dependency = { target: 'redis://cache:6379/0', client: 'ioredis' };
const SEARCH: Dependency = { target: 'http://search:9200', client: 'http' };

const labelsOf = (dep: Dependency) => ({ resilience_target: dep.target, resilience_client: dep.client });

/**
 * 600 first attempts a minute, all succeeding until minute `from`; from then on,
 * `retriesPerMinute` of them fail once (network) and are retried, the retry succeeding,
 * and `hedgesPerMinute` are hedged. Every retry records one backoff, so the backoff
 * histogram counts retries. Every hedged call ends with one success and one cancelled
 * attempt (the loser), half of the hedges winning and half being cancelled; each hedge is
 * counted once in resilience_hedges_total.
 */
function retryStorm(dep: Dependency, minutes: number, from: number, retriesPerMinute: number, hedgesPerMinute = 0): SeriesInput[] {
  const retries = step(0, retriesPerMinute, from);
  const hedges = step(0, hedgesPerMinute, from);
  const labels = { ...SCRAPE, ...labelsOf(dep), resilience_policy: dep.policy ?? 'default' };
  const hedged: SeriesInput[] = [
    { metric: 'resilience_attempts_total', labels: { ...labels, resilience_outcome: 'cancelled' }, values: counter(minutes, hedges) },
    ...(['won', 'cancelled'] as const).map((result) => ({
      metric: 'resilience_hedges_total',
      labels: { ...labels, resilience_hedge_result: result },
      values: counter(minutes, (m) => hedges(m) / 2),
    })),
  ];
  return [
    ...attempts(dep, { minutes, perMinute: (m) => 600 + retries(m), errorRatio: (m) => retries(m) / (600 + retries(m)), category: 'network' }),
    { metric: 'resilience_retry_delay_seconds_count', labels, values: counter(minutes, retries) },
    ...(hedgesPerMinute > 0 ? hedged : []),
  ];
}

/**
 * Breaker transitions of one policy for one target: each trip (closed -> open) at a given
 * minute is followed by half-open a minute later and closed a minute after that. Every
 * counter starts at 1, from a trip long before the scenario: the exporter only shows a
 * series once it has counted something, so a process's first trip is never an increase.
 */
function flappingBreaker(dep: Required<Dependency>, minutes: number, tripsAt: readonly number[]): SeriesInput[] {
  const transitions = [
    ['closed', 'open', 0],
    ['open', 'half_open', 1],
    ['half_open', 'closed', 2],
  ] as const;
  return transitions.map(([from, to, after]) => ({
    metric: 'resilience_circuit_transitions_total',
    labels: {
      ...SCRAPE,
      resilience_target: dep.target,
      resilience_policy: dep.policy,
      resilience_circuit_from: from,
      resilience_circuit_to: to,
    },
    values: counter(minutes, (m) => (tripsAt.includes(m - after) ? 1 : 0), 1),
  }));
}

function circuitRejections(dep: Required<Dependency>, minutes: number, perMinute: (minute: number) => number): SeriesInput {
  return {
    metric: 'resilience_circuit_rejections_total',
    labels: { ...SCRAPE, resilience_target: dep.target, resilience_policy: dep.policy },
    values: counter(minutes, perMinute),
  };
}

const PAYMENTS_BREAKER = { ...PAYMENTS, policy: 'payments' } as const;
/** Open on even minutes, half-open on odd ones: probes that keep failing. */
const openFrom = (from: number) => (m: number) => (m < from ? 'closed' : m % 2 === 0 ? 'open' : 'half_open');

export const SCENARIOS: readonly Scenario[] = [
  // --- spike: 5m error ratio at least 3x the previous hour's and 10 points above it, >= 0.1 attempts/s, for 2m
  {
    name: 'spike: 2% to 30% errors',
    alert: 'BreakwaterErrorSpike',
    pattern: 'spike',
    fires: true,
    why: 'the error ratio jumps from 2% to 30% at minute 80: 15x the baseline and 28 points above it',
    evalAtMinute: 86,
    series: attempts(PAYMENTS, { minutes: 90, errorRatio: step(0.02, 0.3, 80) }),
    expectLabels: labelsOf(PAYMENTS),
  },
  {
    name: 'spike near miss: 2% to 11.5% errors',
    alert: 'BreakwaterErrorSpike',
    pattern: 'spike',
    fires: false,
    why: '11.5% is over 3x the 2% baseline but only 9.5 points above it (10 needed)',
    evalAtMinute: 89,
    silentFromMinute: 80,
    series: attempts(PAYMENTS, { minutes: 90, errorRatio: step(0.02, 0.115, 80) }),
  },
  {
    name: 'spike near miss: too little traffic',
    alert: 'BreakwaterErrorSpike',
    pattern: 'spike',
    fires: false,
    why: '0% to 60% errors, but at 5 attempts a minute (0.083/s, 0.1/s needed)',
    evalAtMinute: 89,
    silentFromMinute: 80,
    series: attempts(PAYMENTS, { minutes: 90, perMinute: 5, errorRatio: step(0, 0.6, 80) }),
  },

  // --- trend: 30m ratio rising >= 1 point/hour in each of the last two hours, on course for 10% within 4h
  {
    name: 'trend: +2 points an hour for three hours',
    alert: 'BreakwaterErrorTrend',
    pattern: 'trend',
    fires: true,
    why: 'from 1% at minute 30 the error ratio rises 2 points an hour, reaching 7%; 4 hours on it would be about 15%',
    evalAtMinute: 209,
    series: attempts(PAYMENTS, { minutes: 210, errorRatio: ramp(0.01, 0.02, 30) }),
    expectLabels: labelsOf(PAYMENTS),
  },
  {
    name: 'trend near miss: +0.9 points an hour',
    alert: 'BreakwaterErrorTrend',
    pattern: 'trend',
    fires: false,
    why: 'rising from 7% to 9.7%, on course for 10% within 4 hours, but by 0.9 points an hour (1 needed)',
    evalAtMinute: 209,
    silentFromMinute: 150,
    series: attempts(PAYMENTS, { minutes: 210, errorRatio: ramp(0.07, 0.009, 30) }),
  },

  // --- periodic: a burst (5m ratio >= 5% and >= 2x the hour's) now, 1h ago and 2h ago, each within a 10m window
  {
    name: 'periodic: 40% bursts every hour',
    alert: 'BreakwaterPeriodicErrors',
    pattern: 'periodic',
    fires: true,
    why: 'five minutes of 40% errors at minutes 30, 90 and 150 over a 1% background',
    evalAtMinute: 155,
    series: attempts(PAYMENTS, { minutes: 165, errorRatio: bursts(0.01, 0.4, [30, 90, 150], 5) }),
    expectLabels: labelsOf(PAYMENTS),
  },
  {
    name: 'periodic near miss: bursts every 75 minutes',
    alert: 'BreakwaterPeriodicErrors',
    pattern: 'periodic',
    fires: false,
    why: 'the same bursts 75 minutes apart, just past what the 1-hour period (with its 10-minute windows) matches',
    evalAtMinute: 179,
    silentFromMinute: 150,
    series: attempts(PAYMENTS, { minutes: 180, errorRatio: bursts(0.01, 0.4, [10, 85, 160], 5) }),
  },

  // --- segmented: one dependency's one category > 20% of its attempts, all other dependencies < 2%, for 5m
  {
    name: 'segmented: authentication errors on one dependency',
    alert: 'BreakwaterSegmentedErrors',
    pattern: 'segmented',
    fires: true,
    why: 'payments fails 30% of attempts with authentication errors from minute 10; the database and the cache stay at 0.5%',
    evalAtMinute: 22,
    series: [
      ...attempts(PAYMENTS, { minutes: 25, errorRatio: step(0.005, 0.3, 10), category: 'authentication' }),
      ...attempts(ORDERS_DB, { minutes: 25, errorRatio: constant(0.005), category: 'network' }),
      ...attempts(CACHE, { minutes: 25, errorRatio: constant(0.005), category: 'network' }),
    ],
    expectLabels: { ...labelsOf(PAYMENTS), resilience_error_category: 'authentication' },
  },
  {
    name: 'segmented near miss: 18% errors on the one dependency',
    alert: 'BreakwaterSegmentedErrors',
    pattern: 'segmented',
    fires: false,
    why: 'payments fails 18% with authentication errors (20% needed) while the others stay at 0.5%',
    evalAtMinute: 24,
    silentFromMinute: 10,
    series: [
      ...attempts(PAYMENTS, { minutes: 25, errorRatio: step(0.005, 0.18, 10), category: 'authentication' }),
      ...attempts(ORDERS_DB, { minutes: 25, errorRatio: constant(0.005), category: 'network' }),
      ...attempts(CACHE, { minutes: 25, errorRatio: constant(0.005), category: 'network' }),
    ],
  },
  {
    name: 'segmented near miss: the other dependencies are not quite fine',
    alert: 'BreakwaterSegmentedErrors',
    pattern: 'segmented',
    fires: false,
    why: 'payments fails 30% with authentication errors, but the others together fail 2.5% (under 2% needed)',
    evalAtMinute: 24,
    silentFromMinute: 10,
    series: [
      ...attempts(PAYMENTS, { minutes: 25, errorRatio: step(0.005, 0.3, 10), category: 'authentication' }),
      ...attempts(ORDERS_DB, { minutes: 25, errorRatio: constant(0.025), category: 'network' }),
      ...attempts(CACHE, { minutes: 25, errorRatio: constant(0.025), category: 'network' }),
    ],
  },

  // --- cascade: an origin degraded (> 10%) 15m ago and now, and >= 2 more degraded since, for 1m
  {
    name: 'cascade: the database fails, then payments and the cache',
    alert: 'BreakwaterCascade',
    pattern: 'cascade',
    fires: true,
    why: 'the database fails 50% from minute 20; payments and the cache fail 30% from minutes 33 and 34; search stays healthy',
    evalAtMinute: 40,
    series: [
      ...attempts(ORDERS_DB, { minutes: 45, errorRatio: step(0.005, 0.5, 20), category: 'timeout' }),
      ...attempts(PAYMENTS, { minutes: 45, errorRatio: step(0.005, 0.3, 33), category: 'timeout' }),
      ...attempts(CACHE, { minutes: 45, errorRatio: step(0.005, 0.3, 34), category: 'timeout' }),
      ...attempts(SEARCH, { minutes: 45, errorRatio: constant(0.005) }),
    ],
    expectLabels: labelsOf(ORDERS_DB),
  },
  {
    name: 'cascade near miss: only one dependency follows',
    alert: 'BreakwaterCascade',
    pattern: 'cascade',
    fires: false,
    why: 'the database fails from minute 20 and payments from minute 33, but the cache stays healthy: one follower (2 needed)',
    evalAtMinute: 44,
    silentFromMinute: 30,
    series: [
      ...attempts(ORDERS_DB, { minutes: 45, errorRatio: step(0.005, 0.5, 20), category: 'timeout' }),
      ...attempts(PAYMENTS, { minutes: 45, errorRatio: step(0.005, 0.3, 33), category: 'timeout' }),
      ...attempts(CACHE, { minutes: 45, errorRatio: constant(0.005) }),
      ...attempts(SEARCH, { minutes: 45, errorRatio: constant(0.005) }),
    ],
  },

  // --- resource exhaustion: resource share of attempts > 5%, or > 1% and predicted past 5% in 30m, for 5m
  {
    name: 'resource exhaustion: bulkhead rejecting 8% of calls',
    alert: 'BreakwaterResourceExhaustion',
    pattern: 'resource_exhaustion',
    fires: true,
    why: 'from minute 10 a full bulkhead rejects 8% of attempts (outcome rejected, category resource)',
    evalAtMinute: 25,
    series: attempts(PAYMENTS, { minutes: 30, errorRatio: step(0, 0.08, 10), category: 'resource', outcome: 'rejected' }),
    expectLabels: labelsOf(PAYMENTS),
  },
  {
    name: 'resource exhaustion: connection errors rising',
    alert: 'BreakwaterResourceExhaustion',
    pattern: 'resource_exhaustion',
    fires: true,
    why: 'too-many-connections errors rise 0.2 points a minute from minute 10: only about 3% at minute 28, but past 5% within 30 minutes',
    evalAtMinute: 28,
    series: attempts(ORDERS_DB, { minutes: 30, errorRatio: ramp(0, 0.12, 10), category: 'resource' }),
    expectLabels: labelsOf(ORDERS_DB),
  },
  {
    name: 'resource exhaustion near miss: steady 4.5%',
    alert: 'BreakwaterResourceExhaustion',
    pattern: 'resource_exhaustion',
    fires: false,
    why: 'a full bulkhead has rejected 4.5% of attempts for 30 minutes: under 5%, and not rising',
    evalAtMinute: 29,
    silentFromMinute: 5,
    series: attempts(PAYMENTS, { minutes: 30, errorRatio: constant(0.045), category: 'resource', outcome: 'rejected' }),
  },

  // --- retry storm: extra attempts (retries + hedges) per first attempt > 0.5, first attempts >= 0.1/s, for 5m
  {
    name: 'retry storm: 0.8 retries per first attempt',
    alert: 'BreakwaterRetryStorm',
    pattern: 'retry_storm',
    fires: true,
    why: 'from minute 10, 480 retries a minute for 600 first attempts',
    evalAtMinute: 22,
    series: retryStorm(PAYMENTS, 25, 10, 480),
    expectLabels: labelsOf(PAYMENTS),
  },
  {
    name: 'retry storm near miss: 0.45 retries per first attempt',
    alert: 'BreakwaterRetryStorm',
    pattern: 'retry_storm',
    fires: false,
    why: 'from minute 10, 270 retries a minute for 600 first attempts (more than 0.5 per first attempt needed)',
    evalAtMinute: 24,
    silentFromMinute: 10,
    series: retryStorm(PAYMENTS, 25, 10, 270),
  },
  {
    name: 'retry storm: 0.4 retries and 0.2 hedges per first attempt',
    alert: 'BreakwaterRetryStorm',
    pattern: 'retry_storm',
    fires: true,
    why:
      'from minute 10, 240 retries and 120 hedges a minute for 600 first attempts: the retries alone (0.4) stay under 0.5, ' +
      'the hedges take the extra attempts to 0.6 (and counted as first attempts they would leave 360 / 720 = 0.5, not over it)',
    evalAtMinute: 22,
    series: retryStorm(PAYMENTS, 25, 10, 240, 120),
    expectLabels: labelsOf(PAYMENTS),
  },
  {
    name: 'retry storm near miss: modest hedging, 0.35 retries and 0.1 hedges per first attempt',
    alert: 'BreakwaterRetryStorm',
    pattern: 'retry_storm',
    fires: false,
    why: 'from minute 10, 210 retries and 60 hedges a minute for 600 first attempts: 0.45 extra attempts per first attempt (more than 0.5 needed)',
    evalAtMinute: 24,
    silentFromMinute: 10,
    series: retryStorm(PAYMENTS, 25, 10, 210, 60),
  },

  // --- circuit open: a breaker not closed (open or half-open) on any instance, rejecting calls, for 5m
  {
    name: 'circuit open: open for 10 minutes',
    alert: 'BreakwaterCircuitOpen',
    pattern: 'circuit_open',
    fires: true,
    why: 'the breaker opens at minute 20 and its probes keep failing (open / half-open); 120 calls a minute rejected',
    evalAtMinute: 30,
    series: [
      ...circuitState(PAYMENTS_BREAKER, 35, openFrom(20)),
      circuitRejections(PAYMENTS_BREAKER, 35, step(0, 120, 20)),
    ],
    expectLabels: { resilience_target: PAYMENTS_BREAKER.target, resilience_policy: PAYMENTS_BREAKER.policy },
  },
  {
    name: 'circuit open near miss: open for 4 minutes',
    alert: 'BreakwaterCircuitOpen',
    pattern: 'circuit_open',
    fires: false,
    why: 'the breaker opened at minute 26: at minute 30 it has been open 4 minutes (5 needed)',
    evalAtMinute: 30,
    silentFromMinute: 20,
    series: [
      ...circuitState(PAYMENTS_BREAKER, 31, openFrom(26)),
      circuitRejections(PAYMENTS_BREAKER, 31, step(0, 120, 26)),
    ],
  },

  // --- circuit flapping: >= 3 trips (closed -> open) of one breaker in 15m
  {
    name: 'circuit flapping: three trips in 11 minutes',
    alert: 'BreakwaterCircuitFlapping',
    pattern: 'circuit_flapping',
    fires: true,
    why: 'the breaker trips at minutes 17, 22 and 28, closing again in between',
    evalAtMinute: 30,
    series: flappingBreaker(PAYMENTS_BREAKER, 31, [17, 22, 28]),
    expectLabels: { resilience_target: PAYMENTS_BREAKER.target, resilience_policy: PAYMENTS_BREAKER.policy },
  },
  {
    name: 'circuit flapping near miss: three trips in 18 minutes',
    alert: 'BreakwaterCircuitFlapping',
    pattern: 'circuit_flapping',
    fires: false,
    why: 'trips at minutes 10, 22 and 28: never more than 2 in any 15 minutes',
    evalAtMinute: 30,
    silentFromMinute: 10,
    series: flappingBreaker(PAYMENTS_BREAKER, 31, [10, 22, 28]),
  },

  // --- error budget (SLO 99.9% of operations): 14.4x over 1h and 5m, or 6x over 6h and 30m, for 2m
  {
    name: 'error budget: 5% of operations failing for 20 minutes',
    alert: 'BreakwaterErrorBudgetBurn',
    pattern: 'error_budget_burn',
    fires: true,
    why: 'after six hours at 0.05%, 5% of operations fail from minute 360: burn rate 18.6 over the last hour, 50 over 5 minutes',
    evalAtMinute: 382,
    series: operations(PAYMENTS, { minutes: 385, errorRatio: step(0.0005, 0.05, 360) }),
    expectLabels: labelsOf(PAYMENTS),
  },
  {
    name: 'error budget: 1% of operations failing for four hours',
    alert: 'BreakwaterErrorBudgetBurn',
    pattern: 'error_budget_burn',
    fires: true,
    why: 'after six hours at 0.05%, 1% fails from minute 360: burn rate 10 (under 14.4), but 6.8 over 6 hours and 10 over 30 minutes',
    evalAtMinute: 599,
    series: operations(PAYMENTS, { minutes: 600, errorRatio: step(0.0005, 0.01, 360) }),
    expectLabels: labelsOf(PAYMENTS),
  },
  {
    name: 'error budget near miss: 5% for 15 minutes',
    alert: 'BreakwaterErrorBudgetBurn',
    pattern: 'error_budget_burn',
    fires: false,
    why: '5% of operations fail for 15 minutes only: burn rate 12.9 over the hour (14.4 needed)',
    evalAtMinute: 389,
    silentFromMinute: 360,
    series: operations(PAYMENTS, { minutes: 390, errorRatio: step(0.0005, 0.05, 360, 375) }),
  },
  {
    name: 'error budget near miss: 1% for 3h20m',
    alert: 'BreakwaterErrorBudgetBurn',
    pattern: 'error_budget_burn',
    fires: false,
    why: '1% of operations fail from minute 360; at minute 559 the 6-hour burn rate is 5.75 (6 needed)',
    evalAtMinute: 559,
    silentFromMinute: 500,
    series: operations(PAYMENTS, { minutes: 560, errorRatio: step(0.0005, 0.01, 360) }),
  },

  // --- slow budget burn (tickets): 3x over 1d and 2h, or 1x over 3d and 6h, for 15m
  {
    name: 'slow budget burn: 0.15% of operations failing for 7 hours',
    alert: 'BreakwaterErrorBudgetSlowBurn',
    pattern: 'error_budget_burn',
    fires: true,
    why: 'burn rate 1.5 over every window: the month\'s budget would be gone in 20 days',
    evalAtMinute: 419,
    series: operations(PAYMENTS, { minutes: 420, errorRatio: constant(0.0015) }),
    expectLabels: labelsOf(PAYMENTS),
  },
  {
    name: 'slow budget burn near miss: 0.09% for 7 hours',
    alert: 'BreakwaterErrorBudgetSlowBurn',
    pattern: 'error_budget_burn',
    fires: false,
    why: 'burn rate 0.9 over every window (1 needed)',
    evalAtMinute: 419,
    silentFromMinute: 360,
    series: operations(PAYMENTS, { minutes: 420, errorRatio: constant(0.0009) }),
  },
];
