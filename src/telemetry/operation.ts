import { context, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span, type Tracer } from '@opentelemetry/api';
import type { Classification } from '../classify/types.js';
import type { CircuitState } from '../engine/breaker/circuit.js';
import type { SuppressReason } from '../engine/options.js';
import type { DecisionSource } from '../engine/fleet-seams.js';
import { activeInstruments, type Instruments } from './instruments.js';
import {
  ATTR_ATTEMPT,
  ATTR_CIRCUIT_FROM,
  ATTR_CIRCUIT_STATE,
  ATTR_CIRCUIT_TO,
  ATTR_CLIENT,
  ATTR_DECISION_SOURCE,
  ATTR_ERROR_CATEGORY,
  ATTR_ERROR_RULE,
  ATTR_ERROR_SEVERITY,
  ATTR_ERROR_TRANSIENT,
  ATTR_ERROR_TYPE,
  ATTR_HEDGE,
  ATTR_HEDGE_DELAY_MS,
  ATTR_HEDGE_RESULT,
  ATTR_HEDGE_SKIPPED,
  ATTR_HTTP_RESEND_COUNT,
  ATTR_LIMIT_REASON,
  ATTR_LIMIT_WAIT_MS,
  ATTR_OUTCOME,
  ATTR_POLICY,
  ATTR_RETRY_DELAY_MS,
  ATTR_RETRY_SUPPRESSED,
  ATTR_TARGET,
  EVENT_CIRCUIT_TRANSITION,
  EVENT_HEDGE_SKIPPED,
  EVENT_REJECTED,
  EVENT_RETRY_SCHEDULED,
  EVENT_RETRY_SUPPRESSED,
  type DurationMetricKind,
  type HedgeResult,
  type Outcome,
} from './names.js';
import { activeTracer, anyProviderRegistered } from './providers.js';
import { telemetrySettings } from './settings.js';
import { targetLabel } from './target-label.js';

/** How an adapter wants its per-attempt span (and duration metric point) to look. */
export interface AttemptSpanOptions {
  name?: string;
  kind?: SpanKind;
  /** The span's attributes known before the attempt (the semantic conventions' request attributes). */
  attributes?: Attributes;
  /**
   * The semantic conventions' duration metric this attempt feeds, with its attributes known
   * before the attempt (a shared, frozen object: most attempts record it as it is).
   */
  duration?: { readonly kind: DurationMetricKind; readonly attributes: Attributes };
}

export interface OperationInfo {
  readonly policy: string;
  readonly target: string;
  readonly client: string;
  readonly attemptSpan?: AttemptSpanOptions;
}

/** One attempt's telemetry, handed to the operation so an adapter can add to it. */
export interface AttemptRecord {
  readonly span: Span | undefined;
  readonly context: Context;
  readonly number: number;
  /** Attributes of the result (status code...) for the duration metric point; set by annotate(). */
  metricAttributes: Attributes | undefined;
}

const HTTP_CLIENTS = new Set(['http', 'fetch']);

/** What every call of one policy, client and target shares; built once, not per call. */
interface SharedAttributes {
  readonly base: Attributes;
  readonly callSpanName: string;
  /** base plus each outcome: the attributes of a call that carries no classification. */
  readonly byOutcome: Map<Outcome, Attributes>;
  /** base plus outcome and error category: resilience.attempts cells of failed attempts. */
  readonly byCategory: Map<string, Attributes>;
}

// Bounded: target labels are (src/telemetry/target-label.ts), policies and clients are
// few. The cap guards against a caller inventing policy names per call.
const SHARED_LIMIT = 4096;
const shared = new Map<string, SharedAttributes>();

function sharedAttributes(info: OperationInfo): SharedAttributes {
  const target = targetLabel(info.target);
  const key = `${info.policy}\u0000${info.client}\u0000${target}`;
  let entry = shared.get(key);
  if (entry === undefined) {
    if (shared.size >= SHARED_LIMIT) shared.clear();
    const base = Object.freeze({ [ATTR_TARGET]: target, [ATTR_CLIENT]: info.client, [ATTR_POLICY]: info.policy });
    entry = { base, callSpanName: `${info.policy} ${target}`, byOutcome: new Map(), byCategory: new Map() };
    shared.set(key, entry);
  }
  return entry;
}

