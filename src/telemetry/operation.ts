import { context, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span, type Tracer } from '@opentelemetry/api';
import type { Classification } from '../classify/types.js';
import type { CircuitState } from '../engine/breaker/circuit.js';
import type { SuppressReason } from '../engine/options.js';
import { activeInstruments, type Instruments } from './instruments.js';
import {
  ATTR_ATTEMPT,
  ATTR_CIRCUIT_FROM,
  ATTR_CIRCUIT_STATE,
  ATTR_CIRCUIT_TO,
  ATTR_CLIENT,
  ATTR_ERROR_CATEGORY,
  ATTR_ERROR_RULE,
  ATTR_ERROR_SEVERITY,
  ATTR_ERROR_TRANSIENT,
  ATTR_ERROR_TYPE,
  ATTR_HTTP_RESEND_COUNT,
  ATTR_OUTCOME,
  ATTR_POLICY,
  ATTR_RETRY_DELAY_MS,
  ATTR_RETRY_SUPPRESSED,
  ATTR_TARGET,
  EVENT_CIRCUIT_TRANSITION,
  EVENT_REJECTED,
  EVENT_RETRY_SCHEDULED,
  EVENT_RETRY_SUPPRESSED,
  type Outcome,
} from './names.js';
import { activeTracer, anyProviderRegistered } from './providers.js';
import { targetLabel } from './target-label.js';

/** How an adapter wants its per-attempt span to look (an HTTP adapter makes it a CLIENT span). */
export interface AttemptSpanOptions {
  name?: string;
  kind?: SpanKind;
  attributes?: Attributes;
}

export interface OperationInfo {
  readonly policy: string;
  readonly target: string;
  readonly client: string;
  readonly attemptSpan?: AttemptSpanOptions;
}

/** One attempt's span, handed to the operation so an adapter can add to it. */
export interface AttemptRecord {
  readonly span: Span | undefined;
  readonly context: Context;
  readonly number: number;
}

const HTTP_CLIENTS = new Set(['http', 'fetch']);

/** What every call of one policy, client and target shares; built once, not per call. */
interface SharedAttributes {
  readonly base: Attributes;
  readonly parentSpanName: string;
  /** base plus each outcome: the attributes of a call that carries no classification. */
  readonly byOutcome: Map<Outcome, Attributes>;
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
    entry = { base, parentSpanName: `${info.policy} ${target}`, byOutcome: new Map() };
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

/**
 * Records one logical call: an INTERNAL parent span named for the policy and target,
 * one span per attempt under it, and the metrics of design.md section 4. Created only
 * when a tracer or a meter is registered; every method swallows its own failures,
 * since telemetry must never throw into the caller's code.
 */
export class OperationTelemetry {
  private readonly parent: Span | undefined;
  private readonly parentContext: Context;
  private readonly shared: SharedAttributes;

