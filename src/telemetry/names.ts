/**
 * Every telemetry name breakwater emits (design.md section 4), in one place: the pattern
 * rules and dashboards read exactly these, and a test checks them against this file.
 */
import type { LimitReason } from '../errors.js';
import type { DecisionSource } from '../engine/fleet-seams.js';

export const INSTRUMENTATION_SCOPE = 'breakwater';

export const ATTR_TARGET = 'resilience.target';
export const ATTR_CLIENT = 'resilience.client';
export const ATTR_POLICY = 'resilience.policy';
export const ATTR_ATTEMPT = 'resilience.attempt';
export const ATTR_OUTCOME = 'resilience.outcome';
export const ATTR_ERROR_CATEGORY = 'resilience.error.category';
export const ATTR_ERROR_SEVERITY = 'resilience.error.severity';
export const ATTR_ERROR_TRANSIENT = 'resilience.error.transient';
export const ATTR_ERROR_RULE = 'resilience.error.rule';
export const ATTR_RETRY_DELAY_MS = 'resilience.retry.delay_ms';
export const ATTR_RETRY_SUPPRESSED = 'resilience.retry.suppressed';
export const ATTR_CIRCUIT_STATE = 'resilience.circuit.state';
export const ATTR_CIRCUIT_FROM = 'resilience.circuit.from';
export const ATTR_CIRCUIT_TO = 'resilience.circuit.to';
/** On the fleet-opened event: how long the fleet still holds the target open (ms). */
export const ATTR_CIRCUIT_OPEN_MS = 'resilience.circuit.open_ms';
/** On a backup attempt: true. */
export const ATTR_HEDGE = 'resilience.hedge';
/** On every attempt of a call that sent a hedge: what came of it (HEDGE_RESULTS). */
export const ATTR_HEDGE_RESULT = 'resilience.hedge.result';
/** On a backup attempt: how long the attempt before it had gone unanswered. */
export const ATTR_HEDGE_DELAY_MS = 'resilience.hedge.delay_ms';
/** On the skipped-hedge event: why no backup attempt was sent. */
export const ATTR_HEDGE_SKIPPED = 'resilience.hedge.skipped';
/** On an attempt that waited for a concurrency slot or a rate token: how long. */
export const ATTR_LIMIT_WAIT_MS = 'resilience.limit.wait_ms';
/** Which limit turned an attempt away (`resilience.limited`): concurrency or rate. */
export const ATTR_LIMIT_REASON = 'resilience.limit.reason';
/**
 * Whose state decided (DECISION_SOURCES): on `resilience.limited`,
 * `resilience.circuit.transitions` and `resilience.retries.suppressed`, on an attempt
 * span of a target with a rate limit (its rate), on a transition the fleet's breaker decided.
 */
export const ATTR_DECISION_SOURCE = 'resilience.decision.source';
export const ATTR_PATTERN = 'resilience.pattern';
/** On the pattern-detected span event only: the Prometheus alert it mirrors, and what was seen. */
export const ATTR_PATTERN_ALERT = 'resilience.pattern.alert';
export const ATTR_PATTERN_SUMMARY = 'resilience.pattern.summary';

/** Semantic-convention attributes breakwater sets. */
export const ATTR_ERROR_TYPE = 'error.type';
export const ATTR_HTTP_RESEND_COUNT = 'http.request.resend_count';

export const METRIC_ATTEMPTS = 'resilience.attempts';
export const METRIC_ERRORS = 'resilience.errors';
export const METRIC_OPERATION_DURATION = 'resilience.operation.duration';
export const METRIC_RETRY_DELAY = 'resilience.retry.delay';
export const METRIC_RETRIES_SUPPRESSED = 'resilience.retries.suppressed';
export const METRIC_HEDGES = 'resilience.hedges';
export const METRIC_LIMITED = 'resilience.limited';
export const METRIC_CONCURRENCY_LIMIT = 'resilience.concurrency.limit';
export const METRIC_CONCURRENCY_IN_FLIGHT = 'resilience.concurrency.in_flight';
export const METRIC_CIRCUIT_STATE = 'resilience.circuit.state';
export const METRIC_CIRCUIT_TRANSITIONS = 'resilience.circuit.transitions';
export const METRIC_CIRCUIT_REJECTIONS = 'resilience.circuit.rejections';
export const METRIC_PATTERN_DETECTED = 'resilience.pattern.detected';

/**
 * The semantic conventions' per-attempt duration metrics. breakwater records them, with
 * the conventions' attributes, for every attempt it makes: the official instrumentation
 * inside an attempt is suppressed (one CLIENT span per attempt), so these are the series
 * a dashboard built on the official instrumentation keeps reading.
 */
export const METRIC_HTTP_CLIENT_DURATION = 'http.client.request.duration';
export const METRIC_DB_CLIENT_DURATION = 'db.client.operation.duration';

/** Which semantic-convention duration metric an attempt feeds. */
export type DurationMetricKind = 'http' | 'db';