function withOutcome(attributes: SharedAttributes, outcome: Outcome): Attributes {
  let found = attributes.byOutcome.get(outcome);
  if (found === undefined) {
    found = Object.freeze({ ...attributes.base, [ATTR_OUTCOME]: outcome });
    attributes.byOutcome.set(outcome, found);
  }
  return found;
}

function withOutcomeAndCategory(attributes: SharedAttributes, outcome: Outcome, category: string): Attributes {
  const key = `${outcome}\u0000${category}`;
  let found = attributes.byCategory.get(key);
  if (found === undefined) {
    found = Object.freeze({ ...attributes.base, [ATTR_OUTCOME]: outcome, [ATTR_ERROR_CATEGORY]: category });
    attributes.byCategory.set(key, found);
  }
  return found;
}

/**
 * Records one logical call: one span per attempt (a CLIENT span when an adapter says so),
 * child of the caller's active span, and the metrics of the telemetry reference
 * (docs/telemetry.md). The last span of a call carries the call's outcome and, when no
 * retry followed a failure, why (`resilience.retry.suppressed`); a failed attempt's span
 * is therefore ended only once that decision is made, in the same tick. An INTERNAL span
 * for the whole call is opt-in (telemetrySettings().callSpans).
 *
 * Created only when a tracer or a meter is registered; every method swallows its own
 * failures, since telemetry must never throw into the caller's code.
 */
export class OperationTelemetry {
  private readonly callSpan: Span | undefined;
  private readonly parentContext: Context;
  private readonly shared: SharedAttributes;
  /** The latest attempt (or rejection) span, still open while the call decides what follows it. */
  private pending: Span | undefined;

  private constructor(
    private readonly info: OperationInfo,
    private readonly tracer: Tracer | undefined,
    private readonly instruments: Instruments | undefined,
  ) {
    this.shared = sharedAttributes(info);
    const active = context.active();
    this.callSpan = telemetrySettings().callSpans
      ? tracer?.startSpan(this.shared.callSpanName, { kind: SpanKind.INTERNAL, attributes: this.shared.base }, active)
      : undefined;
    this.parentContext = this.callSpan ? trace.setSpan(active, this.callSpan) : active;
  }

  /** undefined when no SDK is registered: the engine then records nothing at all. */
  static begin(info: OperationInfo): OperationTelemetry | undefined {
    if (!anyProviderRegistered()) return undefined;
    try {
      const tracer = activeTracer();
      const instruments = activeInstruments();
      if (tracer === undefined && instruments === undefined) return undefined;
      return new OperationTelemetry(info, tracer, instruments);
    } catch {
      return undefined;
    }
  }

  /**
   * `hedgeDelayMs`: a backup attempt, sent after the attempt before it went this long
   * unanswered. `limitWaitMs`: how long it waited for a rate token or a concurrency slot.
   * `rateSource`: whose rate let it through, when the target has a rate limit.
   */
  attemptStarted(number: number, delayMs: number, circuitState: CircuitState | undefined, hedgeDelayMs?: number, limitWaitMs?: number, rateSource?: DecisionSource): AttemptRecord {
    if (this.tracer === undefined) return { span: undefined, context: this.parentContext, number, metricAttributes: undefined };
    try {
      const custom = this.info.attemptSpan;
      const attributes: Attributes = { ...this.shared.base, ...custom?.attributes, [ATTR_ATTEMPT]: number };
      if (delayMs > 0) attributes[ATTR_RETRY_DELAY_MS] = delayMs;
      if (limitWaitMs !== undefined && limitWaitMs > 0) attributes[ATTR_LIMIT_WAIT_MS] = limitWaitMs;
      if (rateSource !== undefined) attributes[ATTR_DECISION_SOURCE] = rateSource;
      if (hedgeDelayMs !== undefined) {
        attributes[ATTR_HEDGE] = true;
        attributes[ATTR_HEDGE_DELAY_MS] = hedgeDelayMs;
      }
      if (circuitState !== undefined) attributes[ATTR_CIRCUIT_STATE] = circuitState;
      if (number > 1 && HTTP_CLIENTS.has(this.info.client)) attributes[ATTR_HTTP_RESEND_COUNT] = number - 1;
      const span = this.tracer.startSpan(custom?.name ?? `${this.info.policy} attempt`, { kind: custom?.kind ?? SpanKind.INTERNAL, attributes }, this.parentContext);
      return { span, context: trace.setSpan(this.parentContext, span), number, metricAttributes: undefined };
    } catch {
      return { span: undefined, context: this.parentContext, number, metricAttributes: undefined };
    }
  }

