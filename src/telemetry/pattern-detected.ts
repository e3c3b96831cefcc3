import { context, SpanKind, trace, type Attributes } from '@opentelemetry/api';
import { activeInstruments } from './instruments.js';
import { ATTR_CLIENT, ATTR_ERROR_CATEGORY, ATTR_PATTERN, ATTR_PATTERN_ALERT, ATTR_PATTERN_SUMMARY, ATTR_POLICY, ATTR_TARGET, EVENT_PATTERN_DETECTED } from './names.js';
import { activeTracer } from './providers.js';

export interface PatternDetectedInfo {
  readonly pattern: string;
  readonly target: string;
  readonly alert: string;
  readonly summary: string;
  readonly client?: string | undefined;
  readonly policy?: string | undefined;
  readonly category?: string | undefined;
}

/**
 * A detected failure pattern as the counter resilience.pattern.detected (pattern and
 * target only, to keep its cardinality that of the targets) and as a short INTERNAL span
 * of its own, with no parent, carrying an event of the same name with the details. Not an
 * event on the active span: a minute is evaluated when some later call happens to
 * arrive, and that call's trace has nothing to do with the pattern. A span of its own can
 * be found by name in a trace search, as a breaker transition's can.
 */
export function recordPatternDetected(info: PatternDetectedInfo): void {
  try {
    const attributes = { [ATTR_PATTERN]: info.pattern, [ATTR_TARGET]: info.target };
    activeInstruments()?.patternDetected.add(1, attributes);
    const tracer = activeTracer();
    if (tracer) {
      const details: Attributes = { ...attributes, [ATTR_PATTERN_ALERT]: info.alert, [ATTR_PATTERN_SUMMARY]: info.summary };
      if (info.client !== undefined) details[ATTR_CLIENT] = info.client;
      if (info.policy !== undefined) details[ATTR_POLICY] = info.policy;
      if (info.category !== undefined) details[ATTR_ERROR_CATEGORY] = info.category;
      const span = tracer.startSpan(EVENT_PATTERN_DETECTED, { kind: SpanKind.INTERNAL, attributes }, trace.deleteSpan(context.active()));
      span.addEvent(EVENT_PATTERN_DETECTED, details);
      span.end();
    }
  } catch {
    // telemetry never throws into the caller
  }
}