/** Buckets as the conventions advise them (and the official instrumentations use). */
export const HTTP_DURATION_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
export const DB_DURATION_BUCKETS_S = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10];

/** Span events. */
export const EVENT_CIRCUIT_TRANSITION = 'resilience.circuit.transition';
/** On a transition span: the breaker opened because the fleet's shared breaker said so (fleet mode). */
export const EVENT_CIRCUIT_FLEET_OPENED = 'resilience.circuit.fleet_opened';
export const EVENT_RETRY_SCHEDULED = 'resilience.retry.scheduled';
export const EVENT_RETRY_SUPPRESSED = 'resilience.retry.suppressed';
export const EVENT_REJECTED = 'resilience.rejected';
/** On an unanswered attempt whose hedge delay passed without a hedge being sent. */
export const EVENT_HEDGE_SKIPPED = 'resilience.hedge.skipped';
/** A detected failure pattern (src/patterns): a span of its own carrying an event of the same name. */
export const EVENT_PATTERN_DETECTED = 'resilience.pattern.detected';

/** won: its answer was the call's; lost: it failed; cancelled: another attempt answered first. */
export const HEDGE_RESULTS = ['won', 'lost', 'cancelled'] as const;
export type HedgeResult = (typeof HEDGE_RESULTS)[number];

/** `resilience.decision.source`: the fleet's shared state (fleet mode), or this process's alone. */
export const DECISION_SOURCES = ['fleet', 'local'] as const satisfies readonly DecisionSource[];

/** `resilience.limit.reason`: which limit turned an attempt away (LimitedError's reason). */
export const LIMIT_REASONS = ['concurrency', 'rate'] as const satisfies readonly LimitReason[];

/**
 * `resilience.pattern`: the `pattern` label of each alert of
 * collector/rules/breakwater.rules.yaml, and of the in-process detector's detections
 * (src/patterns/alerts.ts); two alerts may share one (error_budget_burn).
 */
export const PATTERNS = [
  'spike',
  'trend',
  'periodic',
  'segmented',
  'cascade',
  'resource_exhaustion',
  'limited',
  'retry_storm',
  'circuit_open',
  'circuit_flapping',
  'error_budget_burn',
] as const;
export type PatternName = (typeof PATTERNS)[number];

export const OUTCOMES = ['success', 'failure', 'rejected', 'fallback', 'cancelled'] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** Every metric with its kind and unit, as exported; the Prometheus names follow the exporter's rules. */
export const METRICS = [
  { name: METRIC_ATTEMPTS, kind: 'counter', unit: '{attempt}', prometheus: 'resilience_attempts_total' },
  { name: METRIC_ERRORS, kind: 'counter', unit: '{error}', prometheus: 'resilience_errors_total' },
  { name: METRIC_OPERATION_DURATION, kind: 'histogram', unit: 's', prometheus: 'resilience_operation_duration_seconds' },
  { name: METRIC_RETRY_DELAY, kind: 'histogram', unit: 's', prometheus: 'resilience_retry_delay_seconds' },
  { name: METRIC_RETRIES_SUPPRESSED, kind: 'counter', unit: '{retry}', prometheus: 'resilience_retries_suppressed_total' },
  { name: METRIC_HEDGES, kind: 'counter', unit: '{hedge}', prometheus: 'resilience_hedges_total' },
  { name: METRIC_LIMITED, kind: 'counter', unit: '{attempt}', prometheus: 'resilience_limited_total' },
  { name: METRIC_CONCURRENCY_LIMIT, kind: 'gauge', unit: '{attempt}', prometheus: 'resilience_concurrency_limit' },
  { name: METRIC_CONCURRENCY_IN_FLIGHT, kind: 'gauge', unit: '{attempt}', prometheus: 'resilience_concurrency_in_flight' },
  { name: METRIC_CIRCUIT_STATE, kind: 'gauge', unit: '1', prometheus: 'resilience_circuit_state' },
  { name: METRIC_CIRCUIT_TRANSITIONS, kind: 'counter', unit: '{transition}', prometheus: 'resilience_circuit_transitions_total' },
  { name: METRIC_CIRCUIT_REJECTIONS, kind: 'counter', unit: '{call}', prometheus: 'resilience_circuit_rejections_total' },
  { name: METRIC_PATTERN_DETECTED, kind: 'counter', unit: '{pattern}', prometheus: 'resilience_pattern_detected_total' },
  { name: METRIC_HTTP_CLIENT_DURATION, kind: 'histogram', unit: 's', prometheus: 'http_client_request_duration_seconds' },
  { name: METRIC_DB_CLIENT_DURATION, kind: 'histogram', unit: 's', prometheus: 'db_client_operation_duration_seconds' },
] as const;

/** Histogram buckets in seconds: from a fast loopback call (1 ms) to a long deadline (60 s). */
export const DURATION_BUCKETS_S = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