  private constructor(
    private readonly info: OperationInfo,
    private readonly tracer: Tracer | undefined,
    private readonly instruments: Instruments | undefined,
  ) {
    this.shared = sharedAttributes(info);
    const active = context.active();
    this.parent = tracer?.startSpan(this.shared.parentSpanName, { kind: SpanKind.INTERNAL, attributes: this.shared.base }, active);
    this.parentContext = this.parent ? trace.setSpan(active, this.parent) : active;
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

  attemptStarted(number: number, delayMs: number, circuitState: CircuitState | undefined): AttemptRecord {
    if (this.tracer === undefined) return { span: undefined, context: this.parentContext, number };
    try {
      const custom = this.info.attemptSpan;
      const attributes: Attributes = { ...this.shared.base, ...custom?.attributes, [ATTR_ATTEMPT]: number };
      if (delayMs > 0) attributes[ATTR_RETRY_DELAY_MS] = delayMs;
      if (circuitState !== undefined) attributes[ATTR_CIRCUIT_STATE] = circuitState;
      if (number > 1 && HTTP_CLIENTS.has(this.info.client)) attributes[ATTR_HTTP_RESEND_COUNT] = number - 1;
      const name = custom?.name ?? `${this.info.policy} attempt`;
      const span = this.tracer.startSpan(name, { kind: custom?.kind ?? SpanKind.INTERNAL, attributes }, this.parentContext);
      return { span, context: trace.setSpan(this.parentContext, span), number };
    } catch {
      return { span: undefined, context: this.parentContext, number };
    }
  }

  attemptEnded(attempt: AttemptRecord, outcome: Outcome, classification: Classification | undefined, durationMs: number): void {
    try {
      const byOutcome = withOutcome(this.shared, outcome);
      if (this.instruments) {
        this.instruments.attempts.add(1, classification === undefined ? byOutcome : this.withError({ ...byOutcome }, classification, false));
        this.instruments.attemptDuration.record(durationMs / 1000, byOutcome);
        if (classification && outcome === 'failure') {
          this.instruments.errors.add(1, this.withError({ ...this.shared.base }, classification, true));
        }
      }
      const span = attempt.span;
      if (span) {
        span.setAttribute(ATTR_OUTCOME, outcome);
        if (classification && outcome === 'failure') {
          span.setAttributes(this.spanError(classification));
          span.setStatus({ code: SpanStatusCode.ERROR, message: classification.category });
        }
        span.end();
      }
    } catch {
      // telemetry never throws into the caller
    }
  }

  /** A call turned away without dialling (open breaker, full bulkhead). */
  rejected(classification: Classification, byCircuit: boolean): void {
    try {
      if (this.instruments) {
        this.instruments.attempts.add(1, this.withError({ ...this.shared.base, [ATTR_OUTCOME]: 'rejected' }, classification, false));
        if (byCircuit) this.instruments.circuitRejections.add(1, { [ATTR_TARGET]: this.shared.base[ATTR_TARGET], [ATTR_POLICY]: this.info.policy });
      }
      this.parent?.addEvent(EVENT_REJECTED, { [ATTR_ERROR_CATEGORY]: classification.category });
    } catch {
      // telemetry never throws into the caller
    }
  }

  retryScheduled(nextAttempt: number, delayMs: number): void {
    try {
      this.instruments?.retryDelay.record(delayMs / 1000, this.shared.base);
      this.parent?.addEvent(EVENT_RETRY_SCHEDULED, { [ATTR_ATTEMPT]: nextAttempt, [ATTR_RETRY_DELAY_MS]: delayMs });
    } catch {
      // telemetry never throws into the caller
    }
  }

  retrySuppressed(attempt: number, reason: SuppressReason): void {
    try {
      this.instruments?.retriesSuppressed.add(1, { ...this.shared.base, [ATTR_RETRY_SUPPRESSED]: reason });
      this.parent?.setAttribute(ATTR_RETRY_SUPPRESSED, reason);
      this.parent?.addEvent(EVENT_RETRY_SUPPRESSED, { [ATTR_ATTEMPT]: attempt, [ATTR_RETRY_SUPPRESSED]: reason });
    } catch {
      // telemetry never throws into the caller
    }
  }

  /** A breaker transition caused by this call, recorded as an event on the attempt that caused it. */
  circuitTransition(attempt: AttemptRecord | undefined, from: CircuitState, to: CircuitState): void {
    try {
      (attempt?.span ?? this.parent)?.addEvent(EVENT_CIRCUIT_TRANSITION, { [ATTR_CIRCUIT_FROM]: from, [ATTR_CIRCUIT_TO]: to });
    } catch {
      // telemetry never throws into the caller
    }
  }

  get context(): Context {
    return this.parentContext;
  }

  ended(outcome: Outcome, classification: Classification | undefined, durationMs: number, attempts: number): void {
    try {
      this.instruments?.operationDuration.record(durationMs / 1000, withOutcome(this.shared, outcome));
      const span = this.parent;
      if (span) {
        span.setAttribute(ATTR_OUTCOME, outcome);
        span.setAttribute(ATTR_ATTEMPT, attempts);
        if (classification && outcome !== 'success' && outcome !== 'cancelled') {
          span.setAttributes(this.spanError(classification));
          if (outcome !== 'fallback') {
            span.setStatus({ code: SpanStatusCode.ERROR, message: classification.category });
          }
        }
        span.end();
      }
    } catch {
      // telemetry never throws into the caller
    }
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