  /**
   * An attempt's result. A success or a cancel ends its span; a failure's span stays open
   * until retryScheduled() or ended() says what came of it, unless `settled` (a hedged
   * attempt that failed while another of the call was still running: nothing follows it).
   */
  attemptEnded(attempt: AttemptRecord, outcome: Outcome, classification: Classification | undefined, durationMs: number, settled = false): void {
    try {
      const instruments = this.instruments;
      const failed = classification !== undefined && outcome === 'failure';
      if (instruments) {
        instruments.attempts.add(failed ? withOutcomeAndCategory(this.shared, outcome, classification.category) : withOutcome(this.shared, outcome));
        if (failed) instruments.errors.add(1, this.withError({ ...this.shared.base }, classification, true));
        this.recordDuration(instruments, attempt, failed ? classification : undefined, durationMs);
      }
      const span = attempt.span;
      if (span) {
        span.setAttribute(ATTR_OUTCOME, outcome);
        if (failed) {
          span.setAttributes(this.spanError(classification));
          span.setStatus({ code: SpanStatusCode.ERROR, message: classification.category });
          if (settled) span.end();
          else this.pending = span;
        } else {
          span.end();
        }
      }
    } catch {
      // telemetry never throws into the caller
    }
  }

  /**
   * What came of an attempt of a call that sent a hedge; before attemptEnded(), which
   * may end its span. Backup attempts are counted in `resilience.hedges`.
   */
  hedgeResult(attempt: AttemptRecord, result: HedgeResult, isHedge: boolean): void {
    try {
      if (isHedge) this.instruments?.hedges.add(1, { ...this.shared.base, [ATTR_HEDGE_RESULT]: result });
      attempt.span?.setAttribute(ATTR_HEDGE_RESULT, result);
    } catch {
      // telemetry never throws into the caller
    }
  }

  /** An attempt turned away by the target's rate or concurrency limit, `source`'s (its rejection is recorded as well). */
  limited(reason: string, source: DecisionSource = 'local'): void {
    try {
      this.instruments?.limited.add(1, { ...this.shared.base, [ATTR_LIMIT_REASON]: reason, [ATTR_DECISION_SOURCE]: source });
    } catch {
      // telemetry never throws into the caller
    }
  }

  /** The hedge delay passed with the attempt unanswered, and no hedge was sent: why. */
  hedgeSkipped(attempt: AttemptRecord, reason: string): void {
    try {
      attempt.span?.addEvent(EVENT_HEDGE_SKIPPED, { [ATTR_HEDGE_SKIPPED]: reason });
    } catch {
      // telemetry never throws into the caller
    }
  }

  /** A call turned away without dialling (open breaker, full bulkhead): a short INTERNAL span of its own. */
  rejected(classification: Classification, byCircuit: boolean, attempt: number): void {
    try {
      if (this.instruments) {
        this.instruments.attempts.add(withOutcomeAndCategory(this.shared, 'rejected', classification.category));
        if (byCircuit) this.instruments.circuitRejections.add(1, { [ATTR_TARGET]: this.shared.base[ATTR_TARGET], [ATTR_POLICY]: this.info.policy });
      }
      this.endPending();
      if (this.tracer) {
        const attributes: Attributes = { ...this.shared.base, [ATTR_ATTEMPT]: attempt, [ATTR_OUTCOME]: 'rejected', ...this.spanError(classification) };
        const span = this.tracer.startSpan(EVENT_REJECTED, { kind: SpanKind.INTERNAL, attributes }, this.parentContext);
        span.setStatus({ code: SpanStatusCode.ERROR, message: classification.category });
        this.pending = span;
      }
      this.callSpan?.addEvent(EVENT_REJECTED, { [ATTR_ERROR_CATEGORY]: classification.category });
    } catch {
      // telemetry never throws into the caller
    }
  }

  /** A retry follows the latest failed attempt: its span says when, and ends. */
  retryScheduled(nextAttempt: number, delayMs: number): void {
    try {
      this.instruments?.retryDelay.record(delayMs / 1000, this.shared.base);
      const event = { [ATTR_ATTEMPT]: nextAttempt, [ATTR_RETRY_DELAY_MS]: delayMs };
      this.pending?.addEvent(EVENT_RETRY_SCHEDULED, event);
      this.endPending();
      this.callSpan?.addEvent(EVENT_RETRY_SCHEDULED, event);
    } catch {
      // telemetry never throws into the caller
    }
  }

  /** No retry follows the latest failure: the reason goes on its span (and the call span); `source`: whose budget said no. */
  retrySuppressed(attempt: number, reason: SuppressReason, source: DecisionSource = 'local'): void {
    try {
      this.instruments?.retriesSuppressed.add(1, { ...this.shared.base, [ATTR_RETRY_SUPPRESSED]: reason, [ATTR_DECISION_SOURCE]: source });
      this.pending?.setAttribute(ATTR_RETRY_SUPPRESSED, reason);
      if (this.callSpan) {
        this.callSpan.setAttribute(ATTR_RETRY_SUPPRESSED, reason);
        this.callSpan.addEvent(EVENT_RETRY_SUPPRESSED, { [ATTR_ATTEMPT]: attempt, [ATTR_RETRY_SUPPRESSED]: reason });
      }
    } catch {
      // telemetry never throws into the caller
    }
  }

  /** A breaker transition caused by this call, recorded as an event on the attempt that caused it. */
  circuitTransition(attempt: AttemptRecord | undefined, from: CircuitState, to: CircuitState): void {
    try {
      (attempt?.span ?? this.callSpan)?.addEvent(EVENT_CIRCUIT_TRANSITION, { [ATTR_CIRCUIT_FROM]: from, [ATTR_CIRCUIT_TO]: to });
    } catch {
      // telemetry never throws into the caller
    }
  }

  /** The context attempts run under: the caller's, or the call span's when there is one. */
  get context(): Context {
    return this.parentContext;
  }

  ended(outcome: Outcome, classification: Classification | undefined, durationMs: number, attempts: number): void {
    try {
      this.instruments?.operationDuration.record(durationMs / 1000, withOutcome(this.shared, outcome));
      // The call's outcome on its last span: a fallback or a rejection reads differently from the attempt's own.
      this.pending?.setAttribute(ATTR_OUTCOME, outcome);
      this.endPending();
      const span = this.callSpan;
      if (span) {
        span.setAttribute(ATTR_OUTCOME, outcome);
        span.setAttribute(ATTR_ATTEMPT, attempts);
        if (classification && outcome !== 'success' && outcome !== 'cancelled') {
          span.setAttributes(this.spanError(classification));
          if (outcome !== 'fallback') span.setStatus({ code: SpanStatusCode.ERROR, message: classification.category });
        }
        span.end();
      }
    } catch {
      // telemetry never throws into the caller
    }
  }

  private endPending(): void {
    const span = this.pending;
    this.pending = undefined;
    span?.end();
  }

  /**
   * The conventions' duration point of an attempt that dialled. Not when the attempt span
   * is INTERNAL: another instrumentation's CLIENT span encloses the call, and that
   * instrumentation records the duration itself.
   */
  private recordDuration(instruments: Instruments, attempt: AttemptRecord, classification: Classification | undefined, durationMs: number): void {
    const duration = this.info.attemptSpan?.duration;
    if (duration === undefined || this.info.attemptSpan?.kind === SpanKind.INTERNAL || !(durationMs >= 0)) return;
    let attributes = duration.attributes;
    const extra = attempt.metricAttributes;
    if (extra !== undefined || classification !== undefined) {
      attributes = { ...attributes, ...extra };
      if (classification !== undefined && attributes[ATTR_ERROR_TYPE] === undefined) attributes[ATTR_ERROR_TYPE] = classification.code;
    }
    (duration.kind === 'http' ? instruments.httpClientDuration : instruments.dbClientDuration).record(durationMs / 1000, attributes);
  }

  /** Adds the classification: the category alone, or (full) also severity and transience. */
  private withError(attributes: Attributes, classification: Classification | undefined, full: boolean): Attributes {
    if (classification === undefined) return attributes;
    attributes[ATTR_ERROR_CATEGORY] = classification.category;
    if (full) {
      attributes[ATTR_ERROR_SEVERITY] = classification.severity;
      attributes[ATTR_ERROR_TRANSIENT] = classification.transient;
    }
    return attributes;
  }

  /** On spans, which metrics would not bear: the rule that decided. */
  private spanError(classification: Classification): Attributes {
    const attributes = this.withError({}, classification, true);
    attributes[ATTR_ERROR_RULE] = classification.rule;
    attributes[ATTR_ERROR_TYPE] = classification.code;
    return attributes;
  }
}
